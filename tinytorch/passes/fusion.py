"""Fusion: group nodes into kernels that make one pass over memory.

A NumPy program writes every intermediate to memory and reads it back: ``gelu(x*a + b)`` is
four passes over ``x``'s size. A fused kernel computes the whole chain per element and
writes once. This pass decides the groups; a backend compiles each group into one kernel
(the NumPy backend, the reference, just runs the members one by one).

The rules, each recorded as a reason a user can print (:func:`fusion_report`):

* **Elementwise and broadcast chains fuse.** A producer joins its consumer's kernel and is
  recomputed there instead of stored.
* **Views fuse as index arithmetic.** ``expand``, ``permute``, ``reshape`` and ``slice``
  inside a kernel only change how an element's address is computed.
* **Elementwise producers fuse into a reduction**, and **a reduction fuses into the
  elementwise consumers over the same rows** (each kernel has one iteration space F and one
  set of reduced axes A). ``mean``/``var``/normalise and ``softmax`` become one kernel that,
  per row, runs one loop per reduction and a last loop writing the result.
* **Opaque ops stay alone**: ``matmul`` goes to BLAS, ``gather``/``scatter_add``/``concat``
  to NumPy, and ``argmax`` is not fused.
* **A value with readers in more than one place is materialized** once rather than recomputed
  in each reader; a graph output is always materialized.
* **Never across effects**: effectful nodes are never fused.
* **No cycles**: a producer joins a kernel only if *all* its readers are in that kernel, so
  no path can leave a kernel and come back into it.
* A group made only of views is dissolved: it moves no data, so it stays a NumPy view.

Each fused node gets ``meta["group"]`` (kernel number, in graph order) and every node gets
``meta["fusion"]`` (the reason). Groups have exactly one output, their root.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.printer import short_src, type_str
from tinytorch.ir.registry import get
from tinytorch.ir.shapes import reduced_shape
from tinytorch.passes.base import Pass

VIEW_OPS = frozenset({"expand", "permute", "reshape", "slice"})
REDUCE_OPS = frozenset({"sum", "max", "min"})


def is_fusable(node: Node) -> bool:
    opdef = get(node.op)
    if opdef.effectful:
        return False
    return opdef.kind == "elementwise" or node.op in VIEW_OPS or node.op in REDUCE_OPS


@dataclass
class _Group:
    root: Node
    members: list[Node] = field(default_factory=list)
    space: tuple[int, ...] = ()  # F: the iteration space
    axes: tuple[int, ...] | None = None  # A: reduced axes (None: no reduction yet)

    def row_shapes(self) -> set[tuple[int, ...]]:
        assert self.axes is not None
        return {reduced_shape(self.space, self.axes, True),
                reduced_shape(self.space, self.axes, False)}  # fmt: skip


def _broadcast_axes(expand: Node) -> tuple[int, ...]:
    src, dst = expand.inputs[0].shape, expand.shape
    lead = len(dst) - len(src)
    return tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(src) if d == 1 and dst[lead + i] != 1
    )


class Fusion(Pass):
    """Annotate kernel groups (see the module docstring for the rules)."""

    name = "fusion"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        groups, reasons = self._plan(graph)
        current = {id(n): (n.meta.get("group"), n.meta.get("fusion")) for n in graph.nodes}
        wanted = {id(n): (groups.get(id(n)), reasons[id(n)]) for n in graph.nodes}
        if all(current[k] == wanted[k] for k, n in zip(current, graph.nodes) if n.inputs):
            return graph, False
        # Annotate copies, in the same order: nodes may be shared with other graphs (leaves
        # are never annotated, so they need no copy).
        copies: dict[int, Node] = {}
        nodes: list[Node] = []
        for n in graph.nodes:
            copy = n.with_inputs(tuple(copies[id(i)] for i in n.inputs)) if n.inputs else n
            group, reason = wanted[id(n)]
            if copy is not n:
                copy.meta.pop("group", None)
                if group is not None:
                    copy.meta["group"] = group
                copy.meta["fusion"] = reason
            copies[id(n)] = copy
            nodes.append(copy)
        outputs = [copies[id(o)] for o in graph.outputs]
        return Graph([copies[id(i)] for i in graph.inputs], outputs, nodes), True

    # ----------------------------------------------------------------- planning
    def _plan(self, graph: Graph) -> tuple[dict[int, int], dict[int, str]]:
        users = graph.users()
        outputs = {id(o) for o in graph.outputs}
        group_of: dict[int, _Group] = {}
        reasons: dict[int, str] = {}
        all_groups: list[_Group] = []

        for n in reversed(graph.nodes):
            if n.is_leaf:
                reasons[id(n)] = "leaf" if n.op != "const" else "constant: inlined into readers"
                continue
            if not is_fusable(n):
                kind = get(n.op).kind
                why = "effectful" if get(n.op).effectful else f"{kind} op"
                reasons[id(n)] = f"{why}: runs alone"
                continue
            readers = users.get(id(n), [])
            reader_groups = {id(group_of.get(id(u))) for u in readers}
            target = group_of.get(id(readers[0])) if readers else None
            if id(n) in outputs:
                why = "graph output: materialized"
            elif not readers:
                why = "unused"
            elif len(reader_groups) > 1 or target is None:
                why = f"{len(readers)} readers in different kernels/ops: materialized once"
            else:
                problem = self._cannot_join(n, target, users)
                if problem is None:
                    target.members.append(n)
                    group_of[id(n)] = target
                    reasons[id(n)] = f"fused into the kernel of {target.root.op}"
                    continue
                why = problem
            group = self._new_group(n)
            all_groups.append(group)
            group_of[id(n)] = group
            reasons[id(n)] = f"kernel root ({why})"

        numbering: dict[int, int] = {}
        position = {id(n): k for k, n in enumerate(graph.nodes)}
        kernels = [g for g in all_groups if any(not self._is_view(m) for m in g.members)]
        for g in all_groups:
            if g not in kernels:
                for m in g.members:
                    reasons[id(m)] = "view only: no data moves, stays a NumPy view"
        kernels.sort(key=lambda g: min(position[id(m)] for m in g.members))
        for k, g in enumerate(kernels):
            for m in g.members:
                numbering[id(m)] = k
        return numbering, reasons

    @staticmethod
    def _is_view(n: Node) -> bool:
        return n.op in VIEW_OPS

    @staticmethod
    def _new_group(root: Node) -> _Group:
        if root.op in REDUCE_OPS:
            return _Group(root, [root], root.inputs[0].shape, tuple(root.attrs["axes"]))
        return _Group(root, [root], root.shape, None)

    def _cannot_join(self, n: Node, group: _Group, users: dict) -> str | None:
        """Why ``n`` may not join ``group`` (None: it may)."""
        if n.op not in REDUCE_OPS:
            return None
        space, axes = n.inputs[0].shape, tuple(n.attrs["axes"])
        if group.axes is None:
            # The kernel so far is elementwise. It can take this reduction if its iteration
            # space is the reduction's input, or if everything in it is per-row work.
            candidate = _Group(group.root, group.members, space, axes)
            if group.space == space or all(m.shape in candidate.row_shapes()
                                           for m in group.members):
                if self._rows_match(n, candidate, users):
                    group.space, group.axes = space, axes
                    return None
            return "reduction over another iteration space than its reader's kernel"
        if (space, axes) != (group.space, group.axes):
            return "reduction over other rows than the kernel it would join"
        if not self._rows_match(n, group, users):
            return "its readers use it at other rows: materialized"
        return None

    def _rows_match(self, n: Node, group: _Group, users: dict) -> bool:
        """Every path from ``n`` to the kernel's full-size work reads ``n`` at the current
        row: through row-sized elementwise ops and reshapes, then an ``expand`` over exactly
        the reduced axes. (The kernel keeps one accumulator per reduction per row.)"""
        rows = group.row_shapes()
        todo, seen = [n], set()
        while todo:
            v = todo.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            for u in users.get(id(v), []):
                if u.op == "expand" and u.shape == group.space:
                    lead = len(u.shape) - len(u.inputs[0].shape)
                    if lead or set(_broadcast_axes(u)) != set(group.axes):
                        return False
                elif u.shape in rows and (get(u.op).kind == "elementwise" or u.op == "reshape"):
                    todo.append(u)
                else:
                    return False
        return True


def fusion_report(graph: Graph) -> str:
    """Which nodes went into which kernel, and why each node ended where it did."""
    names = {id(n): f"%{k}" for k, n in enumerate(graph.nodes)}
    kernels: dict[int, list[Node]] = {}
    alone: list[Node] = []
    for n in graph.nodes:
        if "group" in n.meta:
            kernels.setdefault(n.meta["group"], []).append(n)
        elif not n.is_leaf:
            alone.append(n)
    lines = [f"{len(kernels)} fused kernel(s), {len(alone)} op(s) outside kernels"]
    for k, members in sorted(kernels.items()):
        lines.append(f"kernel {k}: {' '.join(m.op for m in members)}")
        for m in members:
            lines.append(f"  {names[id(m)]:>5} {m.op:<10} {type_str(m):<18} "
                         f"{short_src(m.src):<22} {m.meta.get('fusion', '')}")
    if alone:
        lines.append("outside kernels:")
        for m in alone:
            lines.append(f"  {names[id(m)]:>5} {m.op:<10} {type_str(m):<18} "
                         f"{short_src(m.src):<22} {m.meta.get('fusion', '')}")
    return "\n".join(lines)
