"""The verifier the PassManager runs after every pass.

A pass that breaks the graph should fail *at that pass*, by name, not three passes later or
inside a backend. The checks: the graph is acyclic; every input of a node comes earlier in
the node list; every node's shape and dtype re-infer from the registry to what it claims;
outputs keep their number, shapes and dtypes; effectful nodes are all still there.
"""

from __future__ import annotations

from collections import Counter

import networkx as nx

from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get


class VerificationError(RuntimeError):
    """A pass produced an invalid graph."""


def _effects(graph: Graph) -> Counter:
    return Counter(n.key for n in graph.nodes if get(n.op).effectful)


def verify(graph: Graph, before: Graph | None = None, where: str = "graph") -> None:
    if not nx.is_directed_acyclic_graph(graph.to_networkx()):
        raise VerificationError(f"{where}: the graph has a cycle")
    seen: set[int] = set()
    for n in graph.nodes:
        for i in n.inputs:
            if id(i) not in seen:
                raise VerificationError(f"{where}: {n!r} reads {i!r} before it is defined")
        _check_types(n, where)
        seen.add(id(n))
    for o in graph.outputs:
        if id(o) not in seen:
            raise VerificationError(f"{where}: output {o!r} is not in the node list")
    if before is None:
        return
    old = [(o.shape, o.dtype) for o in before.outputs]
    new = [(o.shape, o.dtype) for o in graph.outputs]
    if old != new:
        raise VerificationError(f"{where}: outputs changed from {old} to {new}")
    if _effects(before) != _effects(graph):
        raise VerificationError(f"{where}: an effectful node was dropped or merged")


def _check_types(n: Node, where: str) -> None:
    opdef = get(n.op)
    try:
        shape, dtype = opdef.infer(
            tuple(i.shape for i in n.inputs), tuple(i.dtype for i in n.inputs), n.attrs
        )
    except (ValueError, TypeError) as exc:
        raise VerificationError(f"{where}: {n!r} no longer type-checks: {exc}") from exc
    if (shape, dtype) != (n.shape, n.dtype):
        raise VerificationError(
            f"{where}: {n!r} claims {n.dtype}{list(n.shape)} but infers {dtype}{list(shape)}"
        )
