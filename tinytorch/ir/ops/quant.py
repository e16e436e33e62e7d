"""Int8 quantization: ``quantize``, ``dequantize`` and the integer matmul ``int8_matmul``.

The book's affine (asymmetric) mapping between a float ``x`` and an int8 ``q`` is

    q = clip(round(x / scale + zero_point), -128, 127)      (quantize)
    x ≈ (q - zero_point) * scale                            (dequantize)

``scale`` (float32) and ``zero_point`` (int32) are *inputs*, not attributes, of the same
shape as the data: like every elementwise op, these two read their inputs position by
position, and broadcasting is explicit (``expand``). A per-tensor pair is a 0-d tensor
expanded to the data's shape (the book's scheme); a per-channel pair is one value per index
of the last axis, expanded over the rows (one scale per output column of an ``(in, out)``
weight). Being elementwise, both fuse into the kernels around them on the llvm backend (a
layer's float epilogue, its bias and activation, and the next layer's ``quantize`` become
one loop), with ``round`` as round-half-to-even, as NumPy's.

``int8_matmul(a, b, a_zero)`` is what the quantization lowering pass turns
``dequantize(a) @ dequantize(b)`` into: int8 x int8 products summed in int32,

    out[i, j] = sum_k (a[i, k] - a_zero) * b[k, j]          (int32, exact)

Subtracting ``a_zero`` inside the op keeps every product within 16 bits (|a - a_zero| <= 255,
|b| <= 128), which is what integer dot-product instructions want; the weight's zero point
and both scales are applied afterwards by ordinary elementwise ops (see
``tinytorch/passes/quantize_lowering.py``). ``layout="nk"`` says ``b`` is stored transposed,
``(N, K)``, row-major: each output is then a dot product of two contiguous int8 rows, the
layout :class:`~tinytorch.perf.quantization.QuantizedLinear` keeps its weights in. The sum
is exact in int32 as long as ``K * 255 * 128 < 2**31`` (K up to 65,793); larger K is refused.

None of these ops has a gradient: quantized weights are frozen (post-training quantization).
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.registry import OpDef, nbytes, register

INT8_MIN, INT8_MAX = -128, 127
MAX_K = (2**31 - 1) // (255 * 128)  # longest exact int32 dot product of shifted int8s


def check_params(op: str, shapes, dtypes) -> None:
    """``scale`` float32 and ``zero_point`` int32, both of the data's shape."""
    if dtypes[1] != "float32" or dtypes[2] != "int32":
        raise DTypeError(
            f"{op}: scale must be float32 and zero_point int32, got {dtypes[1]} and {dtypes[2]}"
        )
    if not shapes[0] == shapes[1] == shapes[2]:
        raise ShapeError(
            f"{op}: data, scale and zero_point must have one shape (expand them), got "
            f"{list(shapes)}"
        )


# ---------------------------------------------------------------------- quantize
def _quantize_infer(shapes, dtypes, attrs):
    if dtypes[0] not in ("float32", "float64"):
        raise DTypeError(f"quantize: needs a float32 or float64 input, got {dtypes[0]}")
    check_params("quantize", shapes, dtypes)
    return shapes[0], "int8"


def quantize_kernel(node, x: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The book's ``np.clip(np.round(x / scale + zero_point), -128, 127).astype(np.int8)``
    (in ``x``'s float type, as NumPy computes it with Python-number scale and zero point)."""
    q = np.round(x / scale.astype(x.dtype) + zero.astype(x.dtype))
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


register(
    OpDef(
        name="quantize",
        kind="elementwise",
        arity=3,
        infer=_quantize_infer,
        numpy=quantize_kernel,
        differentiable=False,
        doc="float x, scale, zero_point -> int8 clip(round(x / scale + zero_point))",
    )
)


# -------------------------------------------------------------------- dequantize
def _dequantize_infer(shapes, dtypes, attrs):
    if dtypes[0] != "int8":
        raise DTypeError(f"dequantize: needs an int8 input, got {dtypes[0]}")
    check_params("dequantize", shapes, dtypes)
    return shapes[0], "float32"


def dequantize_kernel(node, q: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The book's ``(q.astype(np.float32) - zero_point) * scale``."""
    return (q.astype(np.float32) - zero.astype(np.float32)) * scale


register(
    OpDef(
        name="dequantize",
        kind="elementwise",
        arity=3,
        infer=_dequantize_infer,
        numpy=dequantize_kernel,
        differentiable=False,
        doc="int8 q, scale, zero_point -> float32 (q - zero_point) * scale",
    )
)


# ------------------------------------------------------------------- int8_matmul
def _int8_matmul_infer(shapes, dtypes, attrs):
    a, b, zero = shapes
    layout = attrs.get("layout", "kn")
    if layout not in ("kn", "nk"):
        raise ShapeError(f"int8_matmul: layout must be 'kn' or 'nk', got {layout!r}")
    if dtypes[:2] != ("int8", "int8") or dtypes[2] != "int32":
        raise DTypeError(
            f"int8_matmul: needs int8 x int8 with an int32 zero point, got {list(dtypes)}"
        )
    if len(a) != 2 or len(b) != 2 or zero != ():
        raise ShapeError(
            f"int8_matmul: needs 2-D operands and a 0-d zero point, got {a}, {b}, {zero}"
        )
    k_b, n = (b[0], b[1]) if layout == "kn" else (b[1], b[0])
    if a[1] != k_b:
        raise ShapeError(
            f"int8_matmul: inner dimensions must match: {a} @ {b} (layout {layout}): {a[1]} ≠ {k_b}"
        )
    if a[1] > MAX_K:
        raise ShapeError(f"int8_matmul: K={a[1]} could overflow int32 (at most {MAX_K})")
    return (a[0], n), "int32"


def int8_matmul_kernel(node, a: np.ndarray, b: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Exact integer math: ``(a - a_zero) @ b`` in int32 (NumPy's integer matmul)."""
    if node.attrs.get("layout", "kn") == "nk":
        b = b.T
    return (a.astype(np.int32) - zero.astype(np.int32)) @ b.astype(np.int32)


def _int8_matmul_cost(node):
    a, b, _ = node.inputs
    return 2 * node.size * a.shape[1], nbytes(a) + nbytes(b) + nbytes(node)


register(
    OpDef(
        name="int8_matmul",
        kind="opaque",
        arity=3,
        infer=_int8_matmul_infer,
        numpy=int8_matmul_kernel,
        differentiable=False,
        cost=_int8_matmul_cost,
        doc="int8 (M,K) x int8 (K,N) [or (N,K) with layout='nk'] -> int32 sum (a - a_zero) * b",
    )
)
