"""Spatial layers (book Module 09): ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` and ``BatchNorm2d``.

The book computes a convolution with seven nested Python loops, to show its cost. Here the
same arithmetic is graph ops that run on BLAS (see ``tinytorch/ir/ops/spatial.py``):

* **im2col** — ``windows`` gathers every ``kh x kw`` patch: ``(N, C, H, W)`` becomes
  ``(kh, kw, N, C, OH, OW)`` (kernel offsets first: each offset's slab is a contiguous
  shifted image); a permute and a reshape make it the matrix ``(C*kh*kw, N*OH*OW)``, one
  column per output pixel;
* **one matmul** of the weights reshaped to ``(out_channels, C*kh*kw)`` with that matrix
  computes every output pixel of every image at once; the bias is added and the result is
  laid back out as ``(N, out_channels, OH, OW)``.

Pooling reuses the windows: ``MaxPool2d`` is ``max`` over the two kernel axes (padding with
``-inf``, so padding never wins), ``AvgPool2d`` is their mean (padding with zeros that *count*
in the mean: PyTorch's ``count_include_pad=True``). Every step has a VJP, so ``backward()``
through a CNN is graph too; the gradient of ``windows`` is ``fold``, a scatter-add of the patch
gradients back onto the image (col2im).

Shapes follow the book (spec §2.3): ``OH = (H + 2*padding - kernel) // stride + 1``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad, record_op
from tinytorch.frontend.dtypes import DEFAULT_FLOAT, is_float
from tinytorch.frontend.functional import astype
from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor import Tensor
from tinytorch.frontend.tensor_type import wrap
from tinytorch.ir import build as B
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.ops.spatial import out_size
from tinytorch.nn.module import Layer, positive_int

IntOrPair = int | tuple[int, int]


def _pair(value: Any, name: str, layer: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``minimum``: ``3 -> (3, 3)``."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items
    ):
        raise TypeError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    pair = (int(items[0]), int(items[1]))
    if min(pair) < minimum:
        what = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    return pair


def _check_input(
    layer: str, x: Any, kernel: tuple[int, int], padding: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The book's 4-D check, then "does the kernel fit the padded image?"."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{layer}: expected a Tensor (or a list/array of numbers), got {type(x).__name__}"
        )
    if x.ndim != 4:
        raise ShapeError(
            f"{layer}: Expected 4D input (batch, channels, height, width), got {x.shape}"
        )
    n, c, h, w = x.shape
    padded = (h + 2 * padding[0], w + 2 * padding[1])
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ShapeError(
            f"{layer}: kernel {kernel} is larger than the padded input {padded} "
            f"(input shape {x.shape}, padding {padding})"
        )
    return n, c, h, w


# ------------------------------------------------------------------ functional
@user_op("windows")
def windows(
    x: Tensor,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    pad_value: float = 0.0,
) -> Tensor:
    """``(N, C, H, W) -> (kh, kw, N, C, OH, OW)``: every patch, ``pad_value`` outside."""
    node = B.make(
        "windows",
        (x._node,),
        kernel=tuple(kernel),
        stride=tuple(stride),
        padding=tuple(padding),
        pad_value=float(pad_value),
    )
    return wrap(node, [x], "UnfoldBackward")


@user_op("conv2d")
def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
) -> Tensor:
    """Cross-correlation of ``x (N, C, H, W)`` with ``weight (out, C, kh, kw)``: im2col + matmul."""
    out_c, in_c, kh, kw = weight.shape
    n, c, h, w = x.shape
    patches = windows(x, (kh, kw), stride, padding, 0.0)  # (kh, kw, N, C, OH, OW)
    oh, ow = patches.shape[4], patches.shape[5]
    cols = patches.permute(3, 0, 1, 2, 4, 5).reshape(c * kh * kw, n * oh * ow)
    out = weight.reshape(out_c, in_c * kh * kw).matmul(cols)  # (out, N*OH*OW)
    if bias is not None:
        out = out + bias.reshape(out_c, 1)
    out = out.reshape(out_c, n, oh, ow).permute(1, 0, 2, 3)
    record_op(out._node, [t for t in (x, weight, bias) if t is not None], "Conv2dBackward")
    return out


@user_op("max_pool2d")
def max_pool2d(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> Tensor:
    """Largest value of each window; padding is ``-inf`` so it never wins."""
    out = windows(x, kernel, stride, padding, -np.inf).max(axis=(0, 1))
    record_op(out._node, [x], "MaxPool2dBackward")
    return out


@user_op("avg_pool2d")
def avg_pool2d(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]
) -> Tensor:
    """Mean of each window over all ``kh*kw`` positions, zero padding included."""
    x = x if is_float(x.dtype) else astype(x, DEFAULT_FLOAT)
    out = windows(x, kernel, stride, padding, 0.0).mean(axis=(0, 1))
    record_op(out._node, [x], "AvgPool2dBackward")
    return out


# -------------------------------------------------------------------- Conv2d
HE_GAIN = 2.0  # He initialisation for ReLU networks: std = sqrt(2 / fan_in)


def conv_output_shape(
    shape: tuple[int, int, int, int],
    out_channels: int,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> tuple[int, int, int, int]:
    """``(N, out_channels, OH, OW)`` of a convolution over an ``(N, C, H, W)`` input, with
    ``OH = (H + 2*pad - kh) // stride + 1`` (the book's formula; likewise ``OW``)."""
    n, _, h, w = shape
    oh = out_size(h, kernel_size[0], stride[0], padding[0])
    ow = out_size(w, kernel_size[1], stride[1], padding[1])
    return n, out_channels, oh, ow


class Conv2d(Layer):
    """``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)``.

    NCHW in, NCHW out: ``(N, in, H, W) -> (N, out, OH, OW)``. ``kernel_size``, ``stride`` and
    ``padding`` are an int or an ``(h, w)`` pair; padding is zeros. ``weight`` has shape
    ``(out, in, kh, kw)`` and is He-initialised (the book names He init but not the formula):
    ``randn(out, in, kh, kw) * sqrt(2 / (in * kh * kw))`` from NumPy's global RNG, so
    ``np.random.seed`` reproduces it; ``bias`` is ``(out,)`` zeros.
    ``Conv2d(3, 64, 3)`` has 64*3*3*3 + 64 = 1,792 parameters.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        bias: bool = True,
    ) -> None:
        self.in_channels = positive_int(in_channels, "Conv2d in_channels")
        self.out_channels = positive_int(out_channels, "Conv2d out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _pair(stride, "stride", "Conv2d", 1)
        self.padding = _pair(padding, "padding", "Conv2d", 0)
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        weight = np.random.randn(self.out_channels, self.in_channels, kh, kw)
        weight *= np.sqrt(HE_GAIN / fan_in)
        self.weight = Tensor(weight.astype(np.float32), requires_grad=True)
        self.bias = (
            Tensor(np.zeros(self.out_channels, dtype=np.float32), requires_grad=True)
            if bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        _, c, _, _ = _check_input(repr(self), x, self.kernel_size, self.padding)
        if c != self.in_channels:
            raise ShapeError(
                f"{self!r}: expected {self.in_channels} input channels, got {c} "
                f"(input shape {x.shape})"
            )
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def output_shape(self, shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The book's formula for an input ``shape`` (no graph is built)."""
        return conv_output_shape(
            shape, self.out_channels, self.kernel_size, self.stride, self.padding
        )

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None})"
        )


# ------------------------------------------------------------------- pooling
class _Pool2d(Layer):
    """Shared by the pools: ``stride=None`` means ``stride = kernel_size`` (no overlap).

    As in PyTorch, padding may be at most half the kernel, so every window holds at least one
    real pixel (a max over padding alone would be ``-inf``).
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ) -> None:
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", name, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", name, 1)
        self.padding = _pair(padding, "padding", name, 0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ValueError(
                f"{name}: padding {self.padding} must be at most half of kernel_size "
                f"{self.kernel_size}"
            )

    def _check(self, x: Tensor) -> None:
        _check_input(repr(self), x, self.kernel_size, self.padding)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding})"
        )


class MaxPool2d(_Pool2d):
    """``MaxPool2d(kernel_size, stride=None, padding=0)``: the largest value in each window.

    Padding is ``-inf`` (the book's ``np.pad(..., constant_values=-np.inf)``): with zeros, a
    window of negative features next to the border would return 0. The gradient goes to the
    window's maximum (shared evenly between tied maxima).
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """``AvgPool2d(kernel_size, stride=None, padding=0)``: the mean of each window.

    Padded positions are zeros that count in the mean (PyTorch's default
    ``count_include_pad=True``): a border window holding 2 real pixels of a 2x2 kernel with
    padding averages over 4.
    """

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


# --------------------------------------------------------------- BatchNorm2d
class BatchNorm2d(Layer):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1)``: normalise each channel.

    Training: ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the mean and the
    (biased) variance of this batch over ``(N, H, W)``, per channel. Each call also updates
    ``running_mean`` and ``running_var`` as PyTorch does: ``r = (1 - momentum) * r +
    momentum * batch_stat``, the variance unbiased (``n / (n - 1)``). Evaluation
    (``eval()``): the running statistics replace the batch's.

    The running statistics are lazy tensors like an optimizer's state: the update is graph
    (built under ``no_grad`` from the batch statistics), computed in the same run as the
    training step that reads the same input, so it costs no extra pass over the data and no
    early realization. ``weight`` (ones) and ``bias`` (zeros) are the trainable parameters;
    the running statistics are not parameters, so ``state_dict()`` does not hold them.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.num_features = positive_int(num_features, "BatchNorm2d num_features")
        if not eps > 0:
            raise ValueError(f"BatchNorm2d: eps must be positive, got {eps}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm2d: momentum must be in [0, 1], got {momentum}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        c = self.num_features
        self.weight = Tensor(np.ones(c, dtype=np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(c, dtype=np.float32), requires_grad=True)
        self.running_mean = Tensor(np.zeros(c, dtype=np.float32))
        self.running_var = Tensor(np.ones(c, dtype=np.float32))

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 4:
            shape = getattr(x, "shape", type(x).__name__)
            raise ShapeError(
                f"{self!r}: Expected 4D input (batch, channels, height, width), got {shape}"
            )
        n, c, h, w = x.shape
        if c != self.num_features:
            raise ShapeError(
                f"{self!r}: expected {self.num_features} channels, got {c} (input shape {x.shape})"
            )
        shape = (1, c, 1, 1)
        if self.training:
            count = n * h * w
            if count < 2:
                raise ValueError(
                    f"{self!r}: training needs more than one value per channel, got input "
                    f"shape {x.shape}"
                )
            mean = x.mean(axis=(0, 2, 3), keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=(0, 2, 3), keepdims=True)
            with no_grad():
                m = self.momentum
                self.running_mean = self.running_mean * (1 - m) + mean.reshape(c) * m
                unbiased = var.reshape(c) * (count / (count - 1))
                self.running_var = self.running_var * (1 - m) + unbiased * m
            normed = centered / (var + self.eps).sqrt()
        else:
            mean = self.running_mean.reshape(shape)
            normed = (x - mean) / (self.running_var.reshape(shape) + self.eps).sqrt()
        return normed * self.weight.reshape(shape) + self.bias.reshape(shape)

    def __repr__(self) -> str:
        return f"BatchNorm2d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


__all__ = [
    "HE_GAIN",
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "MaxPool2d",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
    "windows",
]
