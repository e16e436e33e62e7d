"""Fusion: group nodes into kernels that make one pass over memory.

A NumPy program writes every intermediate to memory and reads it back: ``gelu(x*a + b)`` is
four passes over ``x``'s size. A fused kernel computes the whole chain per element and
writes once. This pass decides the groups; a backend compiles each group into one kernel
(the NumPy backend, the reference, just runs the members one by one).

The pass walks the graph from the outputs back to the inputs. A node either joins the kernel
of its readers or starts a kernel of its own, as its root. The rules, each recorded as a
reason a user can print (:func:`fusion_report`):

* **Elementwise and broadcast chains fuse.** A producer joins its reader's kernel and is
  recomputed there instead of stored.
* **Views fuse as index arithmetic.** ``expand``, ``permute``, ``reshape`` and ``slice`` (the
  views of :mod:`tinytorch.ir.families`) inside a kernel only change how an element's address
  is computed.
* **Elementwise producers fuse into a reduction** (``sum``/``max``/``min``), and **a
  reduction fuses into the elementwise consumers over the same rows**. Each kernel has one
  iteration space F (the reductions' input shape) and one set of reduced axes A; a "row" is
  one index of the kept axes. Inside the kernel a reduction's value may flow only through
  row-shaped elementwise ops and reshapes into an ``expand`` that broadcasts it over exactly
  A (size-1 axes aside), and from there only through elementwise ops over F (up to the root
  or into another reduction): no view may move it to another row, because the kernel keeps
  one accumulator per reduction per row and reads it only at that row. ``mean``/``var``/
  normalise and ``softmax`` over the last axis become one kernel that, per row, runs one
  loop per reduction and a last loop writing the result. A reduction read at other rows
  (say, summed over axis 1 and broadcast over axis 0, or transposed after its broadcast) is
  materialized instead.
* **Opaque ops stay alone**: ``matmul`` goes to BLAS, ``gather``/``scatter_add``/``concat``/
  ``slice_scatter`` to NumPy, and ``argmax`` is not fused.
* **A value read by more than one kernel (or by an op that runs alone) is materialized**
  once, as the root of its own kernel, rather than recomputed in each reader; the reason
  names the readers. A graph output is always materialized.
* **Never across effects**: effectful nodes are never fused, and their inputs are
  materialized.
* **No cycles**: a producer joins a kernel only if *all* its readers are in that kernel, so
  no path can leave a kernel and come back into it (every group is convex), and each group
  has exactly one member read from outside or returned: its root, the last member in
  graph order.
* A group made only of views is dissolved: it moves no data, so it stays a NumPy view.

Each fused node of the returned graph gets ``meta["group"]`` (kernel number, in graph order)
and every non-leaf node gets ``meta["fusion"]`` (the reason). Leaves (inputs, constants) are
never annotated: they may be shared with other graphs. Nodes are named as
:func:`tinytorch.ir.printer.format_graph` numbers them (``%3``), so a report and a printed
graph can be read side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tinytorch.ir.families import is_elementwise, is_reduction, is_view
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node, Shape
from tinytorch.ir.printer import short_src, type_str
from tinytorch.ir.registry import get
from tinytorch.ir.shapes import reduced_shape
from tinytorch.passes.base import Pass

# Why an op that is not fusable runs alone (by op; otherwise by kind).
_ALONE = {
    "matmul": "opaque op: runs alone (BLAS)",
    "argmax": "argmax is not fused: runs alone",
    "int8_matmul": "opaque op: runs alone (integer GEMM, int32 accumulation)",
}


def is_fusable(node: Node) -> bool:
    """Elementwise ops, views and reductions may share a kernel; effectful nodes never do."""
    if get(node.op).effectful:
        return False
    return is_elementwise(node.op) or is_view(node.op) or is_reduction(node.op)


def node_names(graph: Graph) -> dict[int, str]:
    """``id(node) -> "%k"``, numbered as :func:`~tinytorch.ir.printer.format_graph` prints
    them (the graph's inputs first, then the other nodes in graph order)."""
    order = [*graph.inputs, *(n for n in graph.nodes if n.op != "input")]
    return {id(n): f"%{k}" for k, n in enumerate(order)}


def _dims(shape: Shape) -> str:
    return f"[{','.join(str(d) for d in shape)}]"


def _axes(axes) -> str:
    return str(tuple(axes))


def _broadcast_axes(expand: Node) -> tuple[int, ...]:
    """The output axes an ``expand`` broadcasts over (new leading axes included)."""
    src, dst = expand.inputs[0].shape, expand.shape
    lead = len(dst) - len(src)
    return tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(src) if d == 1 and dst[lead + i] != 1
    )


def _real_axes(axes, space: Shape) -> frozenset[int]:
    """Axes that matter: a size-1 axis is the same whether broadcast/reduced or not (and a
    0-d tensor "reduced" over axis 0 names an axis it does not have)."""
    return frozenset(a for a in axes if a < len(space) and space[a] != 1)


@dataclass(eq=False)
class _Group:
    root: Node
    members: list[Node] = field(default_factory=list)
    ids: set[int] = field(default_factory=set)
    space: Shape = ()  # F: the iteration space
    axes: tuple[int, ...] | None = None  # A: reduced axes (None: no reduction yet)

    def add(self, n: Node) -> None:
        self.members.append(n)
        self.ids.add(id(n))


def _row_shapes(space: Shape, axes: tuple[int, ...]) -> set[Shape]:
    return {reduced_shape(space, axes, True), reduced_shape(space, axes, False)}


class Fusion(Pass):
    """Annotate kernel groups (see the module docstring for the rules)."""

    name = "fusion"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        groups, reasons = _Planner(graph).plan()
        wanted = {id(n): (groups.get(id(n)), reasons[id(n)]) for n in graph.nodes if n.inputs}
        if all((n.meta.get("group"), n.meta.get("fusion")) == wanted[id(n)]
               for n in graph.nodes if n.inputs):  # fmt: skip
            return graph, False
        # Annotate copies, in the same order (the reasons name nodes by position): nodes may
        # be shared with other graphs. Leaves are never annotated, so they need no copy.
        copies: dict[int, Node] = {}
        nodes: list[Node] = []
        for n in graph.nodes:
            copy = n
            if n.inputs:
                copy = n.with_inputs(tuple(copies[id(i)] for i in n.inputs))
                group, reason = wanted[id(n)]
                if group is not None:
                    copy.meta["group"] = group
                copy.meta["fusion"] = reason
            copies[id(n)] = copy
            nodes.append(copy)
        outputs = [copies[id(o)] for o in graph.outputs]
        return Graph([copies[id(i)] for i in graph.inputs], outputs, nodes), True


# A reason is text, or text that names kernels, known only once the groups are numbered.
_Reason = str | Callable[[], str]


class _Planner:
    """One walk from the outputs back to the inputs, deciding each node's kernel."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.users = graph.users()
        self.outputs = {id(o) for o in graph.outputs}
        self.names = node_names(graph)
        self.group_of: dict[int, _Group] = {}
        self.groups: list[_Group] = []
        self.reasons: dict[int, _Reason] = {}
        self.numbering: dict[int, int] = {}

    def name(self, n: Node) -> str:
        return f"{self.names.get(id(n), '%?')} {n.op}"

    # ------------------------------------------------------------------ the walk
    def plan(self) -> tuple[dict[int, int], dict[int, str]]:
        for n in reversed(self.graph.nodes):
            if n.is_leaf:
                continue
            if not is_fusable(n):
                self.reasons[id(n)] = self._alone(n)
                continue
            readers = self.users.get(id(n), [])
            targets = {id(self.group_of.get(id(u))): self.group_of.get(id(u)) for u in readers}
            if id(n) in self.outputs:
                why: _Reason = "graph output, materialized"
            elif not readers:
                why = "no readers (dead code)"
            elif len(targets) > 1 or None in targets.values():
                why = self._read_by(readers)
            else:
                target = next(iter(targets.values()))
                assert target is not None
                problem = self._cannot_join(n, target)
                if problem is None:
                    target.add(n)
                    self.group_of[id(n)] = target
                    self.reasons[id(n)] = self._joined(n, target)
                    continue
                why = problem
            self._start_group(n, why)
        return self._number()

    def _alone(self, n: Node) -> str:
        opdef = get(n.op)
        if opdef.effectful:
            return "effectful: never fused, runs alone"
        return _ALONE.get(n.op, f"{opdef.kind} op: not fused, runs alone")

    def _start_group(self, root: Node, why: _Reason) -> None:
        group = _Group(root)
        group.add(root)
        if is_reduction(root.op):
            group.space, group.axes = root.inputs[0].shape, tuple(root.attrs["axes"])
        else:
            group.space = root.shape
        self.groups.append(group)
        self.group_of[id(root)] = group
        self.reasons[id(root)] = (
            f"root: {why}" if isinstance(why, str) else lambda: f"root: {why()}"
        )

    def _joined(self, n: Node, group: _Group) -> str:
        if is_view(n.op):
            return "fused: a view, index arithmetic in the kernel"
        if is_reduction(n.op):
            axes = _axes(n.attrs["axes"])
            return f"fused: reduction over axes {axes} of {_dims(group.space)}, read per row"
        return "fused: all its readers are in this kernel"

    def _read_by(self, readers: list[Node]) -> Callable[[], str]:
        unique = list({id(u): u for u in readers}.values())

        def place(u: Node) -> str:
            k = self.numbering.get(id(u))
            return f"{self.name(u)} ({'outside kernels' if k is None else f'kernel {k}'})"

        return lambda: f"materialized, read by {', '.join(place(u) for u in unique)}"

    # ------------------------------------------------------------ reductions
    def _cannot_join(self, n: Node, group: _Group) -> _Reason | None:
        """Why ``n`` may not join ``group``, the kernel of all its readers (None: it may)."""
        if not is_reduction(n.op):
            return None
        space, axes = n.inputs[0].shape, tuple(n.attrs["axes"])
        this = f"reduction of {_dims(space)} over axes {_axes(axes)}"
        if group.axes is None:
            # The kernel so far is elementwise. It can take this reduction if it iterates
            # over the reduction's input, or if everything in it is per-row work.
            rows = _row_shapes(space, axes)
            if group.space != space and not all(m.shape in rows for m in group.members):
                return (f"{this}; its readers' kernel iterates over {_dims(group.space)}, "
                        f"neither that input nor its rows")  # fmt: skip
        elif (space, axes) != (group.space, group.axes):
            return (f"{this}; its readers' kernel already reduces {_dims(group.space)} over "
                    f"axes {_axes(group.axes)}")  # fmt: skip
        problem = self._read_at_other_rows(n, group, space, axes)
        if problem is not None:
            return f"{this}, read at other rows: {problem}"
        group.space, group.axes = space, axes
        return None

    def _read_at_other_rows(
        self, n: Node, group: _Group, space: Shape, axes: tuple[int, ...]
    ) -> str | None:
        """Follow ``n``'s value through the kernel. It must go through row-shaped elementwise
        ops and reshapes into an ``expand`` over exactly the reduced axes, and from there only
        through elementwise ops over the whole space (or into another reduction), so that
        every element reads the accumulator of its own row. Returns what breaks this (None:
        nothing does). Readers outside the kernel read the materialized root: they do not
        matter."""
        rows = _row_shapes(space, axes)
        reduced = _real_axes(axes, space)
        todo, seen = [(n, True)], {id(n)}  # (node, its value is row-shaped)
        while todo:
            v, per_row = todo.pop()
            for u in self.users.get(id(v), []):
                if id(u) not in group.ids or id(u) in seen:
                    continue
                seen.add(id(u))
                elementwise = is_elementwise(u.op)
                if not per_row:
                    if is_reduction(u.op):
                        continue  # another reduction of the kernel: a new row value
                    if not (elementwise and u.shape == space):
                        return f"{self.name(u)} moves its elements to other rows"
                    todo.append((u, False))
                elif u.op == "expand" and u.shape == space:
                    broadcast = _real_axes(_broadcast_axes(u), space)
                    if broadcast != reduced:
                        return f"{self.name(u)} broadcasts over axes {_axes(sorted(broadcast))}"
                    todo.append((u, False))
                elif u.shape in rows and (elementwise or u.op == "reshape"):
                    todo.append((u, True))
                else:
                    return f"{self.name(u)} reads it as {type_str(u)}"
        return None

    # ------------------------------------------------------------- numbering
    def _number(self) -> tuple[dict[int, int], dict[int, str]]:
        position = {id(n): k for k, n in enumerate(self.graph.nodes)}
        kernels = []
        for g in self.groups:
            if all(is_view(m.op) for m in g.members):
                for m in g.members:
                    self.reasons[id(m)] = "view only: no data moves, stays a NumPy view"
            else:
                kernels.append(g)
        kernels.sort(key=lambda g: min(position[id(m)] for m in g.members))
        for k, g in enumerate(kernels):
            for m in g.members:
                self.numbering[id(m)] = k
        reasons = {k: r if isinstance(r, str) else r() for k, r in self.reasons.items()}
        return self.numbering, reasons


def fusion_report(graph: Graph, show_src: bool = True) -> str:
    """Which nodes went into which kernel, and why each node ended where it did.

    ``graph`` is a graph after the :class:`Fusion` pass. Nodes are named as
    :func:`~tinytorch.ir.printer.format_graph` prints them; ``show_src=False`` drops the
    user-line column (for golden tests)."""
    names = node_names(graph)
    kernels: dict[int, list[Node]] = {}
    alone: list[Node] = []
    for n in graph.nodes:
        if "group" in n.meta:
            kernels.setdefault(n.meta["group"], []).append(n)
        elif not n.is_leaf:
            alone.append(n)
    rows = [n for members in kernels.values() for n in members] + alone
    cols = [
        (lambda n: names.get(id(n), "%?"), True),
        (lambda n: n.op, False),
        (type_str, False),
    ]
    if show_src:
        cols.append((lambda n: short_src(n.src), False))
    widths = [max((len(f(n)) for n in rows), default=0) for f, _ in cols]

    def row(n: Node) -> str:
        cells = [f(n).rjust(w) if right else f(n).ljust(w)
                 for (f, right), w in zip(cols, widths, strict=True)]  # fmt: skip
        return f"  {' '.join(cells)}  {n.meta.get('fusion', '')}".rstrip()

    lines = [f"{len(kernels)} fused kernel(s), {len(alone)} op(s) outside kernels"]
    if rows and not any("fusion" in n.meta for n in rows):
        lines.append("(no fusion decisions recorded: has the fusion pass run on this graph?)")
    for k, members in sorted(kernels.items()):
        root = members[-1]
        ops = " ".join(m.op for m in members)
        lines.append(f"kernel {k} -> {names.get(id(root), '%?')} {type_str(root)}: {ops}")
        lines += [row(m) for m in members]
    if alone:
        lines.append("outside kernels:")
        lines += [row(m) for m in alone]
    return "\n".join(lines)
