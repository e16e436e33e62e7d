"""A native kernel for ``int8_matmul``: int8 x int8 products, int32 sums, compiled by LLVM.

The op (``tinytorch/ir/ops/quant.py``) computes ``out[i, j] = sum_k (a[i, k] - a_zero) *
b[k, j]``. NumPy has no integer BLAS: its int32 matmul runs a plain C loop, far slower than
the float32 GEMM the quantized layer replaces. Here it is one LLVM function, written as
the loops a person would write in C and left to LLVM's loop vectorizer:

* ``layout="nk"`` (the weight stored ``(N, K)``, as ``QuantizedLinear`` keeps it): for each
  row ``i`` the shifted input row ``a[i, :] - a_zero`` is written once to an int16 scratch
  row (it fits: -255..255), then every output is a **dot product of two contiguous rows**,
  ``sum_k int32(t[k]) * int32(b[j, k])``. That is the shape of loop LLVM turns into
  ``vpmaddwd`` (16-bit multiplies, pairwise 32-bit sums), and on CPUs with AVX-512 VNNI
  into ``vpdpwssd`` (the same, accumulating in one instruction). A GEMV (one input row)
  reads each weight byte exactly once: 4x fewer bytes than a float32 weight.
* ``layout="kn"``: the row-times-matrix form, ``out[i, :] += (a[i, k] - a_zero) * b[k, :]``
  over k, vectorized along j.

The kernel is built once per process (per layout) and called through ctypes; the backend's
executable uses it in place of the op's NumPy kernel (:func:`native_kernel`). Results are
exact integers, identical to the NumPy kernel's.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from llvmlite import ir

from tinytorch.backends.llvm.codegen import finish_ir
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.backends.llvm.kernels import LoadedModule
from tinytorch.ir.node import Node
from tinytorch.util.flags import env_int

I8, I16, I32, I64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
LANES = 32  # int16 products per AVX-512 multiply-add
V32I8, V32I16, V16I32 = ir.VectorType(I8, 32), ir.VectorType(I16, 32), ir.VectorType(I32, 16)
_ARGS = (ctypes.c_int64,) * 4 + (ctypes.c_void_p,) * 2 + (ctypes.c_int32,) + (ctypes.c_void_p,) * 2
BLOCK = 4  # input rows per pass over the weight (nk layout)
PARALLEL_MIN_WORK = 1 << 24  # multiply-adds below which one thread is quicker
_pool: ThreadPoolExecutor | None = None
_compiled: dict[str, tuple[Callable, LoadedModule]] = {}


def _counted_loop(b: ir.IRBuilder, var, start, stop, body: Callable[[ir.Value], None]) -> None:
    """``for (var = start; var < stop; ++var) body(var)`` with ``var`` a stack slot (LLVM's
    mem2reg turns the slots into registers before the vectorizer runs)."""
    b.store(start, var)
    cond = b.append_basic_block("cond")
    loop = b.append_basic_block("body")
    done = b.append_basic_block("done")
    b.branch(cond)
    b.position_at_end(cond)
    iv = b.load(var)
    b.cbranch(b.icmp_signed("<", iv, stop), loop, done)
    b.position_at_end(loop)
    body(iv)
    b.store(b.add(iv, ir.Constant(I64, 1)), var)
    b.branch(cond)
    b.position_at_end(done)


def build_ir(layout: str, name: str, wide: bool = False) -> str:
    """``void name(i64 m0, i64 m1, i64 N, i64 K, i8* a, i8* b, i32 a_zero, i32* out,
    i16* scratch)``: rows ``m0..m1`` of the product (scratch: K int16s, used by ``nk``)."""
    module = ir.Module(name=f"tinytorch_{name}")
    fnty = ir.FunctionType(
        ir.VoidType(),
        [I64, I64, I64, I64, I8.as_pointer(), I8.as_pointer(), I32, I32.as_pointer(),
         I16.as_pointer()],
    )  # fmt: skip
    fn = ir.Function(module, fnty, name)
    m0, m1, n, k, a, bw, zero, out, scratch = fn.args
    for ptr in (a, bw, out, scratch):
        ptr.add_attribute("noalias")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    i_var, j_var, k_var = (b.alloca(I64, name=s) for s in "ijk")
    acc_var = b.alloca(I32, name="acc")
    accs = [b.alloca(I32, name=f"acc{r}") for r in range(BLOCK)]
    vaccs = [b.alloca(V16I32, name=f"vacc{r}") for r in range(BLOCK)]
    pmaddwd = module.declare_intrinsic("llvm.x86.avx512.pmaddw.d.512", (),
                                       ir.FunctionType(V16I32, [V32I16, V32I16]))  # fmt: skip
    reduce_add = module.declare_intrinsic("llvm.vector.reduce.add.v16i32", (),
                                          ir.FunctionType(I32, [V16I32]))  # fmt: skip

    def vload(ptr, index, vtype):
        address = b.bitcast(b.gep(ptr, [index], inbounds=True), vtype.as_pointer())
        return b.load(address, align=1)

    zero16 = b.trunc(zero, I16)

    def load(ptr, index):
        return b.load(b.gep(ptr, [index], inbounds=True))

    def store(value, ptr, index):
        b.store(value, b.gep(ptr, [index], inbounds=True))

    def row_nk(i):
        a_row, out_row = b.mul(i, k), b.mul(i, n)
        _counted_loop(
            b,
            k_var,
            ir.Constant(I64, 0),
            k,
            lambda kk: store(b.sub(b.sext(load(a, b.add(a_row, kk)), I16), zero16), scratch, kk),
        )

        def column(j):
            b_row = b.mul(j, k)
            b.store(ir.Constant(I32, 0), acc_var)

            def step(kk):
                t = b.sext(load(scratch, kk), I32)
                w = b.sext(load(bw, b.add(b_row, kk)), I32)
                b.store(b.add(b.load(acc_var), b.mul(t, w)), acc_var)

            _counted_loop(b, k_var, ir.Constant(I64, 0), k, step)
            store(b.load(acc_var), out, b.add(out_row, j))

        _counted_loop(b, j_var, ir.Constant(I64, 0), n, column)

    def rows_nk(i0, rows: int):
        """``rows`` consecutive rows at once: each weight row is loaded (and widened) once
        and multiplied into ``rows`` accumulators (register blocking)."""
        for r in range(rows):
            a_row = b.mul(b.add(i0, ir.Constant(I64, r)), k)
            t_row = b.mul(ir.Constant(I64, r), k)
            _counted_loop(b, k_var, ir.Constant(I64, 0), k, lambda kk, a_row=a_row, t_row=t_row:
                          store(b.sub(b.sext(load(a, b.add(a_row, kk)), I16), zero16), scratch,
                                b.add(t_row, kk)))  # fmt: skip

        offsets = [b.mul(ir.Constant(I64, r), k) for r in range(rows)]  # scratch rows

        def column(j):
            b_row = b.mul(j, k)
            for acc in accs[:rows]:
                b.store(ir.Constant(I32, 0), acc)

            def step(kk):
                w = b.sext(load(bw, b.add(b_row, kk)), I32)
                for r, acc in enumerate(accs[:rows]):
                    t = b.sext(load(scratch, b.add(offsets[r], kk)), I32)
                    b.store(b.add(b.load(acc), b.mul(t, w)), acc)

            start = ir.Constant(I64, 0)
            if wide:  # 32 products per instruction: vpmaddwd (vpdpwssd with VNNI)
                chunks = b.udiv(k, ir.Constant(I64, LANES))
                for acc in vaccs[:rows]:
                    b.store(ir.Constant(V16I32, None), acc)

                def chunk(c):
                    at = b.mul(c, ir.Constant(I64, LANES))
                    w = b.sext(vload(bw, b.add(b_row, at), V32I8), V32I16)
                    for r, acc in enumerate(vaccs[:rows]):
                        t = vload(scratch, b.add(offsets[r], at), V32I16)
                        b.store(b.add(b.load(acc), b.call(pmaddwd, [t, w])), acc)

                _counted_loop(b, k_var, ir.Constant(I64, 0), chunks, chunk)
                for acc, vacc in zip(accs[:rows], vaccs[:rows], strict=False):
                    b.store(b.call(reduce_add, [b.load(vacc)]), acc)
                start = b.mul(chunks, ir.Constant(I64, LANES))
            _counted_loop(b, k_var, start, k, step)
            for r, acc in enumerate(accs[:rows]):
                at = b.add(b.mul(b.add(i0, ir.Constant(I64, r)), n), j)
                store(b.load(acc), out, at)

        _counted_loop(b, j_var, ir.Constant(I64, 0), n, column)

    def blocked_nk(m0, m1):
        blocks = b.sdiv(b.sub(m1, m0), ir.Constant(I64, BLOCK))
        _counted_loop(
            b,
            i_var,
            ir.Constant(I64, 0),
            blocks,
            lambda ib: rows_nk(b.add(m0, b.mul(ib, ir.Constant(I64, BLOCK))), BLOCK),
        )
        rest = b.add(m0, b.mul(blocks, ir.Constant(I64, BLOCK)))
        _counted_loop(b, i_var, rest, m1, row_nk)

    def row_kn(i):
        a_row, out_row = b.mul(i, k), b.mul(i, n)
        _counted_loop(
            b,
            j_var,
            ir.Constant(I64, 0),
            n,
            lambda j: store(ir.Constant(I32, 0), out, b.add(out_row, j)),
        )

        def step(kk):
            t = b.sub(b.sext(load(a, b.add(a_row, kk)), I32), zero)
            b_row = b.mul(kk, n)

            def axpy(j):
                w = b.sext(load(bw, b.add(b_row, j)), I32)
                at = b.add(out_row, j)
                store(b.add(load(out, at), b.mul(t, w)), out, at)

            _counted_loop(b, j_var, ir.Constant(I64, 0), n, axpy)

        _counted_loop(b, k_var, ir.Constant(I64, 0), k, step)

    if layout == "nk":
        blocked_nk(m0, m1)
    else:
        _counted_loop(b, i_var, m0, m1, row_kn)
    b.ret_void()
    return finish_ir(str(module), [name])


def _compiled_kernel(layout: str) -> Callable:
    if layout not in _compiled:
        name = f"int8_gemm_{layout}"
        wide = layout == "nk" and "+avx512bw" in get_jit().host.features
        address, module = get_jit().compile(build_ir(layout, name, wide), name)
        cfunc = ctypes.CFUNCTYPE(None, *_ARGS)(address)
        _compiled[layout] = (cfunc, LoadedModule(module))
    return _compiled[layout][0]


def _threads(m: int, work: int) -> int:
    """Threads for one product: TINYTORCH_THREADS (default: the cores this process may use),
    but only for products big enough to pay for the hand-off, and whole row blocks each."""
    if work < PARALLEL_MIN_WORK or m < 2 * BLOCK:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(env_int("TINYTORCH_THREADS", cores), m // BLOCK))


def run_int8_matmul(node: Node, a: np.ndarray, b: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The op's result computed by the native kernel (same values as the NumPy kernel).
    Large products split their rows across threads (ctypes releases the GIL)."""
    global _pool
    layout = node.attrs.get("layout", "kn")
    a, b = np.ascontiguousarray(a, dtype=np.int8), np.ascontiguousarray(b, dtype=np.int8)
    (m, k), n = a.shape, node.shape[1]
    out = np.empty((m, n), dtype=np.int32)
    kernel = _compiled_kernel(layout)
    threads = _threads(m, m * n * k)
    bounds = [BLOCK * (m // BLOCK * t // threads) for t in range(threads)] + [m]
    scratch = np.empty((threads, max(BLOCK * k, 1)), dtype=np.int16)
    pointers = (a.ctypes.data, b.ctypes.data, int(zero), out.ctypes.data)
    calls = [(lo, hi, n, k, *pointers, scratch[t].ctypes.data)
             for t, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False))]  # fmt: skip
    if threads == 1:
        kernel(*calls[0])
        return out
    if _pool is None or _pool._max_workers < threads - 1:
        _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="tinytorch-int8-gemm")
    futures = [_pool.submit(kernel, *call) for call in calls[1:]]
    kernel(*calls[0])
    for f in futures:
        f.result()
    return out


# Ops the executable runs with a native function instead of their NumPy kernel.
NATIVE_KERNELS: dict[str, Callable[..., np.ndarray]] = {"int8_matmul": run_int8_matmul}


def native_kernel(node: Node) -> Callable[..., np.ndarray] | None:
    return NATIVE_KERNELS.get(node.op)
