"""A cache-blocked float32 matrix product, compiled by the JIT: the book's tiling loop, real.

``C (m x n) += A (m x k) @ B (k x n)``, all row-major, computed tile by tile::

    for i0 in range(0, m, t):                  # a band of t rows of A and C
        for k0 in range(0, k, t):              # a t x t block of A, t rows of B
            for j0 in range(0, n, t):          # a t x t block of B and of C
                for i in range(i0, min(i0 + t, m)):
                    for p in range(k0, min(k0 + t, k)):
                        a_ip = A[i, p]
                        for j in range(j0, min(j0 + t, n)):   # vectorized by LLVM
                            C[i, j] += a_ip * B[p, j]

Three t x t blocks (one each of A, B and C) are what the inner loops touch, so with
``3 * t * t * 4`` bytes inside a cache level every block is loaded from memory once per use
instead of once per multiply. The innermost loop walks rows of B and C contiguously, so the
loop vectorizer turns it into SIMD multiply-adds (AVX2/AVX-512 on this machine). It is a
teaching kernel: BLAS adds register blocking, packing and prefetching on top, and is faster.

The tile size is a runtime argument, so one compiled function serves every size.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np
from llvmlite import ir

from tinytorch.backends.llvm.jit import get_jit

NAME = "tinytorch_tiled_matmul_f32"
_lock = threading.Lock()
_compiled: tuple[ctypes._CFuncPtr, object] | None = None  # (function, module kept alive)

_I64 = ir.IntType(64)
_F32 = ir.FloatType()


def _loop(builder: ir.IRBuilder, start, stop, step, body, name: str) -> None:
    """``for v in range(start, stop, step): body(builder, v)`` as basic blocks."""
    func = builder.function
    head = func.append_basic_block(f"{name}.head")
    loop = func.append_basic_block(f"{name}.body")
    done = func.append_basic_block(f"{name}.done")
    entry = builder.block
    builder.branch(head)
    builder.position_at_end(head)
    var = builder.phi(_I64, name=name)
    var.add_incoming(start, entry)
    builder.cbranch(builder.icmp_signed("<", var, stop), loop, done)
    builder.position_at_end(loop)
    body(builder, var)
    nxt = builder.add(var, step, name=f"{name}.next")
    var.add_incoming(nxt, builder.block)
    builder.branch(head)
    builder.position_at_end(done)


def _min(builder: ir.IRBuilder, a, b):
    return builder.select(builder.icmp_signed("<", a, b), a, b)


def build_ir() -> str:
    """The LLVM IR text of the blocked kernel."""
    module = ir.Module(name="tiled_matmul")
    ptr = _F32.as_pointer()
    fnty = ir.FunctionType(ir.VoidType(), [ptr, ptr, ptr, _I64, _I64, _I64, _I64])
    func = ir.Function(module, fnty, name=NAME)
    a, b, c, m, n, k, t = func.args
    for arg, name in zip(func.args, "abcmnkt", strict=True):
        arg.name = name
    for arg in (a, b, c):
        arg.add_attribute("noalias")
    builder = ir.IRBuilder(func.append_basic_block("entry"))
    one = ir.Constant(_I64, 1)
    zero = ir.Constant(_I64, 0)

    def tile_i(bld, i0):
        def tile_k(bld, k0):
            def tile_j(bld, j0):
                i_end = _min(bld, bld.add(i0, t), m)
                k_end = _min(bld, bld.add(k0, t), k)
                j_end = _min(bld, bld.add(j0, t), n)

                def row(bld, i):
                    a_row = bld.mul(i, k)
                    c_row = bld.mul(i, n)

                    def inner(bld, p):
                        a_ip = bld.load(bld.gep(a, [bld.add(a_row, p)]))
                        b_row = bld.mul(p, n)

                        def column(bld, j):
                            c_ptr = bld.gep(c, [bld.add(c_row, j)])
                            b_val = bld.load(bld.gep(b, [bld.add(b_row, j)]))
                            total = bld.fadd(bld.load(c_ptr), bld.fmul(a_ip, b_val))
                            bld.store(total, c_ptr)

                        _loop(bld, j0, j_end, one, column, "j")

                    _loop(bld, k0, k_end, one, inner, "p")

                _loop(bld, i0, i_end, one, row, "i")

            _loop(bld, zero, n, t, tile_j, "j0")

        _loop(bld, zero, k, t, tile_k, "k0")

    _loop(builder, zero, m, t, tile_i, "i0")
    builder.ret_void()
    return str(module)


def _function() -> ctypes._CFuncPtr:
    global _compiled
    with _lock:
        if _compiled is None:
            address, module = get_jit().compile(build_ir(), NAME)
            proto = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 3, *[ctypes.c_int64] * 4)
            _compiled = (proto(address), module)
        return _compiled[0]


def tiled_matmul_f32(a: np.ndarray, b: np.ndarray, tile: int) -> np.ndarray:
    """``a @ b`` for 2-D float32 arrays, computed by the blocked kernel with ``tile``-sized
    blocks (the caller checks shapes and the tile size)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    (m, k), n = a.shape, b.shape[1]
    out = np.zeros((m, n), dtype=np.float32)
    if out.size and k:
        _function()(a.ctypes.data, b.ctypes.data, out.ctypes.data, m, n, k, tile)
    return out
