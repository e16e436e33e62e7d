"""Elementwise ops: one output element from the same position of each input.

These are what the fusion pass chains into single kernels. Their VJPs are written in the
same ops, so the backward graph fuses just like the forward one. The NumPy kernels here are
the reference; a backend that compiles kernels keeps its own per-op lowering, keyed by the
names registered here.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.ir import build as B
from tinytorch.ir.dtypes import is_float
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.ops._rules import binary_same, check_dtype, unary_float, unary_same
from tinytorch.ir.registry import OpDef, default_cost, register

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_COEF = 0.044715
GELU_GRAD_LIMIT = 20.0


def _unary(name, kernel, vjp, infer=None, flops=1, grad_name=None, doc=""):
    register(
        OpDef(
            name=name,
            kind="elementwise",
            arity=1,
            infer=infer or unary_float(name),
            numpy=kernel,
            vjp=vjp,
            cost=default_cost(flops),
            grad_name=grad_name,
            doc=doc,
        )
    )


def _binary(name, kernel, vjp, out_dtype=None, flops=1, grad_name=None):
    register(
        OpDef(
            name=name,
            kind="elementwise",
            arity=2,
            infer=binary_same(name, out_dtype),
            numpy=kernel,
            vjp=vjp,
            differentiable=vjp is not None,
            cost=default_cost(flops),
            grad_name=grad_name,
        )
    )


# ------------------------------------------------------------------------ unary
def _sigmoid_kernel(node, x):
    """The book's stable two-branch sigmoid: never exponentiates a large positive number.

    ``exp(-|x|)`` can only underflow (to 0, giving exactly 0 or 1), never overflow, so no
    clipping is needed; clipping would turn sigmoid(-1000) in float64 into e^-500 != 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(node.dtype, copy=False)


def _gelu_kernel(node, x):
    inner = SQRT_2_OVER_PI * (x + GELU_COEF * x * x * x)
    return (0.5 * x * (1.0 + np.tanh(inner))).astype(node.dtype, copy=False)


def _gelu_vjp(node, g):
    """d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + t) + 0.5 x (1 - t^2) u',
    with u = sqrt(2/pi)(x + 0.044715 x^3) and u' = sqrt(2/pi)(1 + 3 * 0.044715 x^2)."""
    # Past |x| = 20, tanh(u) is exactly +-1 and the derivative exactly 1 or 0; clipping x
    # there keeps x^2 and x^3 from overflowing into 0 * inf = NaN for huge inputs.
    x = B.make("clip", node.inputs, lo=-GELU_GRAD_LIMIT, hi=GELU_GRAD_LIMIT)
    x2 = B.mul(x, x)
    u = B.scale(B.add(x, B.scale(B.mul(x2, x), GELU_COEF)), SQRT_2_OVER_PI)
    t = B.make("tanh", (u,))
    du = B.scale(B.add(B.full_like(x, 1.0), B.scale(x2, 3 * GELU_COEF)), SQRT_2_OVER_PI)
    one_minus_t2 = B.sub(B.full_like(x, 1.0), B.mul(t, t))
    left = B.scale(B.add(B.full_like(x, 1.0), t), 0.5)
    right = B.mul(B.scale(x, 0.5), B.mul(one_minus_t2, du))
    return (B.mul(g, B.add(left, right)),)


def _abs_vjp(node, g):
    (x,) = node.inputs
    zero = B.full_like(x, 0)
    return (
        B.where(
            B.make("gt", (x, zero)),
            g,
            B.where(B.make("lt", (x, zero)), B.neg(g), B.full_like(g, 0)),
        ),
    )


_unary("neg", lambda n, x: np.negative(x), lambda n, g: (B.neg(g),), infer=unary_same("neg"))
_unary("exp", lambda n, x: np.exp(x), lambda n, g: (B.mul(g, n),), flops=8)
_unary("log", lambda n, x: np.log(x), lambda n, g: (B.div(g, n.inputs[0]),), flops=8)
_unary("sqrt", lambda n, x: np.sqrt(x), lambda n, g: (B.div(g, B.scale(n, 2.0)),), flops=4)
_unary(
    "tanh",
    lambda n, x: np.tanh(x),
    lambda n, g: (B.mul(g, B.sub(B.full_like(n, 1.0), B.mul(n, n))),),
    flops=10,
)
_unary(
    "sigmoid",
    _sigmoid_kernel,
    lambda n, g: (B.mul(g, B.mul(n, B.sub(B.full_like(n, 1.0), n))),),
    flops=10,
    grad_name="SigmoidBackward",
)
_unary(
    "relu",
    lambda n, x: np.maximum(x, 0).astype(n.dtype, copy=False),
    lambda n, g: (B.where(B.make("gt", (n.inputs[0], B.full_like(n, 0))), g, B.full_like(g, 0)),),
    infer=unary_same("relu"),
    grad_name="ReLUBackward",
)
_unary(
    "gelu",
    _gelu_kernel,
    _gelu_vjp,
    flops=16,
    grad_name="GELUBackward",
    doc="GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))).",
)
_unary("abs", lambda n, x: np.abs(x), _abs_vjp, infer=unary_same("abs"))


# ----------------------------------------------------------------------- binary
def _div_vjp(node, g):
    a, b = node.inputs
    return B.div(g, b), B.neg(B.div(B.mul(g, a), B.mul(b, b)))


def _const_value(node):
    """The value of a ``const`` node, or ``None`` for any other node."""
    return node.attrs["value"] if node.op == "const" else None


def _pow_vjp(node, g):
    """d(a^b)/da = b a^(b-1) and d(a^b)/db = a^b log a, with PyTorch's conventions where the
    formulas would give 0 * inf = NaN: ``a`` gets no gradient where ``b == 0`` (``x**0`` is
    constant) and ``b`` none where ``a == 0`` and ``b >= 0``. A constant exponent (``x**2``)
    gets no gradient at all, and needs no mask."""
    a, b = node.inputs
    zero = B.full_like(g, 0)
    b_value = _const_value(b)
    if b_value is not None and b_value == 0:
        ga = zero
    else:
        ga = B.mul(g, B.mul(b, B.make("pow", (a, B.sub(b, B.full_like(b, 1))))))
        if b_value is None:
            ga = B.where(B.make("eq", (b, B.full_like(b, 0))), zero, ga)
    gb = None
    if is_float(b.dtype) and b_value is None:
        gb = B.mul(g, B.mul(node, B.make("log", (a,))))
        a_value = _const_value(a)
        if a_value is None or a_value == 0:
            b_nonneg = B.make("ge", (b, B.full_like(b, 0)))
            a_zero = B.make("eq", (a, B.full_like(a, 0)))
            gb = B.where(a_zero, B.where(b_nonneg, zero, gb), gb)
    return ga, gb


def _minmax_vjp(first_wins: str):
    """The larger (for maximum) input takes the gradient; ties split it evenly (as PyTorch)."""

    def vjp(node, g):
        a, b = node.inputs
        zero, half = B.full_like(g, 0), B.scale(g, 0.5)
        tie = B.make("eq", (a, b))
        a_wins = B.make(first_wins, (a, b))
        b_wins = B.make(first_wins, (b, a))
        return (
            B.where(a_wins, g, B.where(tie, half, zero)),
            B.where(b_wins, g, B.where(tie, half, zero)),
        )

    return vjp


_binary("add", lambda n, a, b: np.add(a, b), lambda n, g: (g, g))
_binary("sub", lambda n, a, b: np.subtract(a, b), lambda n, g: (g, B.neg(g)))
_binary(
    "mul",
    lambda n, a, b: np.multiply(a, b),
    lambda n, g: (B.mul(g, n.inputs[1]), B.mul(g, n.inputs[0])),
)
_binary("div", lambda n, a, b: np.true_divide(a, b).astype(n.dtype, copy=False), _div_vjp)
_binary("pow", lambda n, a, b: np.power(a, b), _pow_vjp, flops=8)


def _ieee_zeros(out: np.ndarray, a: np.ndarray, b: np.ndarray, negative_wins: bool):
    """``maximum``/``minimum`` of floats as IEEE 754-2019 defines them, which order -0 below
    +0: ``maximum(0.0, -0.0)`` is +0 and ``minimum(0.0, -0.0)`` is -0 in either order (the
    llvm backend's ``llvm.maximum``/``llvm.minimum`` do this). NumPy's ufuncs return
    whichever zero their SIMD loop picks (the second operand) and PyTorch the first, so
    ``1 / maximum(x, y)`` could be +inf on one backend and -inf on the other. NaN still
    wins. A zero result's sign is decided here: for ``maximum``, -0 only when both operands
    are negative (the zero's own sign when the other is below it); for ``minimum``, -0 when
    either is."""
    if out.dtype.kind != "f":
        return out
    zero = out == 0
    if not np.any(zero):
        return out
    sa, sb = np.signbit(a), np.signbit(b)
    negative = (sa | sb) if negative_wins else (sa & sb)
    return np.where(zero, np.where(negative, -0.0, 0.0), out).astype(out.dtype, copy=False)


_binary(
    "maximum",
    lambda n, a, b: _ieee_zeros(np.asarray(np.maximum(a, b)), a, b, negative_wins=False),
    _minmax_vjp("gt"),
)
_binary(
    "minimum",
    lambda n, a, b: _ieee_zeros(np.asarray(np.minimum(a, b)), a, b, negative_wins=True),
    _minmax_vjp("lt"),
)
for _name, _fn in (
    ("lt", np.less),
    ("le", np.less_equal),
    ("gt", np.greater),
    ("ge", np.greater_equal),
    ("eq", np.equal),
    ("ne", np.not_equal),
):
    _binary(_name, (lambda f: lambda n, a, b: f(a, b))(_fn), None, out_dtype="bool")


# ---------------------------------------------------------------------- others
def _where_infer(shapes, dtypes, attrs):
    if dtypes[0] != "bool":
        raise DTypeError(f"where: condition must be bool, got {dtypes[0]}")
    binary_same("where")(shapes[1:], dtypes[1:], attrs)
    if shapes[0] != shapes[1]:
        raise ShapeError(f"where: condition shape {shapes[0]} differs from {shapes[1]}")
    return shapes[1], dtypes[1]


def _where_vjp(node, g):
    cond = node.inputs[0]
    zero = B.full_like(g, 0)
    return None, B.where(cond, g, zero), B.where(cond, zero, g)


register(
    OpDef(
        name="where",
        kind="elementwise",
        arity=3,
        infer=_where_infer,
        numpy=lambda n, c, a, b: np.where(c, a, b),
        vjp=_where_vjp,
    )
)


def _clip_kernel(node, x):
    return np.clip(x, node.attrs["lo"], node.attrs["hi"]).astype(node.dtype, copy=False)


def _clip_vjp(node, g):
    """Gradient passes where ``lo <= x <= hi`` (boundaries included, as in PyTorch)."""
    (x,) = node.inputs
    keep = B.const(True, x.shape, "bool")
    lo, hi = node.attrs["lo"], node.attrs["hi"]
    if lo is not None:
        keep = B.make("ge", (x, B.full_like(x, lo)))
    if hi is not None:
        inside = B.make("le", (x, B.full_like(x, hi)))
        keep = inside if lo is None else B.where(keep, inside, B.full_like(inside, False))
    return (B.where(keep, g, B.full_like(g, 0)),)


register(
    OpDef(
        name="clip",
        kind="elementwise",
        arity=1,
        infer=unary_same("clip"),
        numpy=_clip_kernel,
        vjp=_clip_vjp,
    )
)


def _cast_infer(shapes, dtypes, attrs):
    return shapes[0], check_dtype("cast", attrs["dtype"])


def _cast_vjp(node, g):
    src_dtype = node.inputs[0].dtype
    return (B.cast(g, src_dtype) if is_float(src_dtype) else None,)


register(
    OpDef(
        name="cast",
        kind="elementwise",
        arity=1,
        infer=_cast_infer,
        numpy=lambda n, x: x.astype(n.dtype),
        vjp=_cast_vjp,
    )
)
