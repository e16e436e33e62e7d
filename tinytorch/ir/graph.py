"""A graph: the unit that passes rewrite and backends compile.

A :class:`Graph` has numbered ``input`` placeholders, ``outputs``, and the list of ``nodes``
in a topological order (inputs before users). Passes never mutate nodes; they build new ones
and return a new graph (see :meth:`Graph.rewrite`).

:func:`capture` is how a graph is born from user tensors: it walks back from the nodes whose
values are wanted, stops at data that already exists (buffers and previously realized nodes),
and turns each such stop into an ``input`` placeholder. What remains is pure structure, so its
:attr:`Graph.signature` is the same every time the same program runs on new data — the key of
the runtime's plan cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tinytorch.ir.build import make
from tinytorch.ir.node import Node


def topo_order(roots: Iterable[Node], stop: Callable[[Node], bool] | None = None) -> list[Node]:
    """Every node reachable from ``roots``, each after its inputs (iterative DFS, no
    recursion limit). Nodes for which ``stop`` is true are included but not walked past."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if stop is None or not stop(node):
            for i in reversed(node.inputs):
                if id(i) not in seen:
                    stack.append((i, False))
    return order


class Graph:
    """Inputs, outputs and the nodes between them, in topological order."""

    def __init__(
        self,
        inputs: Sequence[Node],
        outputs: Sequence[Node],
        nodes: Sequence[Node] | None = None,
    ) -> None:
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        if nodes is None:
            nodes = topo_order([*self.inputs, *self.outputs])
        self.nodes = list(nodes)

    # ------------------------------------------------------------------ queries
    def users(self) -> dict[int, list[Node]]:
        """``id(node) -> nodes that read it`` (a node reading twice appears twice)."""
        out: dict[int, list[Node]] = {id(n): [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                out.setdefault(id(i), []).append(n)
        return out

    def live_nodes(self) -> list[Node]:
        """Nodes that an output (or an effectful node) depends on, in graph order."""
        from tinytorch.ir.registry import get

        roots = [*self.outputs, *(n for n in self.nodes if get(n.op).effectful)]
        live = {id(n) for n in topo_order(roots)}
        return [n for n in self.nodes if id(n) in live or n.op == "input"]

    def to_networkx(self) -> Any:
        """A ``networkx.MultiDiGraph`` view: node ids are positions in :attr:`nodes`, with
        ``op``/``shape``/``dtype``/``src`` attributes; one edge per input slot."""
        import networkx as nx

        index = {id(n): k for k, n in enumerate(self.nodes)}
        g = nx.MultiDiGraph()
        for k, n in enumerate(self.nodes):
            g.add_node(k, op=n.op, shape=n.shape, dtype=n.dtype, src=n.src, node=n)
        for k, n in enumerate(self.nodes):
            for slot, i in enumerate(n.inputs):
                if id(i) in index:
                    g.add_edge(index[id(i)], k, slot=slot)
        return g

    @property
    def signature(self) -> tuple:
        """Structure only: equal for two graphs that compute the same thing from inputs of
        the same shapes and dtypes, whatever the data."""
        index: dict[int, int] = {}
        rows = []
        for k, n in enumerate(self.nodes):
            index[id(n)] = k
            rows.append((n.key, tuple(index[id(i)] for i in n.inputs)))
        return (tuple(rows), tuple(index[id(o)] for o in self.outputs))

    # ---------------------------------------------------------------- rewriting
    def rewrite(self, fn: Callable[[Node, tuple[Node, ...]], Node | None]) -> Graph:
        """Rebuild the graph node by node, in order.

        ``fn(node, new_inputs)`` sees each node with its inputs already rewritten and returns
        a replacement, or ``None`` to keep the node (copied only if its inputs changed).
        Dead nodes are carried along: removing them is the DCE pass's job.
        """
        mapping: dict[int, Node] = {}
        nodes: list[Node] = []
        for n in self.nodes:
            new_inputs = tuple(mapping[id(i)] for i in n.inputs)
            replacement = fn(n, new_inputs)
            if replacement is None:
                changed = any(a is not b for a, b in zip(new_inputs, n.inputs, strict=True))
                replacement = n.with_inputs(new_inputs) if changed else n
            mapping[id(n)] = replacement
            nodes.append(replacement)
        # A replacement may be a new subgraph: re-derive a topological order that keeps the
        # old nodes (dead ones too) and pulls in anything new.
        order = topo_order([*(mapping[id(i)] for i in self.inputs), *nodes])
        outputs = [mapping[id(o)] for o in self.outputs]
        return Graph([mapping[id(i)] for i in self.inputs], outputs, order)

    def __len__(self) -> int:
        return len(self.nodes)


def is_captured_leaf(node: Node) -> bool:
    """Data that already exists: a buffer, or a node realized earlier."""
    return node.op == "buffer" or "value" in node.meta


class Capture:
    """The lazy computation behind some nodes, cut at data that already exists.

    Computing :attr:`signature` and :attr:`sources` is one walk over the user's nodes and
    allocates no new nodes, so a plan-cache hit costs little. :meth:`graph` builds the
    standalone :class:`Graph` (with ``input`` placeholders) only when a plan must be made.
    """

    def __init__(self, outputs: Sequence[Node]) -> None:
        self.outputs: list[Node] = []
        self.order: list[Node] = []
        self.sources: list[Node] = []
        self._index: dict[int, int] = {}
        self._rows: list[tuple] = []
        self.extend(outputs)

    def extend(self, outputs: Sequence[Node]) -> None:
        """Add more outputs, continuing the same walk: nodes already captured are not
        visited again, and the signature is what capturing all outputs at once would give."""
        # One depth-first walk that orders the nodes (inputs first) and writes the signature
        # as it goes. This runs on every realization, so it is written out by hand rather
        # than built from topo_order() and a second pass.
        self.outputs += outputs
        order, index, rows, sources = self.order, self._index, self._rows, self.sources
        stack: list[tuple[Node, bool]] = [(o, False) for o in reversed(outputs)]
        while stack:
            node, expanded = stack.pop()
            nid = id(node)
            if nid in index:
                continue
            leaf = node.op == "buffer" or "value" in node.meta  # data that already exists
            if not expanded and not leaf and node.inputs:
                stack.append((node, True))
                stack.extend([(i, False) for i in reversed(node.inputs) if id(i) not in index])
                continue
            index[nid] = len(order)
            order.append(node)
            if leaf:
                rows.append((("input", len(sources), node.shape, node.dtype), ()))
                sources.append(node)
            else:
                # The user's line is part of the key: a plan's nodes report their lines in
                # errors and profiles, so the same structure written elsewhere gets its own
                # plan (its kernels are still shared: the kernel cache ignores lines).
                rows.append((node.key, node.src, tuple([index[id(i)] for i in node.inputs])))
        self.signature = (tuple(rows), tuple([index[id(o)] for o in self.outputs]))

    def graph(self) -> Graph:
        """The captured computation as a graph whose leaves are numbered ``input`` nodes,
        in the order of :attr:`sources`."""
        mapping: dict[int, Node] = {}
        inputs: list[Node] = []
        nodes: list[Node] = []
        for n in self.order:
            if is_captured_leaf(n):
                new = make("input", (), src=n.src, index=len(inputs), shape=n.shape, dtype=n.dtype)
                inputs.append(new)
            elif n.inputs:
                new = n.with_inputs(tuple(mapping[id(i)] for i in n.inputs))
            else:
                new = n
            mapping[id(n)] = new
            nodes.append(new)
        return Graph(inputs, [mapping[id(o)] for o in self.outputs], nodes)
