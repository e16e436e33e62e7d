"""Int8 quantization (book Module 15), computed for real.

The book's asymmetric per-tensor formulas (scale, zero point, ``quantize_int8`` /
``dequantize_int8``) live in :mod:`tinytorch.perf.int8` and are re-exported here. The book's
:class:`QuantizedLinear` then *simulates* int8: it dequantizes the weight on every call and
multiplies floats, so the 4x saving is gone at run time. Here the quantized layer keeps its
weight as int8 for its whole life, and once :meth:`QuantizedLinear.calibrate` has fixed the
input's scale, its graph is ``dequantize(quantize(x)) @ dequantize(W_q)``, which the
compiler's quantization lowering pass (``tinytorch/passes/quantize_lowering.py``) rewrites
into int8 x int8 -> int32 arithmetic, a zero-point correction and a fused float epilogue.
``tinytorch.explain(y)`` or ``tinytorch.dump_graph(y, dir)`` show the rewrite.

Beyond the book: ``per_channel=True`` gives each output column its own scale and zero point
(what PyTorch users expect for weights); ``require_calibration=True`` makes an uncalibrated
layer refuse to run instead of falling back to the book's float path. Convolutions are
quantized too (:class:`~tinytorch.perf.quantized_conv.QuantizedConv2d`, re-exported here):
the book's API leaves ``Conv2d`` kernels in float32, so a quantized CNN would keep most of
its bytes; :func:`quantize_model` replaces them unless told not to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.layers import Linear
from tinytorch.nn.module import Layer
from tinytorch.nn.spatial import Conv2d
from tinytorch.perf.int8 import (  # noqa: F401  (the book imports its functions from here)
    EPSILON,
    INT8_MAX_VALUE,
    INT8_MIN_VALUE,
    INT8_RANGE,
    NotCalibratedError,
    affine_params,
    calibrated_params,
    checked_float_data,
    dequantize,
    dequantize_int8,
    param_tensors,
    quantize,
    quantize_int8,
    quantize_per_channel,
)
from tinytorch.perf.quantized_conv import QuantizedConv2d
from tinytorch.perf.quantized_layer import QuantizedLayer


# ----------------------------------------------------------------- QuantizedLinear
class QuantizedLinear(QuantizedLayer):
    """An int8 version of a ``Linear`` layer (the book's attributes, real int8 storage).

    ``q_weight`` (``(in, out)``, int8) with ``weight_scale``/``weight_zero_point`` and
    ``q_bias`` with ``bias_scale``/``bias_zero_point`` (all ``None`` without a bias) are the
    book's; ``input_scale``/``input_zero_point`` stay ``None`` until :meth:`calibrate`.

    The weight is stored transposed, ``(out, in)`` row-major, so each output is a dot
    product of two contiguous int8 rows; ``q_weight`` is a view of it in the book's shape.
    ``original_layer`` is a weak reference: it is the float layer while someone else keeps
    it alive, and ``None`` after, so the quantized model does not keep the float weights.
    """

    def __init__(
        self, linear_layer: Linear, per_channel: bool = False, require_calibration: bool = False
    ) -> None:
        if not isinstance(linear_layer, Linear):
            raise TypeError(
                f"QuantizedLinear needs a Linear layer, got {type(linear_layer).__name__}"
            )
        self.in_features, self.out_features = linear_layer.in_features, linear_layer.out_features
        self._quantize_weights(
            linear_layer, linear_layer.weight, linear_layer.bias, per_channel, require_calibration
        )

    @property
    def q_weight(self) -> Tensor:
        """The int8 weight in the book's ``(in, out)`` shape (a view: no copy)."""
        return self._q_weight_t.transpose()

    # ------------------------------------------------------------ calibration
    def calibrate(self, sample_inputs: Sequence[Tensor]) -> None:
        """Set ``input_scale``/``input_zero_point`` from the min and max of the samples (the
        book's formulas; a constant range gives ``1.0, 0``)."""
        if isinstance(sample_inputs, Tensor) or not len(sample_inputs):
            raise ValueError("QuantizedLinear.calibrate: needs a non-empty list of sample inputs")
        arrays = []
        for k, sample in enumerate(sample_inputs):
            data = checked_float_data(sample, f"QuantizedLinear.calibrate (sample {k})")
            if data.ndim == 0 or data.shape[-1] != self.in_features:
                raise ShapeError(
                    f"QuantizedLinear.calibrate: sample {k} has shape {data.shape}; its last "
                    f"dimension must be in_features={self.in_features}"
                )
            arrays.append(data.ravel())
        self._set_input_range(arrays)

    # ----------------------------------------------------------------- forward
    def forward(self, x: Tensor) -> Tensor:
        """FP32 output. Calibrated: the input is quantized and the compiler runs the matmul
        on integers. Not calibrated: the book's path (float input, dequantized weight)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"QuantizedLinear.forward: expected a Tensor, got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"QuantizedLinear: input of shape {x.shape} does not fit "
                f"({self.in_features}, {self.out_features}): last dimension must be "
                f"{self.in_features}"
            )
        self._require_calibrated()
        with no_grad():
            rows = x.reshape(-1, self.in_features) if x.ndim != 2 else x
            if self.calibrated:
                params = self._input_tensors()
                rows = dequantize(quantize(rows, *params), *params)
            out = rows.matmul(dequantize(self.q_weight, *self._weight_params))
            if self._bias_params is not None:
                out = out + dequantize(self.q_bias, *self._bias_params)
            return out.reshape(*x.shape[:-1], self.out_features) if x.ndim != 2 else out

    def __repr__(self) -> str:
        state = "calibrated" if self.calibrated else "not calibrated"
        scheme = "per-channel" if self.per_channel else "per-tensor"
        return (
            f"QuantizedLinear(in_features={self.in_features}, out_features="
            f"{self.out_features}, bias={self.q_bias is not None}, {scheme}, {state})"
        )


# ------------------------------------------------------------------ whole models
def _slots(model: Any, kind: type | tuple[type, ...]) -> list[tuple[Any, Any, Any]]:
    """``(container, key, layer)`` for every ``kind`` layer reachable from ``model``'s
    attributes, lists and dicts (each once, outermost first), so it can be replaced in place."""
    slots, seen, todo = [], {id(model)}, [model]
    while todo:
        obj = todo.pop(0)
        if isinstance(obj, list):
            items = list(enumerate(obj))
        elif isinstance(obj, dict):
            items = list(obj.items())
        else:
            items = list(vars(obj).items())
        for key, value in items:
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, kind):
                slots.append((obj, key, value))
            elif isinstance(value, (Layer, list, dict)):
                todo.append(value)
    return slots


def _layer_slots(model: Any, kinds: tuple[type, ...]) -> list[tuple[Any, Any, Any]]:
    return _slots(model, kinds) if hasattr(model, "__dict__") else []


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, (list, dict)):
        container[key] = value
    else:
        setattr(container, key, value)


def _record_inputs(model: Any, layers: list[Layer], batches: Sequence[Any]) -> list[list]:
    """Run the float model on every calibration batch; collect each layer's inputs."""
    seen: list[list] = [[] for _ in layers]

    def recorder(k: int, forward: Callable) -> Callable:
        def forward_and_record(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
            seen[k].append(x.data.copy())
            return forward(x, *args, **kwargs)

        return forward_and_record

    for k, layer in enumerate(layers):
        layer.forward = recorder(k, layer.forward)  # an instance attribute, removed below
    try:
        with no_grad():
            for k, batch in enumerate(batches):
                x = batch if isinstance(batch, Tensor) else Tensor(batch)
                try:
                    out = model(x)
                except ValueError as exc:
                    raise ShapeError(
                        f"quantize_model: calibration batch {k} of shape {x.shape} does not fit "
                        f"the model: {exc}"
                    ) from exc
                if isinstance(out, Tensor):
                    out.data  # noqa: B018 (run it: the recorders read values)
    finally:
        for layer in layers:
            del layer.forward
    return seen


def quantize_model(
    model: Any,
    calibration_data: Sequence[Any] | None = None,
    per_channel: bool = False,
    quantize_convs: bool = True,
) -> Any:
    """Replace every ``Linear`` in ``model`` by a :class:`QuantizedLinear` and every
    ``Conv2d`` by a :class:`QuantizedConv2d`, in place.

    With ``calibration_data`` (a list of input batches), the float model runs on them first
    and each layer is calibrated on the inputs it actually receives, so every layer computes
    on integers. Returns the model (the book leaves the return value unsaid).

    ``per_channel`` chooses the ``Linear`` weights' scheme (the book's per-tensor scale by
    default). Convolution kernels are always quantized per output channel: their ranges
    differ much more between channels than a ``Linear``'s columns do, and a shared scale
    would round the narrow ones to a few levels. ``quantize_convs=False`` keeps ``Conv2d``
    layers in float32, as the book's ``quantize_model`` does (it knows only ``Linear``).
    """
    kinds: tuple[type, ...] = (Linear, Conv2d) if quantize_convs else (Linear,)
    if isinstance(model, kinds):
        single = "QuantizedLinear" if isinstance(model, Linear) else "QuantizedConv2d"
        raise TypeError(
            f"quantize_model replaces layers inside a model; wrap a single "
            f"{type(model).__name__} as {single}(layer) instead"
        )
    slots = _layer_slots(model, kinds)
    if not slots:
        what = " or ".join(kind.__name__ for kind in kinds)
        raise ValueError(f"quantize_model: {type(model).__name__} has no {what} layer to quantize")
    inputs = None
    if calibration_data is not None:
        if isinstance(calibration_data, Tensor) or not len(calibration_data):
            raise ValueError("quantize_model: calibration_data must be a non-empty list of batches")
        inputs = _record_inputs(model, [layer for _, _, layer in slots], calibration_data)
    for k, (container, key, layer) in enumerate(slots):
        if isinstance(layer, Conv2d):
            quantized: Layer = QuantizedConv2d(layer, per_channel=True)
        else:
            quantized = QuantizedLinear(layer, per_channel=per_channel)
        if inputs is not None:
            quantized.calibrate([Tensor(a) for a in inputs[k]])
        _set(container, key, quantized)
    return model


#: The layer types :func:`quantize_model` puts in a model, whose weights are int8.
QUANTIZED_LAYERS: tuple[type, ...] = (QuantizedLinear, QuantizedConv2d)


def model_bytes(model: Any) -> int:
    """Bytes of a model's weights as they are held: its float parameters at their itemsize
    (4 for float32) and its quantized layers' (``QuantizedLinear``, ``QuantizedConv2d``) int8
    values at one byte each. Scales and zero points are not counted."""
    if isinstance(model, QUANTIZED_LAYERS):
        return int(model.memory_usage()["quantized_bytes"])
    params = model.parameters() if callable(getattr(model, "parameters", None)) else []
    total = sum(p.data.nbytes for p in params)
    quantized = _layer_slots(model, QUANTIZED_LAYERS)
    return total + sum(int(q.memory_usage()["quantized_bytes"]) for _, _, q in quantized)


def compare_model_sizes(original: Any, quantized: Any) -> dict[str, float]:
    """Weight memory of a float model and its quantized copy: bytes, ratio, saving."""
    before, after = float(model_bytes(original)), float(model_bytes(quantized))
    if after == 0:
        raise ValueError("compare_model_sizes: the quantized model holds no weights")
    return {
        "original_bytes": before,
        "quantized_bytes": after,
        "compression_ratio": before / after,
        "memory_saved_bytes": before - after,
        "memory_saved_percent": 100.0 * (before - after) / before if before else 0.0,
    }
