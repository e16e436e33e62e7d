"""Int8 convolutions: :class:`QuantizedConv2d`, the ``Conv2d`` twin of ``QuantizedLinear``.

A convolution is a matmul in disguise (``tinytorch/nn/spatial.py``): im2col gathers every
``kh x kw`` patch of the input into a matrix, and the kernels, reshaped to
``(out_channels, C*kh*kw)``, multiply it. So the int8 convolution reuses everything the
int8 ``Linear`` has. The layer stores its kernels as int8, one scale and zero point per
**output channel** (kernels of different output channels often differ in range by 10x or
more, and a shared scale would flatten the small ones), as the ``(out, K)`` matrix
``W_q`` with ``K = C*kh*kw``, row-major: each output channel's kernel is one contiguous int8
row. Once :meth:`QuantizedConv2d.calibrate` has fixed the input's scale ``sx`` and zero
point ``zx``, the forward graph is::

    xq   = quantize(x, sx, zx)                                   int8 (N, C, H, W)
    cols = windows(xq, pad_value=zx) -> (N*OH*OW, K)              int8: one row per pixel
    y    = dequantize(cols, sx, zx) @ dequantize(permute(W_q), sw, zw)    (N*OH*OW, out)
    out  = (y + dequantize(b_q)) -> (N, out, OH, OW)

The matmul is written "pixels times kernels", the transpose of ``Conv2d``'s "kernels times
pixels", so that it is exactly what the quantization lowering pass
(``tinytorch/passes/quantize_lowering.py``) already recognizes: a per-tensor dequantized left
operand times a weight dequantized per column, read in place from its ``(N, K)`` storage
(``layout="nk"``). It becomes ``int8_matmul`` (int8 x int8 -> int32) plus the zero-point
correction and a float epilogue, on every backend; ``tinytorch.explain(y)`` shows it.

The input is quantized *before* the windows are gathered: each pixel is rounded once (not
``kh*kw`` times) and the im2col matrix holds 1-byte values. The padding is then the integer
``zx``, the code of ``0.0``, which dequantizes to exactly zero (the book's zero point is
clipped to the int8 range, so 0.0 always has an exact code).

The bias is int8 per tensor, as ``QuantizedLinear`` keeps it (the book's choice).
Uncalibrated, the layer runs the book's simulation: the float input times the dequantized
kernels (or refuses, with ``require_calibration=True``).
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.spatial import Conv2d, _check_input, conv_output_shape, windows
from tinytorch.perf.int8 import checked_float_data, dequantize, quantize
from tinytorch.perf.quantized_layer import QuantizedLayer


class QuantizedConv2d(QuantizedLayer):
    """An int8 version of a ``Conv2d`` layer: kernels stored as int8 for the layer's life.

    ``q_weight`` (``(out, in, kh, kw)``, int8, a view of the ``(out, in*kh*kw)`` storage)
    with ``weight_scale``/``weight_zero_point`` (arrays of ``out`` values per channel, or
    numbers with ``per_channel=False``), and ``q_bias``/``bias_scale``/``bias_zero_point``
    (all ``None`` without a bias); ``input_scale``/``input_zero_point`` stay ``None`` until
    :meth:`calibrate`. ``original_layer`` is a weak reference to the float layer, as in
    ``QuantizedLinear``: the quantized model does not keep the float kernels alive.
    """

    def __init__(
        self, conv_layer: Conv2d, per_channel: bool = True, require_calibration: bool = False
    ) -> None:
        if not isinstance(conv_layer, Conv2d):
            raise TypeError(
                f"QuantizedConv2d needs a Conv2d layer, got {type(conv_layer).__name__}"
            )
        self.in_channels, self.out_channels = conv_layer.in_channels, conv_layer.out_channels
        self.kernel_size, self.stride = conv_layer.kernel_size, conv_layer.stride
        self.padding = conv_layer.padding
        kh, kw = self.kernel_size
        self.patch_size = self.in_channels * kh * kw  # K: one im2col row
        columns = Tensor(conv_layer.weight.data.reshape(self.out_channels, -1).T)  # (K, out)
        self._quantize_weights(
            conv_layer, columns, conv_layer.bias, per_channel, require_calibration
        )

    @property
    def q_weight(self) -> Tensor:
        """The int8 kernels in ``Conv2d``'s ``(out, in, kh, kw)`` shape (a view: no copy)."""
        return self._q_weight_t.reshape(self.out_channels, self.in_channels, *self.kernel_size)

    # ------------------------------------------------------------ calibration
    def calibrate(self, sample_inputs: Sequence[Tensor]) -> None:
        """Set ``input_scale``/``input_zero_point`` from the min and max of the sample
        images (``(N, in_channels, H, W)`` each; the book's formulas, as ``QuantizedLinear``)."""
        if isinstance(sample_inputs, Tensor) or not len(sample_inputs):
            raise ValueError("QuantizedConv2d.calibrate: needs a non-empty list of sample inputs")
        arrays = []
        for k, sample in enumerate(sample_inputs):
            data = checked_float_data(sample, f"QuantizedConv2d.calibrate (sample {k})")
            if data.ndim != 4 or data.shape[1] != self.in_channels:
                raise ShapeError(
                    f"QuantizedConv2d.calibrate: sample {k} has shape {data.shape}; it must be "
                    f"(batch, in_channels={self.in_channels}, height, width)"
                )
            arrays.append(data)
        self._set_input_range(arrays)

    # ----------------------------------------------------------------- forward
    def _rows(self, x: Tensor, pad_value: float) -> Tensor:
        """im2col with one row per output pixel: ``(N, C, H, W) -> (N*OH*OW, C*kh*kw)``,
        each row ordered as ``Conv2d``'s kernels are (channel, then kernel row and column)."""
        patches = windows(x, self.kernel_size, self.stride, self.padding, pad_value)
        n, oh, ow = patches.shape[2], patches.shape[4], patches.shape[5]
        return patches.permute(2, 4, 5, 3, 0, 1).reshape(n * oh * ow, self.patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """FP32 ``(N, out, OH, OW)``. Calibrated: the input is quantized and the compiler runs
        the convolution's matmul on integers. Not calibrated: the book's float path."""
        n, c, h, w = _check_input(repr(self), x, self.kernel_size, self.padding)
        if c != self.in_channels:
            raise ShapeError(
                f"{self!r}: expected {self.in_channels} input channels, got {c} "
                f"(input shape {x.shape}, int8 kernels {tuple(self.q_weight.shape)})"
            )
        self._require_calibrated()
        with no_grad():
            if self.calibrated:
                params = self._input_tensors()
                xq = quantize(x, *params)
                rows = dequantize(self._rows(xq, float(self.input_zero_point)), *params)
            else:
                rows = self._rows(x, 0.0)
            kernels = dequantize(self._q_weight_t.transpose(), *self._weight_params)  # (K, out)
            out = rows.matmul(kernels)  # (N*OH*OW, out)
            if self._bias_params is not None:
                out = out + dequantize(self.q_bias, *self._bias_params)
            _, _, oh, ow = self.output_shape((n, c, h, w))
            return out.reshape(n, oh, ow, self.out_channels).permute(0, 3, 1, 2)

    def output_shape(self, shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """``Conv2d``'s formula for an input ``shape`` (no graph is built)."""
        return conv_output_shape(
            shape, self.out_channels, self.kernel_size, self.stride, self.padding
        )

    def __repr__(self) -> str:
        state = "calibrated" if self.calibrated else "not calibrated"
        scheme = "per-channel" if self.per_channel else "per-tensor"
        return (
            f"QuantizedConv2d({self.in_channels}, {self.out_channels}, kernel_size="
            f"{self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"bias={self.q_bias is not None}, {scheme}, {state})"
        )
