"""Dead code elimination (DCE): drop the nodes whose values nobody needs.

A node is *live* when a graph output depends on it, or when an effectful node does (an effect
such as a parameter update must happen even though no output reads it). Everything else is
dead: its value would be computed and thrown away. Other passes leave dead nodes behind on
purpose (constant folding strands the constants it read, algebraic simplification the
``x * 1`` it bypassed) and rely on this pass to sweep them up, so each pass stays simple.

``input`` placeholders are always kept, even unused: the runtime binds input arrays to them
by position, so removing one would shift every later input.
"""

from __future__ import annotations

from tinytorch.ir.graph import Graph
from tinytorch.passes.base import Pass


class DeadCodeElimination(Pass):
    """Keep only the nodes an output or an effect depends on (plus every ``input``)."""

    name = "dce"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        live = graph.live_nodes()  # in graph order, inputs included
        if len(live) == len(graph.nodes):
            return graph, False
        return Graph(graph.inputs, graph.outputs, live), True
