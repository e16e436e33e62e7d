"""The ops behind Tensor's methods: check the arguments, then add IR nodes. Nothing computes.

Each function turns NumPy's conveniences into explicit IR: broadcasting becomes ``expand``
nodes, type promotion becomes ``cast`` nodes, 1-D matmul operands become ``reshape`` nodes.
Shape and dtype errors are raised here, at the user's line, with the book's messages where
the book gives them. Every function is wrapped by :func:`~tinytorch.frontend.source.user_op`,
which stamps the user's ``file:line`` on the nodes it builds.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from tinytorch.frontend.autograd import record_op
from tinytorch.frontend.dtypes import (
    DEFAULT_FLOAT,
    is_float,
    normalize_dtype,
    promote,
    scalar_dtype,
)
from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor_type import as_tensor, tensor_class, wrap
from tinytorch.ir import build as B
from tinytorch.ir.errors import OutOfRangeError, ShapeError
from tinytorch.ir.families import COMPARISONS
from tinytorch.ir.shapes import (
    broadcast_shapes,
    normalize_axes,
    normalize_axis,
    prod,
)

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor

# Real numbers only: a complex scalar goes to the Tensor constructor, which refuses it.
Scalar = (numbers.Real, np.bool_)


# --------------------------------------------------------------- elementwise
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def _binary(op: str, a: Any, b: Any) -> Tensor:
    T = tensor_class()
    ta, tb = isinstance(a, T), isinstance(b, T)
    if not ta and not isinstance(a, Scalar):
        a, ta = as_tensor(a), True
    if not tb and not isinstance(b, Scalar):
        b, tb = as_tensor(b), True
    if ta and tb:
        na, nb = a._node, b._node
        dtype = na.dtype if na.dtype == nb.dtype else promote(na.dtype, nb.dtype)
        shape = (na.shape if na.shape == nb.shape
                 else broadcast_shapes(na.shape, nb.shape, op=_SYMBOL.get(op, op)))  # fmt: skip
    else:
        t, s = (a, b) if ta else (b, a)
        dtype, shape = scalar_dtype(t._node.dtype, s), t._node.shape
        if type(s) is int:
            if not -(2**31) <= s < 2**31:
                _check_scalar_range(op, s, dtype, t)
        elif isinstance(s, np.integer):
            _check_scalar_range(op, int(s), dtype, t)
    if op == "div" and not is_float(dtype):  # true division: ints give a float
        dtype = DEFAULT_FLOAT
    if dtype == "bool" and op not in COMPARISONS and op not in ("maximum", "minimum"):
        dtype = "int64"  # arithmetic on booleans counts them, as in NumPy's sum
    inputs = (_operand(a, ta, dtype, shape), _operand(b, tb, dtype, shape))
    return wrap(B.make(op, inputs), [x for x, is_t in ((a, ta), (b, tb)) if is_t])


def _operand(x: Any, is_tensor: bool, dtype: str, shape: tuple[int, ...]):
    """The node an elementwise op reads for ``x``: a tensor cast and broadcast to the result's
    dtype and shape (no node added when it already has them), or a constant for a scalar."""
    if not is_tensor:
        return B.const(_scalar_as(x, dtype), shape, dtype)
    node = x._node
    if node.dtype != dtype:
        node = B.make("cast", (node,), dtype=dtype)
    if node.shape != shape:
        node = B.make("expand", (node,), shape=shape)
    return node


def _check_scalar_range(op: str, s: int, dtype: str, t: Tensor) -> None:
    """A Python int the op's dtype cannot hold is refused (NumPy would overflow or wrap)."""
    if is_float(dtype):
        largest = float(np.finfo(dtype).max)
        if -largest <= s <= largest:
            return
        limits = f"±{largest:g}"
    else:
        info = np.iinfo(dtype if dtype != "bool" else "int64")
        if info.min <= s <= info.max:
            return
        limits = f"[{info.min}, {info.max}]"
    raise OutOfRangeError(
        f"{op} ({_SYMBOL.get(op, op)}): the scalar {s} does not fit the {dtype} of the "
        f"tensor of shape {t.shape} (range {limits}); convert the tensor first, "
        "e.g. t.astype('float64')"
    )


def _scalar_as(x: Any, dtype: str) -> Any:
    """A Python scalar converted as NumPy's ``astype`` would (fast for the usual cases)."""
    if dtype in ("float32", "float64") and isinstance(x, (int, float)):
        return float(x) if dtype == "float64" else float(np.float32(x))
    return np.array(x).astype(dtype).item()


def _float_input(x: Tensor):
    return x._node if is_float(x.dtype) else B.cast(x._node, DEFAULT_FLOAT)


@user_op("add")
def add(a: Any, b: Any) -> Tensor:
    return _binary("add", a, b)


@user_op("sub")
def sub(a: Any, b: Any) -> Tensor:
    return _binary("sub", a, b)


@user_op("mul")
def mul(a: Any, b: Any) -> Tensor:
    return _binary("mul", a, b)


@user_op("div")
def div(a: Any, b: Any) -> Tensor:
    return _binary("div", a, b)


@user_op("pow")
def pow(a: Any, b: Any) -> Tensor:  # noqa: A001
    T = tensor_class()
    if isinstance(a, T) and isinstance(b, Scalar) and not is_float(a.dtype) and b < 0:
        a = astype(a, DEFAULT_FLOAT)  # integers to negative powers are fractions
    return _binary("pow", a, b)


@user_op("maximum")
def maximum(a: Any, b: Any) -> Tensor:
    return _binary("maximum", a, b)


@user_op("minimum")
def minimum(a: Any, b: Any) -> Tensor:
    return _binary("minimum", a, b)


@user_op("compare")
def compare(op: str, a: Any, b: Any) -> Tensor:
    """``lt``, ``le``, ``gt``, ``ge``, ``eq``, ``ne``: bool tensors, never differentiable."""
    return _binary(op, a, b)


@user_op("neg")
def neg(x: Tensor) -> Tensor:
    node = x._node if x.dtype != "bool" else B.cast(x._node, "int64")
    return wrap(B.neg(node), [x])


def _unary_float(op: str, label: str | None = None):
    @user_op(op)
    def fn(x: Tensor) -> Tensor:
        return wrap(B.make(op, (_float_input(x),)), [x], label)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"Elementwise ``{op}``; integer inputs are computed in float32."
    return fn


exp = _unary_float("exp")
log = _unary_float("log")
sqrt = _unary_float("sqrt")
tanh = _unary_float("tanh", "TanhBackward")
sigmoid = _unary_float("sigmoid")
gelu = _unary_float("gelu")


@user_op("relu")
def relu(x: Tensor) -> Tensor:
    return wrap(B.make("relu", (x._node,)), [x])


@user_op("abs")
def abs(x: Tensor) -> Tensor:  # noqa: A001
    return wrap(B.make("abs", (x._node,)), [x])


@user_op("clip")
def clip(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]``. Tensor bounds broadcast (via maximum/minimum)."""
    T = tensor_class()
    if isinstance(min, T) or isinstance(max, T):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        record_op(out._node, [t for t in (x, min, max) if isinstance(t, T)], "ClipBackward")
        return out
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    dtype = x.dtype
    for bound in (min, max):
        if bound is not None:
            dtype = scalar_dtype(dtype, bound)
    lo = None if min is None else np.array(min).astype(dtype).item()
    hi = None if max is None else np.array(max).astype(dtype).item()
    return wrap(B.make("clip", (B.cast(x._node, dtype),), lo=lo, hi=hi), [x])


@user_op("where")
def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` is true, else ``b``; all three broadcast together."""
    T = tensor_class()
    cond = as_tensor(condition)
    if cond.dtype != "bool":
        cond = compare("ne", cond, 0)
    tensors = [x for x in (a, b) if isinstance(x, T)]
    if tensors:
        dtype = tensors[0].dtype if len(tensors) == 1 else promote(a.dtype, b.dtype)
        for s in (a, b):
            if not isinstance(s, T):
                dtype = scalar_dtype(dtype, s)
    else:
        dtype = np.result_type(a, b).name
        dtype = DEFAULT_FLOAT if is_float(dtype) else normalize_dtype(dtype)
    shape = broadcast_shapes(cond.shape, *(x.shape for x in tensors), op="where")

    def node_of(x: Any):
        if isinstance(x, T):
            return B.expand(B.cast(x._node, dtype), shape)
        return B.const(np.array(x).astype(dtype).item(), shape, dtype)

    node = B.make("where", (B.expand(cond._node, shape), node_of(a), node_of(b)))
    return wrap(node, tensors)


@user_op("astype")
def astype(x: Tensor, dtype: Any) -> Tensor:
    dtype = normalize_dtype(dtype)
    if dtype == x.dtype:
        return wrap(B.make("cast", (x._node,), dtype=dtype), [x])
    return wrap(B.cast(x._node, dtype), [x])


# -------------------------------------------------------------------- matmul
@user_op("matmul")
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands are vectors, batch dims broadcast.

    The book's errors: a non-Tensor operand is a ``TypeError``; mismatched inner dimensions
    are a ``ValueError`` "Cannot perform matrix multiplication: (2, 3) @ (2, 2). Inner
    dimensions must match: 3 ≠ 2".
    """
    T = tensor_class()
    for x in (a, b):
        if not isinstance(x, T):
            raise TypeError(f"Expected Tensor for matrix multiplication, got {type(x)}")
    na, nb = a._node, b._node
    sa, sb = na.shape, nb.shape
    if not sa or not sb:
        raise ShapeError(f"Cannot perform matrix multiplication on a 0-d tensor: {sa} @ {sb}")
    k_a = sa[-1]
    k_b = sb[-2] if len(sb) >= 2 else sb[0]
    if k_a != k_b:
        raise ShapeError(
            f"Cannot perform matrix multiplication: {sa} @ {sb}. "
            f"Inner dimensions must match: {k_a} ≠ {k_b}"
        )
    dtype = promote(na.dtype, nb.dtype)
    if dtype == "bool":
        dtype = "int64"
    na, nb = B.cast(na, dtype), B.cast(nb, dtype)
    if len(sa) == 1:
        na = B.reshape(na, (1, k_a))
    if len(sb) == 1:
        nb = B.reshape(nb, (k_b, 1))
    if na.ndim != 2 or nb.ndim != 2:  # batch dimensions broadcast against each other
        batch = broadcast_shapes(na.shape[:-2], nb.shape[:-2], op="@")
        na = B.expand(na, batch + na.shape[-2:])
        nb = B.expand(nb, batch + nb.shape[-2:])
    else:
        batch = ()
    out = B.make("matmul", (na, nb))
    final = batch + ((sa[-2],) if len(sa) >= 2 else ()) + ((sb[-1],) if len(sb) >= 2 else ())
    return wrap(B.reshape(out, final) if out.shape != final else out, [a, b], "MatmulBackward")


# ---------------------------------------------------------------- reductions
def _axes(x: Tensor, axis: Any, op: str) -> tuple[int, ...]:
    return normalize_axes(axis, x.ndim, op, x.shape)


@user_op("sum")
def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return wrap(B.make("sum", (x._node,), axes=_axes(x, axis, "sum"), keepdims=bool(keepdims)), [x])


@user_op("mean")
def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum divided by the count (integers give float32). Empty axes give NaN."""
    axes = _axes(x, axis, "mean")
    count = prod(x.shape[a] for a in axes if a < x.ndim)
    total = sum(astype(x, DEFAULT_FLOAT) if not is_float(x.dtype) else x, axes, keepdims)
    out = mul(total, 1.0 / count) if count else div(total, 0.0)
    record_op(out._node, [x], "MeanBackward")
    return out


@user_op("var")
def var(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance, ``mean((x - mean(x))**2)`` scaled by ``n / (n - ddof)``.

    ``ddof=0`` (population variance) is the default, as in NumPy and the book's LayerNorm;
    PyTorch's ``var`` defaults to the unbiased ``ddof=1`` — pass it explicitly for that.
    """
    axes = _axes(x, axis, "var")
    centered = sub(x, mean(x, axes, keepdims=True))
    n = prod(x.shape[a] for a in axes if a < x.ndim)
    out = sum(mul(centered, centered), axes, keepdims)
    out = div(out, float(n - ddof)) if n - ddof > 0 else div(out, 0.0)
    record_op(out._node, [x], "VarBackward")
    return out


def _extremum(op: str, x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    axes = _axes(x, axis, op)
    if any(a < x.ndim and x.shape[a] == 0 for a in axes):
        raise ShapeError(
            f"{op}: cannot reduce over an empty axis (shape {x.shape}, axis {axis}): "
            "the maximum of nothing is undefined"
        )
    return wrap(B.make(op, (x._node,), axes=axes, keepdims=bool(keepdims)), [x])


@user_op("max")
def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extremum("max", x, axis, keepdims)


@user_op("min")
def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extremum("min", x, axis, keepdims)


@user_op("argmax")
def argmax(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    ax = None if axis is None else normalize_axis(axis, x.ndim, "argmax", x.shape)
    if (ax is None and x.size == 0) or (ax is not None and x.ndim and x.shape[ax] == 0):
        raise ShapeError(f"argmax: cannot take the argmax over an empty axis (shape {x.shape})")
    return wrap(B.make("argmax", (x._node,), axis=ax, keepdims=bool(keepdims)), [x])


# ---------------------------------------------------------------- activations
@user_op("softmax")
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x - max) / sum(exp(x - max))`` along ``dim``: the book's max-subtracted form,
    written as graph ops so it differentiates and fuses (``softmax([1000, 1001, 1002])``
    is ``softmax([0, 1, 2])``, no overflow)."""
    axis = normalize_axis(dim, x.ndim, "softmax", x.shape)
    source = x
    x = astype(x, DEFAULT_FLOAT) if not is_float(x.dtype) else x
    shifted = sub(x, _detached(max(x, axis, keepdims=True)))
    e = exp(shifted)
    out = div(e, sum(e, axis, keepdims=True))
    record_op(out._node, [source], "SoftmaxBackward")
    return out


def _detached(t: Tensor) -> Tensor:
    """The max subtracted in softmax is a constant shift: its gradient contribution is zero,
    so the book builds it with ``requires_grad=False``. Cutting it keeps backward smaller."""
    t._node.meta["requires_grad"] = False
    return t


# The shape ops live in their own file; ``F.reshape`` and friends are those.
from tinytorch.frontend.shape_ops import (  # noqa: E402, F401
    concat,
    expand,
    flatten,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
