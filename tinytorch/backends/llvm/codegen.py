"""From a fused group to an LLVM IR kernel.

A kernel computes one output (the group's root) over an iteration space F with a set of
reduced axes A (possibly none). Its shape, in pseudo-code::

    void kernel(i64 start, i64 stop, T* noalias out, T* noalias in0, ...):
        for o0 in [start, stop):            # the first kept axis (threads split this one)
          for o1 ...:                       # the other kept axes
            acc_r = reduce over A of expr   # one loop per reduction, in graph order
            ...
            for a0 ... over A:              # (a row-sized root is stored once instead)
              out[o, a] = expr(root)

``expr`` evaluates a member at an index (children first, with an explicit stack rather than
recursion, so chains of thousands of ops compile): elementwise ops apply their emitter from
the lowering table (:mod:`~tinytorch.backends.llvm.lowering`) to their inputs' values at the
same index; views (``expand``/``permute``/``reshape``/``slice``) only rewrite the index
(broadcast is stride 0); a reduction read at the current row is its accumulator; anything
outside the group is a load from an argument buffer, whose shape and strides are baked in as
constants. Indices are Python ints where they are known at compile time, so size-1 and
broadcast axes cost nothing.

This module owns the kernel's structure (loops, index arithmetic, loads and stores); the
arithmetic of each op lives in ``lowering.py`` and the LLVM types of dtypes in
``lltypes.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from llvmlite import ir

from tinytorch.backends.llvm.group import group_args
from tinytorch.backends.llvm.indexing import Index, IndexArithmetic, strides
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.backends.llvm.lltypes import (
    I8,
    I64,
    Unsupported,
    check_compiled,
    const,
    convert,
    memory_type,
    register_type,
)
from tinytorch.backends.llvm.lowering import EMITTERS, REDUCERS
from tinytorch.backends.llvm.mathlib import MathLib
from tinytorch.backends.llvm.windows import WINDOW_OPS, check_fold, emit_fold, eval_windows
from tinytorch.ir.dtypes import is_bool
from tinytorch.ir.families import is_reduction, is_view
from tinytorch.ir.node import Node
from tinytorch.ir.shapes import reduced_shape

# A column reduction keeps at least this many rows inside its reduced loops (see
# ``KernelBuilder._emit_column``): a few vectors' worth, so the inner loop vectorizes.
COLUMN_BLOCK = 128
# Reduced loops with at most this many elements per row, none on the innermost axis, are
# unrolled (see ``KernelBuilder.__init__``).
UNROLL_REDUCED = 16


@dataclass
class KernelSource:
    """A generated kernel, before compilation: its LLVM IR and how to call it."""

    name: str
    ir: str
    args: list[Node]  # buffers read, in argument order (after the output)
    outer: int  # the extent of the first kept axis (what start/stop range over)


def finish_ir(text: str, names: Sequence[str]) -> str:
    """Two code-generation choices applied to the finished IR text:

    * ``contract`` on float add/sub/mul lets LLVM fuse a*b+c into one FMA instruction (one
      rounding instead of two: results may differ from NumPy's in the last bit);
    * on AVX-512 CPUs, ``"prefer-vector-width"="512"`` makes the vectorizer use 16-float
      registers (LLVM defaults to 256 bits on Intel; these kernels are compute-light and
      memory-bound, so the wider vectors pay off: ~1.6x on the GELU benchmark).
    """
    text = re.sub(r"= (fadd|fsub|fmul) (float|double) ", r"= \1 contract \2 ", text)
    if "+avx512f" in get_jit().host.features:
        for name in names:
            text = re.sub(rf'(define void @"{name}"\([^)]*\))', r"\1 #0", text, count=1)
        text += '\nattributes #0 = { "prefer-vector-width"="512" }\n'
    return text


def accumulator_dtype(reduction: Node) -> str:
    """The dtype a row reduction accumulates in. A float32 sum accumulates in float64: the
    vectorizer splits a sum into a few lanes, and each lane of a long float32 row drifts
    (10^7 x 0.1 summed to 998501 in float32 lanes; NumPy's pairwise sum gives 1000000.1).
    Widening keeps the loop vectorized (``fpext`` + ``fadd`` per lane) and the result
    exact to float32 rounding for any realistic length. (Column reductions add one row at
    a time into the output, as NumPy does for a non-contiguous axis.)"""
    if reduction.op == "sum" and reduction.dtype == "float32":
        return "float64"
    return reduction.dtype


class KernelBuilder(IndexArithmetic):
    """Generates the kernel of one fused group (its body: see ``group.kernel_body``).

    Refuses, with :class:`Unsupported`, a group that reads or writes a dtype outside
    ``lltypes.COMPILED_DTYPES`` or contains an op with no lowering."""

    def __init__(self, members: Sequence[Node], name: str) -> None:
        self.members = list(members)
        self.member_ids = {id(m) for m in members}
        self.root = self.members[-1]
        self.name = name
        reduces = [m for m in self.members if is_reduction(m.op)]
        if reduces:
            self.space = reduces[0].inputs[0].shape
            # (a 0-d tensor "reduced" over axis 0 names an axis it does not have)
            self.axes = tuple(a for a in reduces[0].attrs["axes"] if a < len(self.space))
        else:
            self.space, self.axes = self.root.shape, ()
        # What the kernel evaluates and stores. A root that only reshapes another member is
        # stored through that member's shape instead: the same bytes in row-major order, and
        # the loops run over the finer axes, so no index is ever split with div/rem.
        self.value_root = self.root
        if not reduces:
            while (self.value_root.op == "reshape" and self.value_root.inputs[0].op != "const"
                   and id(self.value_root.inputs[0]) in self.member_ids):  # fmt: skip
                self.value_root = self.value_root.inputs[0]
            self.space = self.value_root.shape
        self.reduces = reduces
        self.row_shapes = {reduced_shape(self.space, self.axes, True),
                           reduced_shape(self.space, self.axes, False)}  # fmt: skip
        # A few reduced elements per row, none on the innermost axis (max pooling's gradient
        # over its 2x2 window axes): the reduced loops are unrolled, so the innermost kept
        # axis is the inner loop and vectorizes across rows.
        extent = 1
        for a in self.axes:
            extent *= self.space[a]
        self.unroll_reduced = (bool(self.axes) and len(self.space) - 1 not in self.axes
                               and extent <= UNROLL_REDUCED)  # fmt: skip
        self.args = group_args(self.members)
        self.arg_index = {id(a): k for k, a in enumerate(self.args)}
        for n in [*self.members, *self.args]:
            check_compiled(n.dtype)
        for m in self.members:
            if not (is_view(m.op) or m.op in EMITTERS or m.op in REDUCERS or m.op in WINDOW_OPS):
                raise Unsupported(f"op {m.op!r} has no LLVM emitter")
        problem = check_fold(self.members)
        if problem is not None:
            raise Unsupported(problem)

    # ------------------------------------------------------------------ driver
    def build(self, module: ir.Module | None = None) -> KernelSource:
        """Emit the kernel as a function of ``module`` (a new module if None: then the
        source's IR is a complete, finished module; otherwise call :func:`finish_ir` on the
        shared module's text once every kernel is in it)."""
        own = module is None
        self.module = ir.Module(name=self.name) if own else module
        arg_types = [I64, I64] + [memory_type(n.dtype).as_pointer()
                                  for n in [self.root, *self.args]]  # fmt: skip
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), arg_types), self.name)
        for a in fn.args[2:]:
            a.add_attribute("noalias")
        self.fn = fn
        kept = [d for d in range(len(self.space)) if d not in self.axes]
        # Size-1 axes get no loop (their index is 0), so threads split a real axis.
        ones = {d: 0 for d in kept if self.space[d] == 1}
        kept = [d for d in kept if d not in ones]
        # A reduction whose innermost axis is kept (a "column" reduction: the bias gradient
        # summed over the batch, pooling over leading window axes) walks memory in order
        # and accumulates into the output, so the inner loop is contiguous and vectorizes.
        self.column = (len(self.reduces) == 1 and self.reduces[0] is self.root
                       and bool(self.axes) and len(self.space) - 1 not in self.axes
                       and not self.unroll_reduced)  # fmt: skip
        try:
            if self.root.op == "fold":
                self._fold_outer = emit_fold(self, fn)
            elif self.column:
                self._emit_column(fn)
            else:
                self._emit_body(fn, kept, ones)
        except Exception:
            # An op found unsupported half-way (integer pow) leaves a function without its
            # last blocks; in a module shared with other kernels that would make the whole
            # module fail to parse. Take it out again before reporting the failure.
            if not own:
                del self.module.globals[fn.name]
            raise
        if self.root.op == "fold":
            outer = self._fold_outer
        elif self.column:
            outer = self.space[self._column_split] if self._column_split is not None else 1
        else:
            outer = self.space[kept[0]] if kept else 1
        text = finish_ir(str(self.module), [self.name]) if own else ""
        return KernelSource(self.name, text, self.args, outer)

    def _emit_body(self, fn: ir.Function, kept: list[int], ones: dict[int, int]) -> None:
        """The entry block, the loops over the kept axes and the row body, the return."""
        entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(entry)
        self.math = MathLib(self.module, self.b)
        self.out_ptr = fn.args[2]
        self.arg_ptrs = list(fn.args[3:])
        self.acc_slots = {id(r): self.b.alloca(register_type(accumulator_dtype(r)),
                                               name=f"acc.{r.op}")
                          for r in self.reduces}  # fmt: skip
        self.accs: dict[int, ir.Value] = {}
        start, stop = fn.args[0], fn.args[1]
        if kept:
            self._outer_loops(kept, 0, ones, start, stop)
        else:
            self._row_body(ones)
        self.b.ret_void()

    def _emit_column(self, fn: ir.Function) -> None:
        """out = init; then for every element of the space, in memory order,
        out[row] = combine(out[row], x[element]).

        Blocked: the innermost kept axes after the last reduced one (at least
        ``COLUMN_BLOCK`` rows, when there are that many) stay inside the reduced loops,
        contiguous and vectorized; the other kept axes move outside them, so a block of rows
        is initialized, accumulated and finished while it is in cache (max pooling of
        ``(kh, kw, N, C, OH, OW)`` runs per image and channel, not ``kh*kw`` passes over
        everything). Each row still combines its elements in memory order. Threads split the
        outermost kept axis (rows of different threads never meet)."""
        entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(entry)
        self.math = MathLib(self.module, self.b)
        self.out_ptr = fn.args[2]
        self.arg_ptrs = list(fn.args[3:])
        self.accs = {}
        root, x = self.root, self.root.inputs[0]
        start, stop = fn.args[0], fn.args[1]
        kept = [d for d in range(len(self.space)) if d not in self.axes]
        reduced = sorted(self.axes)
        inner: list[int] = []
        rows = 1
        for d in reversed([d for d in kept if d > reduced[-1]]):
            if rows >= COLUMN_BLOCK:
                break
            inner.insert(0, d)
            rows *= self.space[d]
        outer = [d for d in kept if d not in inner]
        split = (outer or inner or [None])[0]
        self._column_split = split

        def nest(axes, k, fixed, body):
            if k == len(axes):
                body(fixed)
                return
            d = axes[k]
            lo, hi = (start, stop) if d == split else (0, self.space[d])
            self.loop(lo, hi, lambda i: nest(axes, k + 1, {**fixed, d: i}, body))

        def init(fixed):
            idx = self._row_index(root.shape, fixed)
            self._store(root, REDUCERS[root.op].identity(root.dtype), idx)

        def accumulate(fixed):
            full = [fixed[d] for d in range(len(self.space))]
            v = convert(self.b, self.eval(x, full, {}), x.dtype, root.dtype)
            address = self._address(self.out_ptr, root.shape, self._row_index(root.shape, fixed))
            acc = self.b.load(address)
            if is_bool(root.dtype):
                acc = self.b.icmp_unsigned("!=", acc, ir.Constant(I8, 0))
            out = REDUCERS[root.op].combine(self, acc, v, root.dtype)
            self._store(root, out, self._row_index(root.shape, fixed))

        def block(fixed):
            nest(inner, 0, fixed, init)
            nest([*reduced, *inner], 0, fixed, accumulate)

        nest(outer, 0, {}, block)
        self.b.ret_void()

    def _outer_loops(self, kept, k, fixed, start, stop):
        lo, hi = (start, stop) if k == 0 else (0, self.space[kept[k]])

        def body(i):
            inner = {**fixed, kept[k]: i}
            if k + 1 < len(kept):
                self._outer_loops(kept, k + 1, inner, start, stop)
            else:
                self._row_body(inner)

        self.loop(lo, hi, body)

    def _row_body(self, outer: dict[int, object]) -> None:
        """One row: a loop per reduction, then the root."""
        self.accs = {}
        for r in self.reduces:
            self._reduce_phase(r, outer)
        if self.root.shape in self.row_shapes and self.reduces:
            idx = self._row_index(self.root.shape, outer)
            self._store(self.root, self.eval(self.root, idx, {}), idx)
        else:
            root = self.value_root
            self._inner_loops(
                outer, lambda full: self._store(root, self.eval(root, full, {}), full)
            )

    def _reduce_phase(self, r: Node, outer) -> None:
        slot = self.acc_slots[id(r)]
        reducer = REDUCERS[r.op]
        acc_dtype = accumulator_dtype(r)
        self.b.store(reducer.identity(acc_dtype), slot)
        x = r.inputs[0]

        def step(full):
            v = self.eval(x, full, {})
            v = convert(self.b, v, x.dtype, acc_dtype)
            acc = self.b.load(slot)
            self.b.store(reducer.combine(self, acc, v, acc_dtype), slot)

        self._inner_loops(outer, step)
        self.accs[id(r)] = convert(self.b, self.b.load(slot), acc_dtype, r.dtype)

    def _inner_loops(self, outer, body_fn) -> None:
        axes = list(self.axes)

        def nest(k, fixed):
            if k == len(axes):
                body_fn([fixed[d] for d in range(len(self.space))])
                return
            if self.unroll_reduced:
                for i in range(self.space[axes[k]]):
                    nest(k + 1, {**fixed, axes[k]: i})
            else:
                self.loop(0, self.space[axes[k]], lambda i: nest(k + 1, {**fixed, axes[k]: i}))

        nest(0, dict(outer))

    def _row_index(self, shape, outer) -> Index:
        if len(shape) == len(self.space):  # keepdims
            return [0 if d in self.axes else outer[d] for d in range(len(self.space))]
        return [outer[d] for d in range(len(self.space)) if d not in self.axes]

    # ------------------------------------------------------------- evaluation
    def eval(self, n: Node, idx: Index, memo: dict) -> ir.Value:
        """The value of member ``n`` at ``idx``. Iterative (an explicit stack, children
        before parents), so a chain of thousands of elementwise ops does not hit Python's
        recursion limit; ``memo`` shares values already emitted in this loop body."""

        def key_of(node: Node, ix: Index) -> tuple:
            return (id(node), tuple(v if isinstance(v, int) else id(v) for v in ix))

        todo: list[tuple[Node, Index, list | None]] = [(n, idx, None)]
        while todo:
            node, ix, children = todo.pop()
            key = key_of(node, ix)
            if key in memo:
                continue
            if children is not None:  # every child is in memo now: combine them
                args = [memo[key_of(c, cix)] for c, cix in children]
                memo[key] = args[0] if is_view(node.op) else EMITTERS[node.op](self, node, *args)
            elif node.op == "const":
                memo[key] = const(node.attrs["value"], node.dtype)
            elif id(node) not in self.member_ids:
                memo[key] = self._load(node, ix)
            elif id(node) in self.accs:
                memo[key] = self.accs[id(node)]  # a reduction, read at the current row
            elif node.op == "windows":  # index arithmetic on its input (see windows.py)
                memo[key] = eval_windows(self, node, ix, memo)
            else:
                if is_view(node.op):
                    children = [(node.inputs[0], self._view_index(node, ix))]
                else:
                    children = [(i, ix) for i in node.inputs]
                todo.append((node, ix, children))
                todo.extend((c, cix, None) for c, cix in reversed(children))
        return memo[key_of(n, idx)]

    # ------------------------------------------------------------ memory
    def _address(self, ptr, shape, idx) -> ir.Value:
        flat = 0
        for i, s, d in zip(idx, strides(shape), shape, strict=True):
            if d != 1:
                flat = self.iadd(flat, self.imul(i, s))
        offset = flat if not isinstance(flat, int) else ir.Constant(I64, flat)
        return self.b.gep(ptr, [offset], inbounds=True)

    def _load(self, n: Node, idx: Index) -> ir.Value:
        ptr = self.arg_ptrs[self.arg_index[id(n)]]
        value = self.b.load(self._address(ptr, n.shape, idx))
        if is_bool(n.dtype):
            value = self.b.icmp_unsigned("!=", value, ir.Constant(I8, 0))
        return value

    def _store(self, n: Node, value: ir.Value, idx: Index) -> None:
        if is_bool(n.dtype):
            value = self.b.zext(value, I8)
        self.b.store(value, self._address(self.out_ptr, n.shape, idx))

    # ------------------------------------------------------------- loops
    def loop(self, lo, hi, body) -> None:
        b = self.b
        lo = lo if not isinstance(lo, int) else ir.Constant(I64, lo)
        hi = hi if not isinstance(hi, int) else ir.Constant(I64, hi)
        pre = b.block
        header = b.append_basic_block("loop")
        inner = b.append_basic_block("body")
        done = b.append_basic_block("done")
        b.branch(header)
        b.position_at_end(header)
        i = b.phi(I64, name="i")
        i.add_incoming(lo, pre)
        b.cbranch(b.icmp_signed("<", i, hi), inner, done)
        b.position_at_end(inner)
        body(i)
        nxt = b.add(i, ir.Constant(I64, 1))
        nxt.flags.append("nsw")
        i.add_incoming(nxt, b.block)
        b.branch(header)
        b.position_at_end(done)
