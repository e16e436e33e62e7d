"""A fused group as a kernel sees it: what it computes, what it reads, what it is.

The fusion pass hands the backend groups of nodes (``meta["group"]``). Three questions about
a group are asked both when a kernel is generated and when a plan calls it, so they are
answered here, once:

* :func:`kernel_body` — the nodes the kernel computes: the group plus the views it reads;
* :func:`group_args` — the buffers it reads, in kernel-argument order;
* :func:`group_signature` — its structure without node identity: the kernel cache's key.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytorch.ir.families import is_view
from tinytorch.ir.graph import topo_order
from tinytorch.ir.node import Node


def is_inlined(n: Node) -> bool:
    """Is ``n`` read by index arithmetic inside the kernels that read it? Views are, and so
    are ``windows`` nodes (each element is one input pixel or the pad value: see
    ``windows.py``), unless a fused group computes them as its output."""
    return (is_view(n.op) or n.op == "windows") and "group" not in n.meta


def kernel_body(members: Sequence[Node]) -> list[Node]:
    """The nodes a kernel computes: the fused group, plus the views (and ``windows``) outside
    it that its members read (chains of expand/permute/reshape/slice). Those become index
    arithmetic in the kernel: a broadcast is read with stride 0, a transpose with swapped
    strides, and no copy is made, even when several kernels read the same view. (A view
    that another kernel computes, as its output, is that kernel's buffer and is read as
    such.) In graph order."""
    inside = {id(m) for m in members}
    todo = [i for m in members for i in m.inputs if id(i) not in inside]
    while todo:
        n = todo.pop()
        if is_inlined(n) and id(n) not in inside:
            inside.add(id(n))
            todo.extend(n.inputs)
    order = topo_order([members[-1]], stop=lambda n: id(n) not in inside)
    return [n for n in order if id(n) in inside]


def group_args(members: Sequence[Node]) -> list[Node]:
    """The buffers a group reads, in kernel-argument order (first use while walking the
    members' inputs; constants are inlined, not passed). A cached kernel compiled for
    another graph of the same structure takes *this* graph's buffers in this order."""
    inside = {id(m) for m in members}
    args: dict[int, Node] = {}
    for m in members:
        for i in m.inputs:
            if id(i) not in inside and i.op != "const":
                args.setdefault(id(i), i)
    return list(args.values())


def group_signature(members: Sequence[Node]) -> tuple:
    """Structure of a fused group, independent of node identity: each member's own key and
    where each of its inputs comes from (another member, an inlined constant, or the k-th
    argument buffer, with its shape and dtype)."""
    index = {id(m): k for k, m in enumerate(members)}
    args: dict[int, int] = {}
    rows = []
    for m in members:
        refs = []
        for i in m.inputs:
            if id(i) in index:
                refs.append(("m", index[id(i)]))
            elif i.op == "const":
                refs.append(("c", i.key))
            else:
                args.setdefault(id(i), len(args))
                refs.append(("a", args[id(i)], i.shape, i.dtype))
        rows.append((m.key, tuple(refs)))
    return tuple(rows)
