"""Common subexpression elimination: equal computations on equal inputs run once."""

from __future__ import annotations

from textwrap import dedent

from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.passes.cse import CommonSubexpressionElimination


def test_the_same_expression_written_twice_is_computed_once(inp, text, check_pass):
    """``exp(x) + 1`` built twice from scratch: exps, constants and adds all merge."""
    x = inp(0, (2, 3))

    def exp_plus_one():
        return B.add(make("exp", (x,)), B.const(1.0, (2, 3)))

    g = Graph([x], [B.mul(exp_plus_one(), exp_plus_one())])
    assert text(g) == dedent("""\
        graph(%0: float32[2,3]) {
          %1 = exp(%0) : float32[2,3]
          %2 = const(value=1.0) : float32[2,3]
          %3 = add(%1, %2) : float32[2,3]
          %4 = exp(%0) : float32[2,3]
          %5 = const(value=1.0) : float32[2,3]
          %6 = add(%4, %5) : float32[2,3]
          %7 = mul(%3, %6) : float32[2,3]
          return %7
        }
    """)
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,3]) {
          %1 = exp(%0) : float32[2,3]
          %2 = const(value=1.0) : float32[2,3]
          %3 = add(%1, %2) : float32[2,3]
          %4 = mul(%3, %3) : float32[2,3]
          return %4
        }
    """)


def test_outputs_follow_the_node_they_were_merged_into(inp, check_pass):
    """Two outputs that were twins now both name the one surviving node."""
    x = inp(0, (4,))
    g = Graph([x], [make("tanh", (x,)), make("tanh", (x,))])
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert changed
    assert new.outputs[0] is new.outputs[1]


def test_inputs_are_never_merged(inp, check_pass):
    """Two placeholders of one shape are two different tensors, so ``x + y`` stays."""
    x, y = inp(0, (3,)), inp(1, (3,))
    g = Graph([x, y], [B.add(x, y)])
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert not changed
    assert new is g


def test_effectful_nodes_are_never_merged(effectful, inp, text, check_pass):
    """Pretend ``exp`` were a random draw: two draws are two events, not one."""
    effectful("exp")
    x = inp(0, (2,))
    g = Graph([x], [B.add(make("exp", (x,)), make("exp", (x,)))])
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert not changed
    assert text(new).count("exp(%0)") == 2


def test_constants_merge_only_when_exactly_equal(text, check_pass):
    """``0.0`` and ``-0.0``, or ``1`` and ``1.0``, are equal in Python but are different
    constants. Two NaN constants, unequal in Python, are interchangeable and merge."""
    g = Graph(
        [],
        [
            B.add(B.const(0.0), B.const(-0.0)),
            B.add(B.const(1), B.const(1.0)),
            B.add(B.const(float("nan")), B.const(float("nan"))),
        ],
    )
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert changed  # only the NaNs merged
    assert text(new) == dedent("""\
        graph() {
          %0 = const(value=0.0) : float32[]
          %1 = const(value=-0.0) : float32[]
          %2 = add(%0, %1) : float32[]
          %3 = const(value=1) : float32[]
          %4 = const(value=1.0) : float32[]
          %5 = add(%3, %4) : float32[]
          %6 = const(value=nan) : float32[]
          %7 = add(%6, %6) : float32[]
          return %2, %5, %7
        }
    """)


def test_different_attributes_or_input_order_do_not_merge(inp, check_pass):
    """``sum`` over different axes, and ``x - y`` versus ``y - x``, are different values."""
    x, y = inp(0, (2, 2)), inp(1, (2, 2))
    g = Graph(
        [x, y],
        [
            make("sum", (x,), axes=(0,), keepdims=False),
            make("sum", (x,), axes=(1,), keepdims=False),
            B.sub(x, y),
            B.sub(y, x),
        ],
    )
    new, changed = check_pass(CommonSubexpressionElimination(), g)
    assert not changed
    assert new is g
