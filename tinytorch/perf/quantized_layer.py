"""What every int8 layer shares: int8 weights for the layer's whole life, and calibration.

``QuantizedLinear`` and ``QuantizedConv2d`` both store an ``(out, K)`` int8 matrix (one row
of ``K`` inputs per output: a ``Linear``'s weight column, a convolution's kernel), its scale
and zero point (per tensor, or per output channel), an int8 bias, and, once calibrated,
the input's scale and zero point. They differ only in how the input becomes rows of ``K``
values (a reshape, or im2col) and in their shapes; that part is theirs, this one is here.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor
from tinytorch.nn.module import Layer
from tinytorch.perf.int8 import (
    NotCalibratedError,
    calibrated_params,
    param_tensors,
    quantize_int8,
    quantize_per_channel,
)


class QuantizedLayer(Layer):
    """Base of the int8 layers (see the module docstring); not used on its own."""

    def _quantize_weights(
        self,
        original: Layer,
        columns: Tensor,
        bias: Tensor | None,
        per_channel: bool,
        require_calibration: bool,
    ) -> None:
        """Quantize ``columns`` (``(K, out)``, one column per output) and ``bias``; keep
        ``original`` only as a weak reference (the quantized model must not keep the float
        weights alive: it is the float layer while someone else holds it, then ``None``)."""
        self._original = weakref.ref(original)
        self.per_channel = bool(per_channel)
        self.require_calibration = bool(require_calibration)
        if per_channel:
            q, self.weight_scale, self.weight_zero_point = quantize_per_channel(columns)
        else:
            q, self.weight_scale, self.weight_zero_point = quantize_int8(columns)
        self._q_weight_t = Tensor(np.ascontiguousarray(q.data.T))  # (out, K) int8, row-major
        if bias is not None:
            self.q_bias, self.bias_scale, self.bias_zero_point = quantize_int8(bias)
        else:
            self.q_bias = self.bias_scale = self.bias_zero_point = None
        self._weight_params = param_tensors(self.weight_scale, self.weight_zero_point)
        self._bias_params = (
            None if self.q_bias is None else param_tensors(self.bias_scale, self.bias_zero_point)
        )
        self.input_scale: float | None = None
        self.input_zero_point: int | None = None

    @property
    def original_layer(self) -> Any:
        return self._original()

    @property
    def calibrated(self) -> bool:
        return self.input_scale is not None

    def _set_input_range(self, arrays: list[np.ndarray]) -> None:
        """``input_scale``/``input_zero_point`` from the min and max over ``arrays``."""
        self.input_scale, self.input_zero_point = calibrated_params(arrays)

    def _input_tensors(self) -> tuple[Tensor, Tensor]:
        """The input's scale and zero point as tensors, remade only when they change."""
        key = (self.input_scale, self.input_zero_point)
        if getattr(self, "_input_key", None) != key:
            self._input_key, self._input_params = key, param_tensors(*key)
        return self._input_params

    def _require_calibrated(self) -> None:
        """Refuse to run uncalibrated when the layer was made with ``require_calibration``."""
        if not self.calibrated and self.require_calibration:
            name = type(self).__name__
            raise NotCalibratedError(
                f"{name} was created with require_calibration=True: call "
                "calibrate(sample_inputs) (or quantize_model(model, calibration_data)) first"
            )

    # ------------------------------------------------------------------ memory
    def memory_usage(self) -> dict[str, float]:
        """Bytes of the layer's values as float32 and as int8 (weights and bias), their
        ratio, and the bytes saved. Per-channel scales and zero points are counted apart."""
        outputs, per_output = self._q_weight_t.shape
        count = outputs * per_output + (outputs if self.q_bias is not None else 0)
        original = 4.0 * count
        quantized = float(self._q_weight_t.data.nbytes)
        if self.q_bias is not None:
            quantized += self.q_bias.data.nbytes
        params = 8.0 * outputs if self.per_channel else 0.0
        return {
            "original_bytes": original,
            "quantized_bytes": quantized,
            "quantization_params_bytes": params,
            "compression_ratio": original / quantized,
            "memory_saved_bytes": original - quantized,
            "memory_saved_percent": 100.0 * (original - quantized) / original,
        }
