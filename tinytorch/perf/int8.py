"""The book's int8 formulas (Module 15) and the IR ops behind them, as tensor functions.

The book's post-training, asymmetric, per-tensor scheme maps the range ``[min, max]`` of a
float tensor onto the 256 integers ``-128..127``::

    scale      = (max - min) / 255
    zero_point = clip(round(-128 - min / scale), -128, 127)
    q          = clip(round(x / scale + zero_point), -128, 127)      int8, 1 byte each
    x'         = (q - zero_point) * scale                            |x - x'| <= scale / 2

:func:`quantize_int8` and :func:`dequantize_int8` are the book's functions, value for value
(a constant tensor gives ``(zeros, 1.0, 0)``, as the book says); :func:`quantize` and
:func:`dequantize` build the IR ops of the same names (``tinytorch/ir/ops/quant.py``), with a
scale and zero point per tensor or per channel of the last axis. The layer built on them,
and whole-model quantization, are in :mod:`tinytorch.perf.quantization`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor import Tensor
from tinytorch.frontend.tensor_type import wrap
from tinytorch.ir import build as B
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.node import Node

INT8_MIN_VALUE = -128
INT8_MAX_VALUE = 127
INT8_RANGE = 256
EPSILON = 1e-8  # a range narrower than this is a constant tensor (the book names, not sets, it)


# ------------------------------------------------------------------- checks
def checked_float_data(tensor: Any, what: str) -> np.ndarray:
    """The values of ``tensor`` as a float array, refusing empty and non-finite ones."""
    data = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if data.size == 0:
        raise ValueError(f"{what}: cannot quantize an empty tensor (shape {data.shape})")
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{what}: needs numeric data, got {data.dtype}")
    if data.dtype.kind != "f":
        data = data.astype(np.float32)
    finite = np.isfinite(data)
    if not finite.all():
        bad = data[~finite]
        raise ValueError(
            f"{what}: cannot quantize a tensor with non-finite values (shape {data.shape}: "
            f"{bad.size} of {data.size} are inf/NaN, e.g. {bad.flat[0]})"
        )
    return data


def affine_params(min_val: float, max_val: float) -> tuple[float, int]:
    """The book's ``(scale, zero_point)`` for the range ``[min_val, max_val]``."""
    scale = (max_val - min_val) / (INT8_RANGE - 1)
    zero_point = int(np.round(INT8_MIN_VALUE - min_val / scale))
    return scale, int(np.clip(zero_point, INT8_MIN_VALUE, INT8_MAX_VALUE))


class NotCalibratedError(RuntimeError):
    """A layer that needs calibrated input parameters was used before ``calibrate``."""


def calibrated_params(samples: Sequence[np.ndarray]) -> tuple[float, int]:
    """A quantized layer's input ``(scale, zero_point)`` from the min and max over all of
    ``samples`` (the book's calibration); a constant range gives ``(1.0, 0)``."""
    lo = min(float(np.min(a)) for a in samples)
    hi = max(float(np.max(a)) for a in samples)
    if abs(hi - lo) < EPSILON:
        return 1.0, 0
    return affine_params(lo, hi)


# ------------------------------------------------------------ the IR ops, as tensors
def _scalar_or_vector(value: Any, dtype: type) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=dtype))


def param_tensors(scale: Any, zero_point: Any) -> tuple[Tensor, Tensor]:
    """``scale`` and ``zero_point`` as the float32/int32 tensors the IR ops read (made once
    per layer, so every call's graph reads the same buffers)."""
    return _scalar_or_vector(scale, np.float32), _scalar_or_vector(zero_point, np.int32)


def _broadcast(param: Tensor, shape: tuple[int, ...], op: str) -> Node:
    """A 0-d (per tensor) or last-axis (per channel) parameter expanded to ``shape``."""
    node = param._node
    if node.shape not in ((), shape[-1:]):
        raise ShapeError(
            f"{op}: scale and zero_point must be numbers (per tensor) or have shape "
            f"{shape[-1:]} (per channel of the last axis), got {node.shape} for data {shape}"
        )
    return B.expand(node, shape)


@user_op("quantize")
def quantize(x: Tensor, scale: Any, zero_point: Any) -> Tensor:
    """``clip(round(x / scale + zero_point), -128, 127)`` as int8: the IR op ``quantize``.
    ``scale``/``zero_point`` are numbers (per tensor) or one per index of the last axis."""
    s, z = param_tensors(scale, zero_point)
    node = x._node if x.dtype.kind == "f" else B.cast(x._node, "float32")
    if node.dtype not in ("float32", "float64"):
        node = B.cast(node, "float32")
    s_node, z_node = _broadcast(s, node.shape, "quantize"), _broadcast(z, node.shape, "quantize")
    return wrap(B.make("quantize", (node, s_node, z_node)), [x])


@user_op("dequantize")
def dequantize(q: Tensor, scale: Any, zero_point: Any) -> Tensor:
    """``(q - zero_point) * scale`` as float32: the IR op ``dequantize``."""
    s, z = param_tensors(scale, zero_point)
    shape = q._node.shape
    s_node, z_node = _broadcast(s, shape, "dequantize"), _broadcast(z, shape, "dequantize")
    return wrap(B.make("dequantize", (q._node, s_node, z_node)), [q])


# ------------------------------------------------------------- the book's functions
def quantize_int8(tensor: Tensor) -> tuple[Tensor, float, int]:
    """FP32 tensor -> ``(int8 tensor, scale, zero_point)``, the book's asymmetric formulas.

    A constant tensor (range below ``EPSILON``) gives ``(zeros, 1.0, 0)``, exactly as the
    book specifies. Empty or non-finite input raises ``ValueError``.
    """
    data = checked_float_data(tensor, "quantize_int8")
    min_val, max_val = float(np.min(data)), float(np.max(data))
    if abs(max_val - min_val) < EPSILON:
        return Tensor(np.zeros_like(data, dtype=np.int8)), 1.0, 0
    scale, zero_point = affine_params(min_val, max_val)
    q = quantize(Tensor(data) if not isinstance(tensor, Tensor) else tensor, scale, zero_point)
    return Tensor(q.data), scale, zero_point


def dequantize_int8(q_tensor: Tensor, scale: float, zero_point: int) -> Tensor:
    """INT8 tensor -> FP32: ``(q - zero_point) * scale``."""
    if not isinstance(q_tensor, Tensor):
        q_tensor = Tensor(np.asarray(q_tensor, dtype=np.int8))
    if q_tensor.dtype != np.int8:
        raise TypeError(f"dequantize_int8: needs an int8 tensor, got {q_tensor.dtype}")
    return dequantize(q_tensor, scale, zero_point)


def quantize_per_channel(weight: Tensor) -> tuple[Tensor, np.ndarray, np.ndarray]:
    """Each column (output channel) of an ``(in, out)`` weight with its own scale and zero
    point: the book's formulas per column, over the column's range widened to include 0
    (as PyTorch's observers do). Without that, a column of one sign (common when a column
    has few values, such as a 1x1 convolution's kernel over a few channels) would need a
    zero point outside -128..127, and clipping it would cut off the column's far end. A
    constant column ``c`` gets ``zero_point 0`` and ``scale |c| / 127`` (or 1.0 for zeros),
    so it is reproduced exactly."""
    data = checked_float_data(weight, "quantize_per_channel")
    lo, hi = data.min(axis=0).astype(np.float64), data.max(axis=0).astype(np.float64)
    flat = np.abs(hi - lo) < EPSILON
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
    span = np.where(flat, 1.0, hi - lo)
    scale = span / (INT8_RANGE - 1)
    zero = np.clip(np.round(INT8_MIN_VALUE - lo / scale), INT8_MIN_VALUE, INT8_MAX_VALUE)
    size = np.maximum(np.abs(lo), np.abs(hi))  # |c| for a constant column c
    const_scale = np.where(size > 0, size / INT8_MAX_VALUE, 1.0)
    scale = np.where(flat, const_scale, scale).astype(np.float32)
    zero = np.where(flat, 0, zero).astype(np.int32)
    return Tensor(quantize(Tensor(data), scale, zero).data), scale, zero
