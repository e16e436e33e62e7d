"""Constant folding: nodes computed only from constants become constants."""

from __future__ import annotations

from textwrap import dedent

import pytest

from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.errors import RealizeError
from tinytorch.ir.graph import Graph
from tinytorch.passes.constant_folding import ConstantFolding


def test_expand_of_a_scalar_becomes_a_full_constant(inp, text, check_pass):
    """``x * 2`` written as ``mul(x, expand(const 2.0))``: the expand folds."""
    x = inp(0, (3, 4))
    g = Graph([x], [B.mul(x, B.expand(B.const(2.0), (3, 4)))])
    assert text(g) == dedent("""\
        graph(%0: float32[3,4]) {
          %1 = const(value=2.0) : float32[]
          %2 = expand(%1, shape=(3, 4)) : float32[3,4]
          %3 = mul(%0, %2) : float32[3,4]
          return %3
        }
    """)
    new, changed = check_pass(ConstantFolding(), g)
    assert changed
    # The scalar it read is now dead: removing it is DCE's job, not this pass's.
    assert text(new) == dedent("""\
        graph(%0: float32[3,4]) {
          %1 = const(value=2.0) : float32[]
          %2 = const(value=2.0) : float32[3,4]
          %3 = mul(%0, %2) : float32[3,4]
          return %3
        }
    """)


def test_a_whole_chain_folds_in_one_run(text, check_pass):
    """``2 * 3 + 1`` on int32: each node sees its inputs already folded."""
    six = B.mul(B.const(2, (), "int32"), B.const(3, (), "int32"))
    g = Graph([], [B.add(six, B.const(1, (), "int32"))])
    new, changed = check_pass(ConstantFolding(), g)
    assert changed
    assert text(new) == dedent("""\
        graph() {
          %0 = const(value=2) : int32[]
          %1 = const(value=3) : int32[]
          %2 = const(value=6) : int32[]
          %3 = const(value=1) : int32[]
          %4 = const(value=7) : int32[]
          return %4
        }
    """)


def test_reductions_and_comparisons_fold_too(text, check_pass):
    """Any op folds when its answer is uniform: a sum of ones, a comparison to bool."""
    total = make("sum", (B.const(1.0, (2, 3)),), axes=(1,), keepdims=False)
    is_less = make("lt", (B.const(1, (2,), "int64"), B.const(2, (2,), "int64")))
    g = Graph([], [total, is_less])
    new, _ = check_pass(ConstantFolding(), g)
    assert text(new) == dedent("""\
        graph() {
          %0 = const(value=1.0) : float32[2,3]
          %1 = const(value=3.0) : float32[2]
          %2 = const(value=1) : int64[2]
          %3 = const(value=2) : int64[2]
          %4 = const(value=True) : bool[2]
          return %1, %4
        }
    """)


def test_the_constant_keeps_the_users_line(check_pass):
    """A folded node's ``src`` survives, so profiles and errors still name the user line."""
    with B.source("model.py:7"):
        y = B.expand(B.const(0.5), (2,))
    new, _ = check_pass(ConstantFolding(), Graph([], [y]))
    assert new.outputs[0].op == "const"
    assert new.outputs[0].src == "model.py:7"


def test_nan_and_signed_zero_results_are_kept_exactly(text, check_pass):
    """``log(-1)`` folds to a NaN constant and ``-(0.0)`` to ``-0.0``, not to ``0.0``."""
    g = Graph([], [make("log", (B.const(-1.0),)), B.neg(B.const(0.0))])
    new, _ = check_pass(ConstantFolding(), g)
    assert text(new) == dedent("""\
        graph() {
          %0 = const(value=-1.0) : float32[]
          %1 = const(value=nan) : float32[]
          %2 = const(value=0.0) : float32[]
          %3 = const(value=-0.0) : float32[]
          return %1, %3
        }
    """)


def test_non_uniform_results_are_left_alone(text, check_pass):
    """``concat([1], [2])`` is ``[1, 2]``: no single-value constant can hold it. ``0.0`` and
    ``-0.0`` compare equal but are different values, so their concat stays too."""
    ones_and_twos = make("concat", (B.const(1.0, (1,)), B.const(2.0, (1,))), axis=0)
    zeros = make("concat", (B.const(0.0, (1,)), B.const(-0.0, (1,))), axis=0)
    g = Graph([], [ones_and_twos, zeros])
    new, changed = check_pass(ConstantFolding(), g)
    assert not changed
    assert new is g


def test_nodes_that_read_inputs_are_not_folded(inp, check_pass):
    """Only constants fold: ``x + 1`` depends on the data the program receives."""
    x = inp(0, (2,))
    g = Graph([x], [B.add(x, B.const(1.0, (2,)))])
    new, changed = check_pass(ConstantFolding(), g)
    assert not changed
    assert new is g


def test_effectful_nodes_are_not_folded(effectful, text, check_pass):
    """An effect must still happen at run time, even if its inputs are all constants."""
    effectful("mul")
    g = Graph([], [B.mul(B.const(2.0), B.const(3.0))])
    new, changed = check_pass(ConstantFolding(), g)
    assert not changed
    assert "mul(%0, %1)" in text(new)


def test_a_kernel_error_is_left_for_run_time(text, run):
    """Indexing out of bounds is a user error: it must raise when the program runs (at the
    user's line), not vanish or crash the compiler."""
    table = B.const(1.0, (3,))
    out_of_bounds = B.const(5, (2,), "int64")
    g = Graph([], [make("gather", (table, out_of_bounds), axis=0)])
    new, changed = ConstantFolding().run(g)
    assert not changed
    assert text(new) == text(g)
    with pytest.raises(RealizeError, match="out of bounds"):
        run(new, [])
