"""The rule-driven rewrite driver: one walk over the graph, one local rule per node.

Many passes are a *rule* about a single node: "a node computed only from constants is a
constant" (constant folding), "a node equal to an earlier one is that one" (CSE), "``x * 1``
is ``x``" (algebraic simplification); quantization lowering (``dequant -> linear -> quant``
into integer compute) and the KV-cache rewrite are rules of the same shape. The rule is the
interesting part; the walk around it is always the same, and it lives here, once::

    def rule(node, inputs):                     # inputs: already rewritten
        if node.op == "mul" and is_two(inputs[1]):
            x = inputs[0]
            return make("add", (x, x), src=node.src)
        return None                             # keep the node

    new, changed = rewrite_nodes(graph, rule)

:func:`rewrite_nodes` visits the nodes in order (each after its inputs), so a rule sees its
node's inputs *already rewritten* and one walk rewrites a whole chain. The rule returns a
replacement (a new node, or an existing one such as an input) or ``None`` to keep the node.
The driver takes care of what every rule would otherwise have to repeat:

* **effects**: an effectful node (an RNG draw, a parameter update) never reaches the rule, so
  no rule can drop, merge or reorder an effect by accident (``effects=True`` lets a rewrite
  whose purpose is an effect, like the KV-cache one, see them);
* **types**: a replacement must have the node's shape and dtype; one that does not is
  ignored and the node kept, so a rule's mistake cannot change what its users receive;
* **the changed flag**: ``changed`` is True exactly when some rule replaced a node; when it
  is False, the very graph that was given is returned, untouched.

Nodes a replacement bypasses stay in the graph, dead: removing them is the DCE pass's job.
"""

from __future__ import annotations

from collections.abc import Callable

from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get

# rule(node, its already-rewritten inputs) -> a replacement, or None to keep the node
Rule = Callable[[Node, tuple[Node, ...]], Node | None]


def rewrite_nodes(graph: Graph, rule: Rule, *, effects: bool = False) -> tuple[Graph, bool]:
    """Apply ``rule`` to every node of ``graph`` in one walk; return ``(graph, changed)``.

    Effectful nodes are kept as they are unless ``effects`` is True. A replacement of another
    shape or dtype is ignored. Returning the node itself means "keep it", like ``None``: the
    driver rebuilds it on its rewritten inputs if they changed.
    """
    changed = False

    def apply(node: Node, inputs: tuple[Node, ...]) -> Node | None:
        nonlocal changed
        if not effects and get(node.op).effectful:
            return None
        new = rule(node, inputs)
        if new is None or new is node or (new.shape, new.dtype) != (node.shape, node.dtype):
            return None
        # Also a rule's own copy of the node on rewritten inputs (CSE keeps such copies):
        # the inputs differ only because an earlier node was replaced, so nothing is claimed
        # that did not happen.
        changed = True
        return new

    new = graph.rewrite(apply)
    return (new, True) if changed else (graph, False)
