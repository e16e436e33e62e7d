"""Index arithmetic for kernels: integers folded at compile time, and where a view's
element lives in its input.

A kernel index is a list with one entry per axis: a Python ``int`` when the position is known
while the kernel is generated (a size-1 axis, a constant offset), an LLVM ``i64`` value when it
is a loop variable. :class:`IndexArithmetic`'s ``iadd``/``imul``/``idiv``/``irem`` fold ints
and emit instructions only for values, so broadcast and size-1 axes cost nothing. Views are
index rewrites, never copies: ``expand`` (stride 0 on broadcast axes), ``permute``, ``slice``
and row-major ``reshape`` (see :func:`reshape_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from tinytorch.backends.llvm.lltypes import I64, Unsupported
from tinytorch.ir.node import Node

Index = list  # one int or ir.Value per axis


def strides(shape: Sequence[int]) -> list[int]:
    out, step = [], 1
    for d in reversed(shape):
        out.append(step)
        step *= d
    return out[::-1]


def reshape_runs(
    src: Sequence[int], dst: Sequence[int]
) -> list[tuple[list[int], list[int]]] | None:
    """Pair the axes of a row-major reshape ``src -> dst`` into runs of equal size:
    ``(8, 43264) -> (8, 64, 26, 26)`` is ``[([0], [0]), ([1], [1, 2, 3])]``. Size-1 axes are
    left out (their index is 0). None when a size is 0."""
    if 0 in src or 0 in dst:
        return None
    a = [d for d, size in enumerate(src) if size != 1]
    b = [d for d, size in enumerate(dst) if size != 1]
    runs, i, j = [], 0, 0
    while i < len(a):
        run_a, run_b, pa, pb = [a[i]], [b[j]], src[a[i]], dst[b[j]]
        i, j = i + 1, j + 1
        while pa != pb:
            if pa < pb:
                run_a.append(a[i])
                pa, i = pa * src[a[i]], i + 1
            else:
                run_b.append(b[j])
                pb, j = pb * dst[b[j]], j + 1
        runs.append((run_a, run_b))
    return runs


class IndexArithmetic:
    """Mixed into the kernel builder (which provides ``self.b``, its ``ir.IRBuilder``)."""

    b: ir.IRBuilder

    def _view_index(self, n: Node, idx: Index) -> Index:
        """The index into a view's input that holds the view's element at ``idx``."""
        if n.op == "expand":
            return self._expand_index(n, idx)
        if n.op == "permute":
            src = [0] * n.ndim
            for k, p in enumerate(n.attrs["perm"]):
                src[p] = idx[k]
            return src
        if n.op == "reshape":
            return self._reshape_index(n, idx)
        if n.op == "slice":
            return [self.iadd(b, self.imul(i, s)) for i, b, s in
                    zip(idx, n.attrs["starts"], n.attrs["steps"], strict=True)]  # fmt: skip
        raise Unsupported(f"view {n.op!r} has no index rule in the llvm backend")

    def _expand_index(self, n: Node, idx: Index) -> Index:
        src = n.inputs[0].shape
        lead = n.ndim - len(src)
        return [0 if d == 1 else idx[lead + k] for k, d in enumerate(src)]

    def _reshape_index(self, n: Node, idx: Index) -> Index:
        """Row-major reshapes split or merge runs of adjacent axes (see
        :func:`reshape_runs`). Splitting one axis into several is a sum of products, with no
        division; only a merge (one index into several axes) needs ``div``/``rem``."""
        src = n.inputs[0].shape
        runs = reshape_runs(src, n.shape)
        if runs is None:  # an empty tensor: nothing is read
            return [0] * len(src)
        out: Index = [0] * len(src)
        for src_axes, dst_axes in runs:
            flat = 0
            for d, s in zip(dst_axes, strides([n.shape[d] for d in dst_axes]), strict=True):
                flat = self.iadd(flat, self.imul(idx[d], s))
            sizes = [src[d] for d in src_axes]
            for k, (d, s) in enumerate(zip(src_axes, strides(sizes), strict=True)):
                part = self.idiv(flat, s)
                out[d] = part if k == 0 else self.irem(part, sizes[k])
        return out

    # -------------------------------------------------- index arithmetic (folds ints)
    def iadd(self, a, c):
        if isinstance(a, int) and isinstance(c, int):
            return a + c
        if isinstance(c, int) and c == 0:
            return a
        if isinstance(a, int) and a == 0:
            return c
        return self.b.add(self._i(a), self._i(c))

    def imul(self, a, c):
        if isinstance(a, int) and isinstance(c, int):
            return a * c
        if isinstance(c, int) and c == 1:
            return a
        if (isinstance(c, int) and c == 0) or (isinstance(a, int) and a == 0):
            return 0
        return self.b.mul(self._i(a), self._i(c))

    def idiv(self, a, c):
        if isinstance(a, int):
            return a // c
        return a if c == 1 else self.b.udiv(a, self._i(c))

    def irem(self, a, c):
        if isinstance(a, int):
            return a % c
        return self.b.urem(a, self._i(c))

    @staticmethod
    def _i(v):
        return ir.Constant(I64, v) if isinstance(v, int) else v
