"""Algebraic simplification: steps that change nothing are replaced by what they compute."""

from __future__ import annotations

from textwrap import dedent

import numpy as np
import pytest

from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.passes import algebraic
from tinytorch.passes.algebraic import AlgebraicSimplification
from tinytorch.passes.verify import verify


def test_identities_golden(inp, text, check_pass):
    """``neg(neg(x * 1))`` is x, two reshapes are one, two cancelling transposes are none.
    The bypassed nodes stay behind, dead, for DCE to remove."""
    x = inp(0, (2, 3))
    y = B.neg(B.neg(B.mul(x, B.const(1.0, (2, 3)))))
    flat = make("reshape", (make("reshape", (y,), shape=(3, 2)),), shape=(6,))
    back = make("permute", (make("permute", (x,), perm=(1, 0)),), perm=(1, 0))
    g = Graph([x], [flat, back])
    assert text(g) == dedent("""\
        graph(%0: float32[2,3]) {
          %1 = const(value=1.0) : float32[2,3]
          %2 = mul(%0, %1) : float32[2,3]
          %3 = neg(%2) : float32[2,3]
          %4 = neg(%3) : float32[2,3]
          %5 = reshape(%4, shape=(3, 2)) : float32[3,2]
          %6 = reshape(%5, shape=(6,)) : float32[6]
          %7 = permute(%0, perm=(1, 0)) : float32[3,2]
          %8 = permute(%7, perm=(1, 0)) : float32[2,3]
          return %6, %8
        }
    """)
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,3]) {
          %1 = const(value=1.0) : float32[2,3]
          %2 = neg(%0) : float32[2,3]
          %3 = reshape(%0, shape=(3, 2)) : float32[3,2]
          %4 = reshape(%0, shape=(6,)) : float32[6]
          %5 = permute(%0, perm=(1, 0)) : float32[3,2]
          return %4, %0
        }
    """)


def test_two_permutes_compose_into_one(inp, text, check_pass):
    """Rotating the axes of a 3-D tensor twice is one rotation: ``perm=(2, 0, 1)``."""
    x = inp(0, (2, 3, 4))
    g = Graph([x], [make("permute", (make("permute", (x,), perm=(1, 2, 0)),), perm=(1, 2, 0))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,3,4]) {
          %1 = permute(%0, perm=(1, 2, 0)) : float32[3,4,2]
          %2 = permute(%0, perm=(2, 0, 1)) : float32[4,2,3]
          return %2
        }
    """)


def test_integer_x_minus_x_is_zero(inp, text, check_pass):
    """Integers have no inf or NaN, so ``x - x`` is always 0 and ``x * 0`` always 0."""
    x = inp(0, (3,), "int32")
    g = Graph([x], [B.sub(x, x), B.mul(x, B.const(0, (3,), "int32"))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: int32[3]) {
          %1 = const(value=0) : int32[3]
          %2 = const(value=0) : int32[3]
          return %1, %2
        }
    """)


# Each builder writes, around a float32[2,3] input x, something that is exactly x.
IS_X = {
    "x * 1": lambda x: B.mul(x, B.full_like(x, 1.0)),
    "1 * x": lambda x: B.mul(B.full_like(x, 1.0), x),
    "x + -0.0": lambda x: B.add(x, B.full_like(x, -0.0)),
    "-0.0 + x": lambda x: B.add(B.full_like(x, -0.0), x),
    "x - 0.0": lambda x: B.sub(x, B.full_like(x, 0.0)),
    "x / 1": lambda x: B.div(x, B.full_like(x, 1.0)),
    "neg(neg(x))": lambda x: B.neg(B.neg(x)),
    "transpose twice": lambda x: make(
        "permute", (make("permute", (x,), perm=(1, 0)),), perm=(1, 0)
    ),
    "permute moving nothing": lambda x: make("permute", (x,), perm=(0, 1)),
    "reshape and back": lambda x: make(
        "reshape", (make("reshape", (x,), shape=(6,)),), shape=(2, 3)
    ),
    "reshape to own shape": lambda x: make("reshape", (x,), shape=(2, 3)),
    "expand to own shape": lambda x: make("expand", (x,), shape=(2, 3)),
    "cast to own dtype": lambda x: make("cast", (x,), dtype="float32"),
    "slice of everything": lambda x: make("slice", (x,), starts=(0, 0), stops=(2, 3), steps=(1, 1)),
    "a chain of them": lambda x: B.mul(
        B.neg(B.neg(make("cast", (x,), dtype="float32"))), B.full_like(x, 1.0)
    ),
}


@pytest.mark.parametrize("pattern", IS_X)
def test_pattern_simplifies_to_x(pattern, inp, check_pass):
    """Each pattern in IS_X becomes x itself, and the graph's output now names x."""
    x = inp(0, (2, 3))
    new, changed = check_pass(AlgebraicSimplification(), Graph([x], [IS_X[pattern](x)]))
    assert changed
    assert new.outputs[0] is x


@pytest.mark.parametrize("pattern", ["x + 0", "0 + x", "x - 0", "x * 1", "x / 1"])
def test_integer_identities(pattern, inp, check_pass):
    """The same identities hold on integers, where every zero is just zero."""
    x = inp(0, (4,), "int32")
    c = B.const(0 if "0" in pattern else 1, (4,), "int32")
    a, b = (c, x) if pattern.startswith("0") else (x, c)
    op = {"+": "add", "-": "sub", "*": "mul", "/": "div"}[pattern.split()[1]]
    new, changed = check_pass(AlgebraicSimplification(), Graph([x], [make(op, (a, b))]))
    assert changed
    assert new.outputs[0] is x


# Each builder writes, around a float32[2,3] input x, something that is NOT always x (or 0).
NOT_SIMPLIFIED = {
    "x - x (inf - inf is NaN)": lambda x: B.sub(x, x),
    "x * 0 (inf * 0 is NaN)": lambda x: B.mul(x, B.full_like(x, 0.0)),
    "0 * x": lambda x: B.mul(B.full_like(x, 0.0), x),
    "x + 0.0 (-0.0 + 0.0 is +0.0)": lambda x: B.add(x, B.full_like(x, 0.0)),
    "0.0 + x": lambda x: B.add(B.full_like(x, 0.0), x),
    "x - -0.0": lambda x: B.sub(x, B.full_like(x, -0.0)),
    "x * 2": lambda x: B.mul(x, B.full_like(x, 2.0)),
    "transpose": lambda x: make("permute", (x,), perm=(1, 0)),
    "one reshape": lambda x: make("reshape", (x,), shape=(3, 2)),
    "expand that broadcasts": lambda x: make("expand", (x,), shape=(4, 2, 3)),
    "cast to float64": lambda x: make("cast", (x,), dtype="float64"),
    "slice with step 2": lambda x: make("slice", (x,), starts=(0, 0), stops=(2, 3), steps=(1, 2)),
    "slice of a part": lambda x: make("slice", (x,), starts=(1, 0), stops=(2, 3), steps=(1, 1)),
    "reversing slice": lambda x: make("slice", (x,), starts=(1, 2), stops=(-1, -1), steps=(-1, -1)),
}


@pytest.mark.parametrize("pattern", NOT_SIMPLIFIED)
def test_pattern_is_left_alone(pattern, inp, check_pass):
    """Patterns that only look like identities on floats (or are not identities at all)
    are kept, and the pass reports that nothing changed."""
    x = inp(0, (2, 3))
    g = Graph([x], [NOT_SIMPLIFIED[pattern](x)])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert not changed
    assert new is g


def test_int64_division_by_one_is_kept(inp, check_pass):
    """Integer division runs through float64, which rounds int64 values beyond 2**53, so
    ``x / 1`` is not exactly x on int64."""
    x = inp(0, (2,), "int64")
    g = Graph([x], [B.div(x, B.const(1, (2,), "int64"))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert not changed


def test_reshape_of_reshape_keeps_the_final_shape(inp, text, check_pass):
    """Two reshapes to a *new* shape become one reshape, not x: the shape must not change."""
    x = inp(0, (2, 3))
    g = Graph([x], [make("reshape", (make("reshape", (x,), shape=(6,)),), shape=(3, 2))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert changed
    assert text(new).splitlines()[2] == "  %2 = reshape(%0, shape=(3, 2)) : float32[3,2]"


def test_nan_inf_and_signed_zeros_flow_through_unchanged(inp, run, same_values):
    """On inputs holding NaN, inf and -0.0, the simplified graph gives exactly the same
    answers as the original: the float rules that would break them did not fire."""
    x = inp(0, (6,))
    zero = B.full_like(x, 0.0)
    g = Graph([x], [B.sub(x, x), B.mul(x, zero), B.add(x, zero), B.mul(x, B.full_like(x, 1.0))])
    new, _ = AlgebraicSimplification().run(g)
    data = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -2.5], dtype=np.float32)
    for got, want in zip(run(new, [data]), run(g, [data]), strict=True):
        same_values(got, want)


def test_assume_finite_allows_the_float_rules(inp, text, check_pass):
    """With ``assume_finite=True`` the caller promises no inf, NaN or signed-zero subtlety,
    so float ``x - x``, ``x * 0`` and ``x + 0.0`` simplify too."""
    x = inp(0, (2,))
    zero = B.full_like(x, 0.0)
    g = Graph([x], [B.sub(x, x), B.mul(x, zero), B.add(x, zero)])
    new, changed = check_pass(AlgebraicSimplification(assume_finite=True), g, signed_zeros=False)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2]) {
          %1 = const(value=0.0) : float32[2]
          %2 = const(value=0.0) : float32[2]
          return %1, %2, %0
        }
    """)


def test_effectful_nodes_are_never_simplified(effectful, inp, check_pass):
    """Pretend ``neg`` had an effect: ``neg(neg(x))`` must then run both negations."""
    effectful("neg")
    x = inp(0, (3,))
    g = Graph([x], [B.neg(B.neg(x))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert not changed
    assert new is g


def test_a_rule_may_not_change_shape_or_dtype(monkeypatch, inp, check_pass):
    """The driver refuses a replacement of another shape, even from a (buggy) rule."""
    monkeypatch.setitem(algebraic.RULES, "exp", lambda node, inputs, finite: B.const(0.0))
    x = inp(0, (2, 3))
    g = Graph([x], [make("exp", (x,))])
    new, changed = check_pass(AlgebraicSimplification(), g)
    assert not changed


def test_the_option_is_part_of_the_cache_key():
    """Plans compiled with and without ``assume_finite`` must not be confused."""
    fast, strict = AlgebraicSimplification(True), AlgebraicSimplification()
    assert fast.config() == (True,) and strict.config() == (False,)
    assert fast.cache_key() != strict.cache_key()
    assert repr(fast) == "AlgebraicSimplification(True)"


def test_the_original_graph_still_verifies(inp):
    """Passes build new nodes; the graph they were given is unchanged and valid."""
    x = inp(0, (2, 3))
    g = Graph([x], [B.neg(B.neg(x))])
    AlgebraicSimplification().run(g)
    verify(g)
    assert g.outputs[0].op == "neg"
