"""Algebraic simplification: rewrite patterns that do no real work into what they compute.

Programs (and, even more, the gradient graphs autograd writes) are full of steps that change
nothing: multiplying by one, adding zero, a reshape to the shape a tensor already has, two
transposes that cancel. Each rule below looks at one node, whose inputs were already
simplified, and returns a simpler node that computes exactly the same values, or nothing:

    x * 1, 1 * x          -> x
    x + 0, 0 + x, x - 0   -> x         (floats: see "signed zeros" below)
    x / 1                 -> x
    neg(neg(x))           -> x
    x - x                 -> 0         (integers; floats only when assume_finite)
    x * 0, 0 * x          -> 0         (integers; floats only when assume_finite)
    permute(permute(x))   -> one permute, or x when the two cancel
    reshape(reshape(x))   -> reshape(x)
    reshape or expand to x's own shape, cast to x's own dtype, a slice of all of x -> x

The rules run under the shared rewrite driver (:mod:`tinytorch.passes.rewrite`): a
replacement always has the shape and dtype of the node it replaces (the driver refuses it
otherwise), and effectful nodes are never touched. Replacing a node by an existing one
(``x``) leaves the bypassed nodes dead; the DCE pass removes them.

Why floats need care. IEEE floats have inf, NaN and a signed zero, and some "obvious"
identities fail on them:

* ``x - x`` is NaN, not 0, when x is inf or NaN (inf - inf); ``x * 0`` is NaN when x is inf or
  NaN, and -0.0 when x is negative. So for floats these two rules wait for the caller's
  promise, ``assume_finite=True``: no inf or NaN, and the sign of a zero does not matter (what
  C compilers call fast math). For integers they always hold.
* ``-0.0 + 0.0`` is ``+0.0``, so ``x + 0.0`` is not x when x is -0.0 (and ``1 / x`` would flip
  from -inf to +inf). Adding ``-0.0`` is exact for every x, as is subtracting ``+0.0``, so for
  floats those fire always and the other-signed zeros only when ``assume_finite``.

The rules run over the graph repeatedly until a sweep changes nothing (a fixed point), capped
at :attr:`AlgebraicSimplification.MAX_SWEEPS` sweeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import FLOAT_DTYPES, Node
from tinytorch.passes.base import Pass
from tinytorch.passes.rewrite import rewrite_nodes

# simplify_<op>(node, its simplified inputs, assume_finite) -> replacement or None
OpRule = Callable[[Node, tuple[Node, ...], bool], Node | None]


# --------------------------------------------------------------------------- pattern helpers
def is_const(node: Node, value: float) -> bool:
    """A ``const`` node holding ``value`` (``0`` matches both 0.0 and -0.0)."""
    return node.op == "const" and node.attrs["value"] == value


def is_negative_zero(node: Node) -> bool:
    """A ``const`` node holding a zero with its sign bit set: -0.0."""
    return is_const(node, 0) and math.copysign(1.0, node.attrs["value"]) < 0


def is_exact(dtype: str, assume_finite: bool) -> bool:
    """Integers and bools have no inf, NaN or -0.0: every identity holds for them. Floats
    only behave that way when the caller promises it."""
    return dtype not in FLOAT_DTYPES or assume_finite


# ------------------------------------------------------------------------------- the rules
def simplify_mul(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    for x, c in (inputs, inputs[::-1]):
        if is_const(c, 1):
            return x  # x * 1 -> x
        if is_const(c, 0) and is_exact(node.dtype, assume_finite):
            return c  # x * 0 -> the zero itself (it has x's shape and dtype)
    return None


def simplify_add(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    for x, c in (inputs, inputs[::-1]):
        if is_const(c, 0) and (is_negative_zero(c) or is_exact(node.dtype, assume_finite)):
            return x  # x + 0 -> x
    return None


def simplify_sub(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    if node.dtype == "bool":
        return None  # NumPy refuses to subtract bools; keep the error where it was
    x, c = inputs
    if is_const(c, 0) and (not is_negative_zero(c) or is_exact(node.dtype, assume_finite)):
        return x  # x - 0 -> x
    if x is c and is_exact(node.dtype, assume_finite):
        zero = np.zeros((), node.dtype).item()  # 0.0 for floats, 0 for integers
        return make("const", (), src=node.src, value=zero, shape=node.shape, dtype=node.dtype)
    return None


def simplify_div(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    x, c = inputs
    # Integer division goes through float64, which rounds int64 values beyond 2**53: the
    # original x / 1 is not always x there, so leave it.
    if is_const(c, 1) and node.dtype != "int64":
        return x  # x / 1 -> x
    return None


def simplify_neg(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    return x.inputs[0] if x.op == "neg" else None  # neg(neg(y)) -> y


def simplify_permute(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    perm = node.attrs["perm"]
    if x.op == "permute":
        # Output axis i is x's axis perm[i], which is the original's axis inner[perm[i]].
        inner = x.attrs["perm"]
        x, perm = x.inputs[0], tuple(inner[p] for p in perm)
    if perm == tuple(range(len(perm))):
        return x  # the permutations cancel (or this one moves nothing)
    if x is inputs[0]:
        return None
    return make("permute", (x,), src=node.src, perm=perm)


def simplify_reshape(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    if x.op == "reshape":
        x = x.inputs[0]  # only the last reshape's shape matters
    if x.shape == node.shape:
        return x
    if x is inputs[0]:
        return None
    return make("reshape", (x,), src=node.src, shape=node.shape)


def simplify_expand(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    return x if x.shape == node.shape else None


def simplify_cast(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    return x if x.dtype == node.dtype else None


def simplify_slice(node: Node, inputs: tuple[Node, ...], assume_finite: bool) -> Node | None:
    (x,) = inputs
    starts, steps = node.attrs["starts"], node.attrs["steps"]
    whole = all(s == 0 for s in starts) and all(s == 1 for s in steps)
    return x if whole and node.shape == x.shape else None


RULES: dict[str, OpRule] = {
    "mul": simplify_mul,
    "add": simplify_add,
    "sub": simplify_sub,
    "div": simplify_div,
    "neg": simplify_neg,
    "permute": simplify_permute,
    "reshape": simplify_reshape,
    "expand": simplify_expand,
    "cast": simplify_cast,
    "slice": simplify_slice,
}


# ---------------------------------------------------------------------------------- the pass
class AlgebraicSimplification(Pass):
    """Apply the rules above until nothing changes. ``assume_finite=True`` also allows the
    float rules that are only true without inf, NaN and signed zeros."""

    name = "algebraic_simplification"
    MAX_SWEEPS = 32

    def __init__(self, assume_finite: bool = False) -> None:
        self.assume_finite = assume_finite

    def config(self) -> tuple:
        return (self.assume_finite,)

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        changed = False
        for _ in range(self.MAX_SWEEPS):
            graph, swept = self.sweep(graph)
            if not swept:
                break
            changed = True
        return graph, changed

    def sweep(self, graph: Graph) -> tuple[Graph, bool]:
        """One walk over the graph, applying the rule for each node's op."""
        return rewrite_nodes(graph, self.simplify)

    def simplify(self, node: Node, inputs: tuple[Node, ...]) -> Node | None:
        rule = RULES.get(node.op)
        return None if rule is None else rule(node, inputs, self.assume_finite)
