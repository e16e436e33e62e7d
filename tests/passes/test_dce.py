"""Dead code elimination: nodes no output or effect needs are dropped."""

from __future__ import annotations

from textwrap import dedent

from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.passes.constant_folding import ConstantFolding
from tinytorch.passes.dce import DeadCodeElimination


def test_unused_nodes_are_dropped(inp, text, check_pass):
    """``exp(x)`` and its constant feed nothing that is returned: both go."""
    x = inp(0, (3,))
    unused = B.add(make("exp", (x,)), B.const(1.0, (3,)))
    used = make("tanh", (x,))
    g = Graph([x], [used], [x, *unused.inputs, unused, used])
    assert text(g) == dedent("""\
        graph(%0: float32[3]) {
          %1 = exp(%0) : float32[3]
          %2 = const(value=1.0) : float32[3]
          %3 = add(%1, %2) : float32[3]
          %4 = tanh(%0) : float32[3]
          return %4
        }
    """)
    new, changed = check_pass(DeadCodeElimination(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[3]) {
          %1 = tanh(%0) : float32[3]
          return %1
        }
    """)


def test_unused_inputs_are_kept(inp, text, check_pass):
    """The runtime binds arrays to inputs by position, so an unread input must stay."""
    x, y = inp(0, (2,)), inp(1, (2,))
    g = Graph([x, y], [make("exp", (x,))])
    new, changed = check_pass(DeadCodeElimination(), g)
    assert not changed
    assert text(new).startswith("graph(%0: float32[2], %1: float32[2]) {")


def test_effectful_nodes_and_what_they_read_are_kept(effectful, inp, text, check_pass):
    """Pretend ``exp`` were an effect (a parameter update, say): it must still happen even
    though nothing reads it, and so must the ``neg`` it reads."""
    effectful("exp")
    x = inp(0, (2,))
    effect = make("exp", (B.neg(x),))
    g = Graph([x], [x], [x, effect.inputs[0], effect])
    new, changed = check_pass(DeadCodeElimination(), g)
    assert not changed
    assert text(new) == dedent("""\
        graph(%0: float32[2]) {
          %1 = neg(%0) : float32[2]
          %2 = exp(%1) : float32[2]
          return %0
        }
    """)


def test_dce_sweeps_up_after_constant_folding(text, inp, check_pass):
    """Folding ``expand(const 2.0)`` strands the scalar constant; DCE removes it."""
    x = inp(0, (2, 2))
    g = Graph([x], [B.mul(x, B.expand(B.const(2.0), (2, 2)))])
    folded, _ = ConstantFolding().run(g)
    new, changed = check_pass(DeadCodeElimination(), folded)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,2]) {
          %1 = const(value=2.0) : float32[2,2]
          %2 = mul(%0, %1) : float32[2,2]
          return %2
        }
    """)
