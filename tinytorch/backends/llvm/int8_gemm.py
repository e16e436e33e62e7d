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
from collections.abc import Callable

import numpy as np
from llvmlite import ir

from tinytorch.backends.llvm.codegen import finish_ir
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.backends.llvm.kernels import LoadedModule
from tinytorch.ir.node import Node

I8, I16, I32, I64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
_ARGS = (ctypes.c_int64,) * 4 + (ctypes.c_void_p,) * 2 + (ctypes.c_int32,) + (ctypes.c_void_p,) * 2
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


def build_ir(layout: str, name: str) -> str:
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

    _counted_loop(b, i_var, m0, m1, row_nk if layout == "nk" else row_kn)
    b.ret_void()
    return finish_ir(str(module), [name])


def _compiled_kernel(layout: str) -> Callable:
    if layout not in _compiled:
        name = f"int8_gemm_{layout}"
        address, module = get_jit().compile(build_ir(layout, name), name)
        cfunc = ctypes.CFUNCTYPE(None, *_ARGS)(address)
        _compiled[layout] = (cfunc, LoadedModule(module))
    return _compiled[layout][0]


def run_int8_matmul(node: Node, a: np.ndarray, b: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """The op's result computed by the native kernel (same values as the NumPy kernel)."""
    layout = node.attrs.get("layout", "kn")
    a, b = np.ascontiguousarray(a, dtype=np.int8), np.ascontiguousarray(b, dtype=np.int8)
    (m, k), n = a.shape, node.shape[1]
    out = np.empty((m, n), dtype=np.int32)
    scratch = np.empty(max(k, 1), dtype=np.int16)
    _compiled_kernel(layout)(0, m, n, k, a.ctypes.data, b.ctypes.data, int(zero),
                             out.ctypes.data, scratch.ctypes.data)  # fmt: skip
    return out


# Ops the executable runs with a native function instead of their NumPy kernel.
NATIVE_KERNELS: dict[str, Callable[..., np.ndarray]] = {"int8_matmul": run_int8_matmul}


def native_kernel(node: Node) -> Callable[..., np.ndarray] | None:
    return NATIVE_KERNELS.get(node.op)
