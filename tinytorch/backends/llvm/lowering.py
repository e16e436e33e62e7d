"""The LLVM lowering table: how each op computes one element inside a compiled kernel.

The code generator (:mod:`~tinytorch.backends.llvm.codegen`) builds the loops, computes
addresses, loads the inputs and stores the result; for the arithmetic in the middle it looks
the op up here, by the name the op is registered under in the IR:

* :data:`EMITTERS` — an elementwise op: ``emit(cg, node, *values) -> value``, where ``values``
  are the op's inputs at the current index, already loaded into registers;
* :data:`REDUCERS` — a reduction: the accumulator's starting value, and how one more element
  is combined into it.

``cg`` is the kernel being built; emitters use two of its attributes: ``cg.b``, the llvmlite
``IRBuilder`` positioned in the loop body, and ``cg.math``, the kernel's
:class:`~tinytorch.backends.llvm.mathlib.MathLib` (vectorizable ``exp``, ``log``, ``tanh``).

An op with no entry here is not compiled: a group containing it runs on NumPy, and the fusion
report says why (``op 'tanh' has no LLVM emitter``). An emitter may also refuse a case it
cannot lower (integer ``pow``, integer division) by raising
:class:`~tinytorch.backends.llvm.lltypes.Unsupported`, with the same effect.

Every emitter follows NumPy's semantics for its dtype, including NaN: ``maximum`` returns NaN
when either input is NaN, ``ne`` is true for NaN, ``relu(NaN)`` is NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llvmlite import ir

from tinytorch.backends.llvm.lltypes import Unsupported, const, convert, register_type
from tinytorch.ir.dtypes import is_bool, is_float
from tinytorch.ir.node import Node

Emitter = Callable[..., ir.Value]  # (cg, node, *values) -> value


def _intrinsic(cg, name: str, value: ir.Value, nargs: int = 1) -> ir.Function:
    return cg.math.intrinsic(name, value.type, nargs)


# ------------------------------------------------------------------ arithmetic
def arith(cg, op: str, a, c, dtype: str):
    b = cg.b
    if is_float(dtype):
        return {"add": b.fadd, "sub": b.fsub, "mul": b.fmul, "div": b.fdiv}[op](a, c)
    if op == "div" or is_bool(dtype):
        raise Unsupported(f"{op} on {dtype}")
    return {"add": b.add, "sub": b.sub, "mul": b.mul}[op](a, c)


def neg(cg, a, dtype: str):
    return cg.b.fneg(a) if is_float(dtype) else cg.b.neg(a)


def extremum(cg, op: str, a, c, dtype: str):
    """``maximum``/``minimum`` (``op`` is ``"max"`` or ``"min"``); NaN wins, as in NumPy."""
    b = cg.b
    if is_float(dtype):
        name = "llvm.maximum" if op == "max" else "llvm.minimum"
        return b.call(_intrinsic(cg, name, a, 2), [a, c])
    if is_bool(dtype):  # a signed i1 reads true as -1: the max of bools is "or"
        return b.or_(a, c) if op == "max" else b.and_(a, c)
    cmp = b.icmp_signed(">" if op == "max" else "<", a, c)
    return b.select(cmp, a, c)


_COMPARISONS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def compare(cg, op: str, a, c, dtype: str):
    """A comparison op (``lt``, ``eq``...) of two values of ``dtype``; the result is an i1."""
    b = cg.b
    sym = _COMPARISONS[op]
    if is_float(dtype):
        if op == "ne":  # NaN != anything is true
            return b.fcmp_unordered("!=", a, c)
        return b.fcmp_ordered(sym, a, c)
    if is_bool(dtype):
        return b.icmp_unsigned(sym, a, c)
    return b.icmp_signed(sym, a, c)


def relu(cg, x, dtype: str):
    b = cg.b
    if is_float(dtype):  # NaN stays NaN, as np.maximum(x, 0) does
        keep = b.fcmp_unordered(">", x, ir.Constant(x.type, 0.0))
        return b.select(keep, x, ir.Constant(x.type, 0.0))
    return b.select(b.icmp_signed(">", x, ir.Constant(x.type, 0)), x, ir.Constant(x.type, 0))


def fabs(cg, x, dtype: str):
    b = cg.b
    if is_float(dtype):
        return b.call(_intrinsic(cg, "llvm.fabs", x), [x])
    return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.neg(x), x)


def sqrt(cg, x):
    return cg.b.call(_intrinsic(cg, "llvm.sqrt", x), [x])


def power(cg, node: Node, a, c):
    """``a ** c``; a constant exponent of 2, 3, 0.5, 1 or -1 becomes arithmetic."""
    if not is_float(node.dtype):
        raise Unsupported("integer pow")
    b = cg.b
    exponent = node.inputs[1]
    if exponent.op == "const":
        e = exponent.attrs["value"]
        if e == 2:
            return b.fmul(a, a)
        if e == 3:
            return b.fmul(b.fmul(a, a), a)
        if e == 1:
            return a
        if e == 0.5:
            return sqrt(cg, a)
        if e == -1:
            return b.fdiv(ir.Constant(a.type, 1.0), a)
    return b.call(_intrinsic(cg, "llvm.pow", a, 2), [a, c])


def clip(cg, node: Node, x):
    lo, hi = node.attrs["lo"], node.attrs["hi"]
    if lo is not None:
        x = extremum(cg, "max", x, const(lo, node.dtype), node.dtype)
    if hi is not None:
        x = extremum(cg, "min", x, const(hi, node.dtype), node.dtype)
    return x


def gelu(cg, x):
    """0.5·x·(1 + tanh u) written as x / (1 + e^(-2u)): the same function (tanh u =
    2σ(2u) - 1), one exp and one division instead of exp, a polynomial and two
    branches, and no cancellation near 0. u = √(2/π)·(x + 0.044715·x³)."""
    b = cg.b
    c = lambda v: ir.Constant(x.type, v)  # noqa: E731
    x3 = b.fmul(b.fmul(x, x), x)
    minus_2u = b.fmul(c(-2 * 0.7978845608028654), b.fadd(x, b.fmul(c(0.044715), x3)))
    return b.fdiv(x, b.fadd(c(1.0), cg.math.exp(minus_2u)))


def quantize(cg, node: Node, x, scale, zero):
    """int8 ``clip(round(x / scale + zero), -128, 127)``; ``round`` is half-to-even
    (``llvm.roundeven``), as NumPy's. The clip happens in float, then one conversion."""
    b, dtype = cg.b, node.inputs[0].dtype
    scale = convert(b, scale, "float32", dtype)
    v = b.fadd(b.fdiv(x, scale), convert(b, zero, "int32", dtype))
    v = b.call(_intrinsic(cg, "llvm.roundeven", v), [v])
    v = b.call(_intrinsic(cg, "llvm.maxnum", v, 2), [v, ir.Constant(v.type, -128.0)])
    v = b.call(_intrinsic(cg, "llvm.minnum", v, 2), [v, ir.Constant(v.type, 127.0)])
    return b.fptosi(v, register_type("int8"))


def dequantize(cg, q, scale, zero):
    """float32 ``(q - zero) * scale``."""
    b = cg.b
    diff = b.fsub(convert(b, q, "int8", "float32"), convert(b, zero, "int32", "float32"))
    return b.fmul(diff, scale)


# ------------------------------------------------------------ the elementwise table
def _compare_emitter(op: str) -> Emitter:
    return lambda cg, n, a, b: compare(cg, op, a, b, n.inputs[0].dtype)


EMITTERS: dict[str, Emitter] = {
    "neg": lambda cg, n, x: neg(cg, x, n.dtype),
    "exp": lambda cg, n, x: cg.math.exp(x),
    "log": lambda cg, n, x: cg.math.log(x),
    "sqrt": lambda cg, n, x: sqrt(cg, x),
    "tanh": lambda cg, n, x: cg.math.tanh(x),
    "sigmoid": lambda cg, n, x: cg.math.sigmoid(x),
    "relu": lambda cg, n, x: relu(cg, x, n.dtype),
    "gelu": lambda cg, n, x: gelu(cg, x),
    "abs": lambda cg, n, x: fabs(cg, x, n.dtype),
    "add": lambda cg, n, a, b: arith(cg, "add", a, b, n.dtype),
    "sub": lambda cg, n, a, b: arith(cg, "sub", a, b, n.dtype),
    "mul": lambda cg, n, a, b: arith(cg, "mul", a, b, n.dtype),
    "div": lambda cg, n, a, b: arith(cg, "div", a, b, n.dtype),
    "pow": lambda cg, n, a, b: power(cg, n, a, b),
    "maximum": lambda cg, n, a, b: extremum(cg, "max", a, b, n.dtype),
    "minimum": lambda cg, n, a, b: extremum(cg, "min", a, b, n.dtype),
    **{op: _compare_emitter(op) for op in _COMPARISONS},
    "where": lambda cg, n, c, a, b: cg.b.select(c, a, b),
    "clip": lambda cg, n, x: clip(cg, n, x),
    "cast": lambda cg, n, x: convert(cg.b, x, n.inputs[0].dtype, n.dtype),
    "quantize": lambda cg, n, x, s, z: quantize(cg, n, x, s, z),
    "dequantize": lambda cg, n, q, s, z: dequantize(cg, q, s, z),
}


# -------------------------------------------------------------- the reduction table
@dataclass(frozen=True)
class Reducer:
    """How a kernel computes one reduction: ``acc = identity(dtype)``, then for every
    element ``acc = combine(cg, acc, value, dtype)``."""

    identity: Callable[[str], ir.Constant]
    combine: Callable[..., ir.Value]


def _sum_combine(cg, acc, v, dtype: str):
    if is_float(dtype):
        out = cg.b.fadd(acc, v)
        out.flags.append("reassoc")  # lets the vectorizer split the sum into lanes
        return out
    return cg.b.add(acc, v)


def _extremum_identity(op: str) -> Callable[[str], ir.Constant]:
    """The value every element beats: -inf for a float max, the lowest integer..."""

    def identity(dtype: str) -> ir.Constant:
        if is_float(dtype):
            return const(float("-inf") if op == "max" else float("inf"), dtype)
        if is_bool(dtype):  # the identity of "or" is False, of "and" True
            return const(op == "min", dtype)
        bits = register_type(dtype).width
        lowest, highest = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        return ir.Constant(register_type(dtype), lowest if op == "max" else highest)

    return identity


REDUCERS: dict[str, Reducer] = {
    "sum": Reducer(lambda dtype: const(0, dtype), _sum_combine),
    "max": Reducer(_extremum_identity("max"),
                   lambda cg, acc, v, dtype: extremum(cg, "max", acc, v, dtype)),
    "min": Reducer(_extremum_identity("min"),
                   lambda cg, acc, v, dtype: extremum(cg, "min", acc, v, dtype)),
}  # fmt: skip
