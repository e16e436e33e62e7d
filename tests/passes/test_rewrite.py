"""The shared rewrite driver: one rule per node, applied in one walk, with a changed flag.

The rule used here rewrites ``mul(x, 2)`` into ``add(x, x)``: small enough to read, and a
real rewrite (the two compute the same values, ``2 * x`` is ``x + x`` exactly in floats).
"""

from __future__ import annotations

from textwrap import dedent

from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.passes.base import Pass
from tinytorch.passes.rewrite import rewrite_nodes


def double_to_add(node: Node, inputs: tuple[Node, ...]) -> Node | None:
    """``mul(x, const 2)`` -> ``add(x, x)``; anything else is kept."""
    if node.op != "mul":
        return None
    x, c = inputs
    if c.op == "const" and c.attrs["value"] == 2 and x.shape == node.shape:
        return make("add", (x, x), src=node.src)
    return None


class DoubleToAdd(Pass):
    """The rule as a pass, so that ``check_pass`` can check the pass contract on it."""

    name = "double_to_add"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        return rewrite_nodes(graph, double_to_add)


def doubled(x: Node) -> Node:
    return B.mul(x, B.const(2.0, x.shape))


def test_a_rule_rewrites_a_matching_node(inp, text, check_pass):
    """``exp(x) * 2`` becomes ``exp(x) + exp(x)``, with equal values; the constant is left
    behind, dead, for DCE."""
    x = inp(0, (2, 3))
    g = Graph([x], [doubled(make("exp", (x,)))])
    new, changed = check_pass(DoubleToAdd(), g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,3]) {
          %1 = exp(%0) : float32[2,3]
          %2 = const(value=2.0) : float32[2,3]
          %3 = add(%1, %1) : float32[2,3]
          return %3
        }
    """)


def test_the_rule_sees_inputs_already_rewritten(inp, text):
    """One walk rewrites a chain: the outer ``mul`` reads the inner one's replacement."""
    x = inp(0, (3,))
    new, changed = rewrite_nodes(Graph([x], [doubled(doubled(x))]), double_to_add)
    assert changed
    assert "add(%0, %0)" in text(new)
    assert [n.op for n in new.nodes if n.op in ("add", "mul")] == ["add", "add"]
    assert new.outputs[0].inputs[0] is new.outputs[0].inputs[1]  # (x + x) + (x + x)


def test_idempotent_a_second_walk_changes_nothing(inp, text):
    """Once every ``mul(x, 2)`` is gone, the same rule finds nothing and returns the very
    graph it was given."""
    x = inp(0, (3,))
    once, changed = rewrite_nodes(Graph([x], [doubled(x)]), double_to_add)
    assert changed
    twice, changed_again = rewrite_nodes(once, double_to_add)
    assert not changed_again
    assert twice is once
    assert text(twice) == text(once)


def test_a_rule_that_keeps_everything_returns_the_same_graph(inp, text):
    """A rule answering ``None`` everywhere, or the node itself: no change, and the graph
    returned is the one given, node for node."""
    x = inp(0, (2,))
    g = Graph([x], [B.add(doubled(x), make("exp", (x,)))])
    before = text(g)
    for rule in (lambda node, inputs: None, lambda node, inputs: node):
        new, changed = rewrite_nodes(g, rule)
        assert not changed
        assert new is g
        assert text(new) == before
        assert new.signature == g.signature


def test_nodes_above_a_rewrite_are_rebuilt_on_the_new_inputs(inp, text):
    """A node the rule keeps but whose input was replaced reads the replacement."""
    x = inp(0, (2,))
    g = Graph([x], [make("exp", (doubled(x),))])
    new, changed = rewrite_nodes(g, double_to_add)
    assert changed
    out = new.outputs[0]
    assert out.op == "exp" and out.inputs[0].op == "add"
    assert g.outputs[0].inputs[0].op == "mul"  # the given graph is untouched


def test_effectful_nodes_never_reach_the_rule(effectful, inp):
    """Pretend ``mul`` had an effect: the rule is not even asked, unless ``effects=True``."""
    effectful("mul")
    x = inp(0, (2,))
    g = Graph([x], [doubled(x)])
    asked: list[str] = []

    def spy(node: Node, inputs: tuple[Node, ...]) -> Node | None:
        asked.append(node.op)
        return double_to_add(node, inputs)

    new, changed = rewrite_nodes(g, spy)
    assert not changed and new is g
    assert "mul" not in asked
    new, changed = rewrite_nodes(g, spy, effects=True)
    assert changed and new.outputs[0].op == "add"


def test_a_replacement_of_another_shape_or_dtype_is_refused(inp):
    """A (buggy) rule cannot change what the node's users receive."""
    x = inp(0, (2, 3))
    g = Graph([x], [make("exp", (x,))])
    for wrong in (B.const(0.0), B.const(0.0, (2, 3), "float64")):
        new, changed = rewrite_nodes(g, lambda node, inputs, w=wrong: w)
        assert not changed and new is g
