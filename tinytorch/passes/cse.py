"""Common subexpression elimination (CSE): compute each distinct value once.

Two nodes that run the same op, with the same attributes, on the same inputs, compute the same
value, so the second can reuse the first. Programs are full of such twins: ``x.exp()`` written
on two lines, or the same ``const 1.0`` built by two gradient rules.

The pass walks the graph in order and gives each node a *signature*: its structure (op,
attributes, shape, dtype) plus the identity of its inputs, which were deduplicated earlier in
the walk. The first node with a signature is kept and every later one is replaced by it.
Because inputs are deduplicated first, one walk merges whole chains: two ``exp(x) + 1`` built
from two separate ``exp(x)`` become one.

What is never merged:

* effectful nodes: two random draws (or two parameter updates) are two events, not one;
* leaves other than ``const``: an ``input`` or a ``buffer`` stands for data its structure does
  not describe, so two of the same shape are still two different tensors.

Constants are compared by their exact value. ``0.0 == -0.0`` and ``1 == 1.0 == True`` in
Python, yet they are different constants (``1 / -0.0`` is ``-inf``), so a signature records
each attribute's type and ``repr`` rather than the attribute itself. Two NaN constants do
merge: ``repr`` sees them as the same, and they are interchangeable.
"""

from __future__ import annotations

from typing import Any

from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.passes.base import Pass
from tinytorch.passes.rewrite import rewrite_nodes


def exact(value: Any) -> Any:
    """A stand-in for an attribute value that is equal only for truly identical values."""
    if isinstance(value, tuple):
        return tuple(exact(v) for v in value)
    return (type(value).__name__, repr(value))


def signature(node: Node, inputs: tuple[Node, ...]) -> tuple:
    """What makes two nodes interchangeable: exact structure and the very same inputs."""
    attrs = tuple((k, exact(v)) for k, v in sorted(node.attrs.items()))
    return (node.op, attrs, node.shape, node.dtype, tuple(id(i) for i in inputs))


def is_mergeable(node: Node) -> bool:
    """Pure computations and constants; never ``input`` or ``buffer`` leaves. (Effectful
    nodes never get this far: the rewrite driver keeps them out of every rule.)"""
    return bool(node.inputs) or node.op == "const"


class CommonSubexpressionElimination(Pass):
    """Merge nodes that compute the same thing from the same inputs."""

    name = "cse"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        first_seen: dict[tuple, Node] = {}

        def merge(node: Node, inputs: tuple[Node, ...]) -> Node | None:
            if not is_mergeable(node):
                return None
            key = signature(node, inputs)
            if key in first_seen:
                return first_seen[key]
            # Keep the node (rebuilt on its deduplicated inputs if they changed).
            kept = node if inputs == node.inputs else node.with_inputs(inputs)
            first_seen[key] = kept
            return kept

        return rewrite_nodes(graph, merge)
