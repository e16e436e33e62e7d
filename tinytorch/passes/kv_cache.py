"""KV-cache rewrite: "recompute K and V for the whole prefix" becomes "compute this
position's K and V, write them into the cache, attend over the filled prefix".

What the decode step says. A cached attention layer (``MultiHeadAttention.forward_cached``)
is written the simple way: it appends its new input rows ``h_new`` to a stash of every input
it has seen (``h_all = kv_cache_write(stash, h_new, pos)``), recomputes the keys and values
of **all** positions from it (``K_all = split(h_all @ Wk + bk)``) and stores them in the K/V
cache (``kv_cache_write(k_cache, K_all, 0, memoized=True)``) before attending over the
cache. Correct, and as slow as no cache at all: ``max_seq_len`` rows through two projections
per layer per token.

What this pass sees. ``K_all`` is a *row-wise* function ``F`` of the stash: every op between
the stash write and the K/V write treats rows independently (reshapes and permutes that
carry the row axis along, a matmul with the rows on the left and a weight on the right,
elementwise ops whose other operands are broadcasts). So row ``i`` of ``K_all`` depends only
on row ``i`` of the stash, and rows ``< pos`` are unchanged since the previous step, when
they were already written. ``memoized=True`` on the write is the frontend's promise that
this holds: the cache always receives ``F`` of the stash rows written. The pass then
rewrites::

    kv_cache_write(k_cache, F(kv_cache_write(stash, h_new, pos)), 0, memoized)
      -> kv_cache_write(k_cache, F(h_new), pos, memoized)

``F`` is rebuilt on the new rows (``n`` instead of ``max_seq_len``: reshape and broadcast
shapes scaled along the row axis). The recomputation chain is left dead for DCE; the stash
write stays (it is an effect: no pass drops one), and the written cache is what attention
reads. A graph with no memoized write is returned unchanged, at the cost of one scan.

Effects keep their identity: the rewritten write has the same op, attributes and output
shape, so the verifier's "no effect dropped or merged" check holds; only what is written
(``n`` rows at ``pos`` instead of every row at 0) changed.
"""

from __future__ import annotations

from tinytorch.ir.build import make
from tinytorch.ir.families import is_elementwise
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.shapes import prod
from tinytorch.passes.base import Pass

Rows = tuple[Node, int]  # a rebuilt node and the position of its row axis


class _NotRowWise(Exception):
    """The chain from the stash to the cache is not row-wise: leave it alone."""


class KVCacheRewrite(Pass):
    """Write only the new positions' K/V into the cache (see the module docstring)."""

    name = "kv_cache_rewrite"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        if not any(n.op == "kv_cache_write" and n.attrs.get("memoized") for n in graph.nodes):
            return graph, False
        changed = False

        def rewrite(node: Node, inputs: tuple[Node, ...]) -> Node | None:
            nonlocal changed
            if node.op != "kv_cache_write" or not node.attrs.get("memoized"):
                return None
            cache, values, _ = inputs
            stash = _stash_write(values)
            if stash is None or stash.inputs[1].shape[2] == stash.shape[2]:
                return None  # not a recomputation (or every row is new: nothing to save)
            try:
                new_rows, _ = _RowRebuild(stash).rows(values)
            except _NotRowWise:
                return None
            changed = True
            return make("kv_cache_write", (cache, new_rows, stash.inputs[2]), src=node.src,
                        **node.attrs)  # fmt: skip

        new = graph.rewrite(rewrite)
        return (new, True) if changed else (graph, False)


def _stash_write(values: Node) -> Node | None:
    """The one un-memoized ``kv_cache_write`` that ``values`` is computed from, if any."""
    found: list[Node] = []
    todo, seen = [values], set()
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.op == "kv_cache_write":
            if n.attrs.get("memoized"):
                return None
            found.append(n)
            continue
        todo.extend(n.inputs)
    return found[0] if len(found) == 1 else None


class _RowRebuild:
    """Rebuild a row-wise chain on the stash's new rows (``n`` rows instead of ``S``)."""

    def __init__(self, stash: Node) -> None:
        self.stash = stash
        self.full = stash.shape[2]  # S: rows of the whole buffer
        self.new = stash.inputs[1].shape[2]  # n: rows written now
        self.memo: dict[int, Rows | None] = {}

    def rows(self, node: Node) -> Rows:
        if id(node) not in self.memo:
            self.memo[id(node)] = self._rebuild(node)
        found = self.memo[id(node)]
        if found is None:
            raise _NotRowWise(node.op)
        return found

    def depends(self, node: Node) -> bool:
        todo, seen = [node], set()
        while todo:
            n = todo.pop()
            if n is self.stash:
                return True
            if id(n) not in seen:
                seen.add(id(n))
                todo.extend(n.inputs)
        return False

    def _rebuild(self, node: Node) -> Rows | None:
        if node is self.stash:
            return self.stash.inputs[1], 2  # the new rows, (B, 1, n, E): rows on axis 2
        op = node.op
        if op == "reshape":
            x, axis = self.rows(node.inputs[0])
            out_axis, shape = self._reshaped(node.inputs[0].shape, axis, node.shape)
            return make("reshape", (x,), src=node.src, shape=shape), out_axis
        if op == "permute":
            x, axis = self.rows(node.inputs[0])
            perm = node.attrs["perm"]
            return make("permute", (x,), src=node.src, perm=perm), list(perm).index(axis)
        if op == "matmul":
            left, right = node.inputs
            if self.depends(right) or left.ndim != node.ndim:
                return None
            x, axis = self.rows(left)
            if axis >= left.ndim - 1:  # the contracted axis cannot be the row axis
                return None
            return make("matmul", (x, right), src=node.src), axis
        if is_elementwise(op):
            return self._elementwise(node)
        return None

    def _elementwise(self, node: Node) -> Rows | None:
        axis = None
        for i in node.inputs:
            if self.depends(i):
                _, a = self.rows(i)
                if axis not in (None, a):
                    return None
                axis = a
        if axis is None:
            return None
        shape = self._scaled(node.shape, axis)
        inputs = []
        for i in node.inputs:
            if self.depends(i):
                inputs.append(self.rows(i)[0])
            elif i.op == "expand":  # a broadcast along the rows (a bias): broadcast to n rows
                inputs.append(make("expand", i.inputs, src=i.src, shape=shape))
            elif i.op == "const":
                inputs.append(make("const", (), src=i.src, **{**i.attrs, "shape": shape}))
            else:
                return None
        return make(node.op, inputs, src=node.src, **node.attrs), axis

    def _scaled(self, shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
        """``shape`` with the row block of ``axis`` holding ``n`` rows instead of ``S``."""
        if shape[axis] % self.full:
            raise _NotRowWise("row axis")
        return shape[:axis] + (shape[axis] // self.full * self.new,) + shape[axis + 1 :]

    def _reshaped(
        self, before: tuple[int, ...], axis: int, after: tuple[int, ...]
    ) -> tuple[int, tuple[int, ...]]:
        """Where the row block lands after a reshape, and the reshape's new target shape.

        The rows are the minor block of size ``S`` of ``axis``, with stride ``inner``
        (the elements of one row); after the reshape they must again be the minor block of
        one axis with that stride (merged with outer axes, such as the batch, is fine)."""
        inner = prod(before[axis + 1 :])
        outer = prod(before[:axis]) * (before[axis] // self.full)
        for b in range(len(after)):
            lands = prod(after[b + 1 :]) == inner and after[b] % self.full == 0
            if lands and prod(after[:b]) * (after[b] // self.full) == outer:
                return b, self._scaled(after, b)
        raise _NotRowWise("reshape splits the rows")
