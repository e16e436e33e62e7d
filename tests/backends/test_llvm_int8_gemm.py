"""The native int8 GEMM kernel: exact integers in every code path it has.

The kernel has a 4-row register-blocked path (explicit 32-lane multiply-adds when the CPU
has AVX-512BW, else auto-vectorized), a one-row path for the leftover rows, a scalar tail
for K not a multiple of 32, and the ``kn`` layout. Shapes below hit each of them; the
reference is int64 NumPy.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from tinytorch.backends.llvm import int8_gemm
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.ir import build as B

SHAPES = [(1, 7, 5), (4, 32, 3), (5, 64, 130), (6, 95, 7), (9, 100, 3), (8, 1, 16)]


def _node(m, k, n, layout):
    b_shape = (n, k) if layout == "nk" else (k, n)
    ins = [B.make("input", (), index=0, shape=(m, k), dtype="int8"),
           B.make("input", (), index=1, shape=b_shape, dtype="int8"),
           B.make("input", (), index=2, shape=(), dtype="int32")]  # fmt: skip
    return B.make("int8_matmul", ins, layout=layout)


def _reference(a, b, zero, layout):
    b = b.T if layout == "nk" else b
    return (a.astype(np.int64) - int(zero)) @ b.astype(np.int64)


@pytest.mark.parametrize("layout", ["nk", "kn"])
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_kernel_equals_int64_reference(layout, m, k, n):
    rng = np.random.default_rng(m * 100 + k)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (n, k) if layout == "nk" else (k, n)).astype(np.int8)
    a[0, :] = -128  # the largest shifted value: -128 - 127 = -255
    zero = np.array(127, np.int32)
    got = int8_gemm.run_int8_matmul(_node(m, k, n, layout), a, b, zero)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, _reference(a, b, zero, layout))


@pytest.mark.parametrize("wide", [False, True])
def test_both_blocked_paths_are_exact(wide):
    """The explicit-vector path (AVX-512BW) and the portable auto-vectorized one, compiled
    side by side whatever this CPU prefers (the wide one only runs where it can)."""
    if wide and "+avx512bw" not in get_jit().host.features:
        pytest.skip("this CPU has no AVX-512BW")
    name = f"int8_gemm_test_{int(wide)}"
    address, module = get_jit().compile(int8_gemm.build_ir("nk", name, wide), name)
    kernel = ctypes.CFUNCTYPE(None, *int8_gemm._ARGS)(address)
    rng = np.random.default_rng(1)
    m, k, n = 11, 77, 9
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (n, k)).astype(np.int8)
    out = np.empty((m, n), np.int32)
    scratch = np.empty(int8_gemm.BLOCK * k, np.int16)
    kernel(0, m, n, k, a.ctypes.data, b.ctypes.data, -5, out.ctypes.data, scratch.ctypes.data)
    np.testing.assert_array_equal(out, _reference(a, b, -5, "nk"))
    get_jit().release(module)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_rows_split_across_threads_give_the_same_integers(monkeypatch, threads):
    """A product big enough to be split: every thread count gives the reference exactly."""
    monkeypatch.setenv("TINYTORCH_THREADS", threads)
    monkeypatch.setattr(int8_gemm, "PARALLEL_MIN_WORK", 1)
    rng = np.random.default_rng(2)
    m, k, n = 37, 70, 11
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (n, k)).astype(np.int8)
    assert int8_gemm._threads(m, m * n * k) == int(threads)
    got = int8_gemm.run_int8_matmul(_node(m, k, n, "nk"), a, b, np.array(3, np.int32))
    np.testing.assert_array_equal(got, _reference(a, b, 3, "nk"))
