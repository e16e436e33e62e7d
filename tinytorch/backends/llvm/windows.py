"""Sliding windows on the llvm backend: ``windows`` is index arithmetic, ``fold`` a kernel.

The IR's ``windows`` op (im2col's unfold, see :mod:`tinytorch.ir.ops.spatial`) makes the
``(kh, kw, N, C, OH, OW)`` array of every patch, and ``fold``, its gradient, scatter-adds
such an array back onto the image. Both are opaque to the fusion pass, and the NumPy backend
runs them as copies. On this backend neither needs a copy:

* **windows is an addressing rule.** Element ``[a, b, n, c, i, j]`` is pixel
  ``(i*sh - ph + a, j*sw - pw + b)`` of image ``(n, c)``, or ``pad_value`` when that pixel
  lies in the padding. Like a view (``permute``, ``reshape``...), a kernel that reads a
  ``windows`` node computes the source index and loads the input itself (:func:`eval_windows`):
  max pooling's ``max`` over the window axes reads the conv output directly, and the im2col
  matrix feeding the conv's matmul is written by one kernel straight from the image. A
  padded position is a ``select`` of ``pad_value`` (``-inf`` for max pooling, ``0`` for
  convolution) after an in-bounds load; without padding no check is emitted at all.
* **fold is a kernel of its own** (:func:`emit_fold`): per image ``n`` (the axis threads
  split, since images never overlap) it zeroes the gradient, then per channel and kernel offset
  ``(a, b)`` adds the window gradients onto the shifted, strided pixels they came from. The
  loop bounds skip windows that fall on the padding, so the inner loop has no branch and,
  for stride 1, vectorizes. Pooling's usual tiling (stride = kernel, no padding) gives each
  pixel one value: it is stored, row by row, with the kernel's columns unrolled. The window
  gradients are read through their views: a conv's input gradient reads the ``W^T @ dout``
  matmul output directly, with no permute copy.

Which nodes become what is decided when a plan is built (:func:`plan_inlined`): a
``windows`` node and the views over it are inlined into every kernel that reads them; a
NumPy step (a matmul, say) that reads such a chain gets a kernel that writes it once.
"""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from tinytorch.backends.llvm.group import is_inlined
from tinytorch.backends.llvm.lltypes import COMPILED_DTYPES, I64, const
from tinytorch.backends.llvm.mathlib import MathLib
from tinytorch.ir.families import is_view
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node

#: Ops this module lowers, beyond the elementwise/reduction tables of ``lowering.py``.
WINDOW_OPS = frozenset({"windows", "fold"})
#: The dtypes a ``fold`` kernel accumulates in (gradients are float).
FOLD_DTYPES = ("float32", "float64")


# ------------------------------------------------------------------ plan building
def plan_inlined(graph: Graph) -> set[int]:
    """The ids of the nodes that need a kernel of their own: ``fold`` nodes outside fused
    groups, and each chain ``windows -> views`` at the point a NumPy step or the caller
    reads it (the im2col matrix a matmul reads). A chain read only by kernels gets none:
    each kernel recomputes it by index arithmetic. A view of a materialized chain is a
    NumPy view of that buffer again (the transposed im2col matrix of a weight gradient)."""
    users = graph.users()
    outputs = {id(o) for o in graph.outputs}
    chain: set[int] = set()  # windows chains not yet materialized
    wanted: set[int] = set()
    for n in graph.nodes:
        if n.op == "fold" and "group" not in n.meta:
            if n.dtype in FOLD_DTYPES:  # others stay NumPy steps, as before
                wanted.add(id(n))
            continue
        if not is_inlined(n) or n.dtype not in COMPILED_DTYPES:
            continue
        if n.op == "windows" or any(id(i) in chain for i in n.inputs):
            numpy_reader = any(
                "group" not in u.meta and not is_inlined(u) and u.op != "fold"
                for u in users.get(id(n), [])
            )
            if id(n) in outputs or numpy_reader:
                wanted.add(id(n))
            else:
                chain.add(id(n))
    return wanted


def note_plan(graph: Graph, steps: Sequence[tuple], own: set[int]) -> None:
    """Say in each node's fusion reason (``tinytorch.fusion_report`` on llvm) what became of
    it: a ``windows`` node no step computes is index arithmetic inside its readers; a node
    of ``own`` that a kernel computes is a kernel of its own."""
    numpy_nodes = {id(s[1]) for s in steps if s[0] == "numpy"}
    kernel_roots = {id(s[4][-1]) for s in steps if s[0] == "kernel"}
    for n in graph.nodes:
        if n.op == "windows" and id(n) not in numpy_nodes and id(n) not in kernel_roots:
            note = "llvm: index arithmetic in the kernels that read it, no copy"
        elif id(n) in own and id(n) in kernel_roots:
            note = "llvm: a kernel of its own"
        else:
            continue
        n.meta["fusion"] = f"{n.meta.get('fusion', '')}; {note}"


# ------------------------------------------------------------------- windows
def _geometry(n: Node) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    return n.attrs["kernel"], n.attrs["stride"], n.attrs["padding"]


def eval_windows(cg, n: Node, idx: list, memo: dict) -> ir.Value:
    """The value of ``windows`` node ``n`` at ``idx = [a, b, n, c, i, j]``: the input at
    ``(n, c, i*sh - ph + a, j*sw - pw + b)``, or the pad value outside the image. ``cg`` is
    the :class:`~tinytorch.backends.llvm.codegen.KernelBuilder` (its integer helpers fold
    compile-time indices)."""
    (_, _), (sh, sw), (ph, pw) = _geometry(n)
    a, b, image, channel, i, j = idx
    height, width = n.inputs[0].shape[2:]
    rows = [cg.iadd(cg.iadd(cg.imul(i, sh), a), -ph), cg.iadd(cg.iadd(cg.imul(j, sw), b), -pw)]
    inside = None
    for k, (pos, pad, size) in enumerate(zip(rows, (ph, pw), (height, width), strict=True)):
        if pad == 0:  # no padding: every window position is a pixel (the OH/OW formula)
            continue
        if isinstance(pos, int):
            ok = ir.Constant(ir.IntType(1), 0 <= pos < size)
            rows[k] = pos if 0 <= pos < size else 0
        else:  # one unsigned compare: a negative position wraps to a huge one
            ok = cg.b.icmp_unsigned("<", pos, ir.Constant(I64, size))
            rows[k] = cg.b.select(ok, pos, ir.Constant(I64, 0))  # a safe address to load
        inside = ok if inside is None else cg.b.and_(inside, ok)
    value = cg.eval(n.inputs[0], [image, channel, *rows], memo)
    if inside is None:
        return value
    return cg.b.select(inside, value, const(n.attrs["pad_value"], n.dtype))


# ---------------------------------------------------------------------- fold
def _first_last(cg, offset, pad: int, stride: int, size: int, count: int):
    """The window positions ``[lo, hi)`` whose pixel ``p*stride + offset - pad`` lies in
    ``[0, size)``, clipped to ``[0, count)``; ``offset`` is a run-time kernel offset."""
    b = cg.b
    zero = ir.Constant(I64, 0)
    ahead = b.sub(ir.Constant(I64, pad), offset)  # pixels of padding before this offset
    ahead = b.select(b.icmp_signed(">", ahead, zero), ahead, zero)
    lo = b.udiv(b.add(ahead, ir.Constant(I64, stride - 1)), ir.Constant(I64, stride))
    last = b.sub(ir.Constant(I64, size - 1 + pad), offset)  # the last pixel, as a position
    hi = b.add(b.udiv(last, ir.Constant(I64, stride)), ir.Constant(I64, 1))
    hi = b.select(b.icmp_signed("<", hi, ir.Constant(I64, count)), hi, ir.Constant(I64, count))
    hi = b.select(b.icmp_signed("<", last, zero), zero, hi)
    return lo, hi


def emit_fold(cg, fn: ir.Function) -> int:
    """The body of a kernel whose root is ``fold`` (see the module docstring); returns the
    extent threads split (the batch axis)."""
    root = cg.root
    (kh, kw), (sh, sw), (ph, pw) = _geometry(root)
    images, channels, height, width = root.shape
    g = root.inputs[0]
    out_h, out_w = g.shape[4], g.shape[5]
    cg.b = ir.IRBuilder(fn.append_basic_block("entry"))
    cg.math = MathLib(cg.module, cg.b)
    cg.out_ptr, cg.arg_ptrs, cg.accs = fn.args[2], list(fn.args[3:]), {}
    zero = const(0, root.dtype)

    def clear(image):  # the whole image first: a stray write would show in a test
        cg.loop(0, channels, lambda c: cg.loop(0, height, lambda y: cg.loop(
            0, width, lambda x: cg._store(root, zero, [image, c, y, x]))))  # fmt: skip

    def plane(image, channel):
        def offset(a, b):
            i_lo, i_hi = _first_last(cg, a, ph, sh, height, out_h)
            j_lo, j_hi = _first_last(cg, b, pw, sw, width, out_w)

            def add(i, j):
                y = cg.iadd(cg.iadd(cg.imul(i, sh), a), -ph)
                x = cg.iadd(cg.iadd(cg.imul(j, sw), b), -pw)
                address = cg._address(cg.out_ptr, root.shape, [image, channel, y, x])
                value = cg.eval(g, [a, b, image, channel, i, j], {})
                cg.b.store(cg.b.fadd(cg.b.load(address), value), address)

            cg.loop(i_lo, i_hi, lambda i: cg.loop(j_lo, j_hi, lambda j: add(i, j)))

        cg.loop(0, kh, lambda a: cg.loop(0, kw, lambda b: offset(a, b)))

    def tiles(image, channel):  # stride == kernel, no padding: each pixel gets one value
        def row(i, a):
            def put(j):
                for b in range(kw):  # unrolled: kw interleaved stores, contiguous in x
                    at = [image, channel, cg.iadd(cg.imul(i, sh), a), cg.iadd(cg.imul(j, sw), b)]
                    value = cg.eval(g, [a, b, image, channel, i, j], {})
                    cg.b.store(value, cg._address(cg.out_ptr, root.shape, at))

            cg.loop(0, out_w, put)

        cg.loop(0, out_h, lambda i: cg.loop(0, kh, lambda a: row(i, a)))

    tiled = (sh, sw) == (kh, kw) and (ph, pw) == (0, 0)

    def image(n):
        clear(n)
        cg.loop(0, channels, lambda c: (tiles if tiled else plane)(n, c))

    cg.loop(fn.args[0], fn.args[1], image)
    cg.b.ret_void()
    return images


def check_fold(members: Sequence[Node]) -> str | None:
    """Why a group holding a ``fold`` cannot be compiled (None: it can): ``fold`` must be
    the root, of a float dtype, with only views and ``windows`` before it."""
    root = members[-1]
    if any(m.op == "fold" for m in members[:-1]):
        return "fold is compiled only as the root of its own kernel"
    if root.op == "fold":
        if root.dtype not in FOLD_DTYPES:
            return f"fold of {root.dtype}"
        if not all(is_view(m.op) or m.op == "windows" for m in members[:-1]):
            return "fold reads only views in its kernel"
    return None
