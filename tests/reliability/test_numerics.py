"""Values that once came out wrong on the llvm backend, checked on every backend against
independent references (NumPy formulas, exact arithmetic)."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

from tinytorch import Tensor


# ------------------------------------------------------------------ byte order
@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i4", ">i8", "<f4"])
def test_big_endian_input_gives_the_same_values_as_native_input(dtype):
    """Arrays in either byte order are numbers; compiled kernels read native memory, so
    the tensor converts at the boundary (it once read [1, 1, 1] for >f4 on llvm)."""
    values = np.array([1, 2, 3], dtype=dtype)
    got = (Tensor(values) * 2 + 1).numpy()
    np.testing.assert_array_equal(got, values.astype(values.dtype.newbyteorder("=")) * 2 + 1)
    assert got.dtype.isnative


def test_big_endian_data_assigned_to_a_parameter_is_read_correctly():
    p = Tensor(np.zeros(3, np.float32), requires_grad=True)
    p.data = np.array([1.0, 2.0, 3.0], dtype=">f4")
    np.testing.assert_array_equal((p * 2).numpy(), [2.0, 4.0, 6.0])


# ---------------------------------------------------------------- long sums
def test_a_float32_sum_of_ten_million_elements_is_accurate():
    """10^7 copies of 0.1 (float32): the exact sum of the float32 values is 1000000.0149;
    float32 lanes once drifted to 998501.4 (1.5e-3). NumPy's pairwise sum is within
    ~1e-7; we ask for 1e-6."""
    x = np.full(10**7, 0.1, dtype=np.float32)
    exact = float(x[0]) * x.size  # every element is the same float32 value
    got = Tensor(x).sum().item()
    assert abs(got - exact) / exact < 1e-6


def test_a_float32_mean_of_a_million_elements_is_accurate():
    x = np.full(10**6, 0.1, dtype=np.float32)
    got = Tensor(x).mean().item()
    assert abs(got - float(x[0])) / float(x[0]) < 1e-6


def test_long_row_sums_agree_with_a_float64_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 300_000)).astype(np.float32) + 1.0
    reference = x.astype(np.float64).sum(axis=1)
    got = Tensor(x).sum(axis=1).numpy()
    np.testing.assert_allclose(got, reference, rtol=1e-6)


# ------------------------------------------------------------ long op chains
def test_a_chain_of_1500_elementwise_ops_computes_without_a_warning():
    """Code generation is iterative, so a long chain compiles (it once hit RecursionError
    and fell back to NumPy with a 40 KB warning). Reference: the same loop in NumPy."""
    x = np.linspace(0, 1, 10, dtype=np.float32)
    t, want = Tensor(x), x.astype(np.float64)
    for _ in range(750):
        t = t * 1.0001 + 0.0001
        want = want * 1.0001 + 0.0001
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = t.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_the_fallback_warning_of_a_huge_kernel_is_short(monkeypatch, backend):
    """When a big kernel does fail to compile, the warning names its ops in brief."""
    if backend != "llvm":
        pytest.skip("a compile failure is an llvm matter")
    from tinytorch.backends.llvm import jit as llvm_jit
    from tinytorch.backends.llvm.executable import KernelCompileWarning

    def fail(*args, **kwargs):
        raise RuntimeError("LLVM ERROR: simulated")

    monkeypatch.setattr(llvm_jit.Jit, "compile_many", fail)
    monkeypatch.setattr(llvm_jit.Jit, "compile", fail)
    t = Tensor(np.ones(7, np.float32))
    for _ in range(600):
        t = t * 0.5 + 0.25
    with pytest.warns(KernelCompileWarning) as caught:
        got = t.numpy()
    assert len(str(caught[0].message)) < 1000
    assert "1200 ops" in str(caught[0].message)
    want = np.ones(7, np.float64)
    for _ in range(600):
        want = want * 0.5 + 0.25
    np.testing.assert_allclose(got, want, rtol=1e-4)


# --------------------------------------------------------- bounded JIT memory
def test_evicted_kernels_close_their_execution_engines(backend):
    """Every new shape compiles a new kernel; once the plan and kernel caches drop a kernel,
    its module is released, and an engine arena whose modules are all released is closed
    (freeing their machine code). Live modules and open arenas stay bounded however many
    shapes go by."""
    if backend != "llvm":
        pytest.skip("only the llvm backend compiles kernels")
    from tinytorch.backends.llvm.jit import Arena, LoadedCode
    from tinytorch.backends.llvm.kernels import kernel_cache
    from tinytorch.runtime import plan_cache

    saved = plan_cache.capacity, kernel_cache.capacity
    plan_cache.capacity, kernel_cache.capacity = 4, 4
    try:
        plan_cache.clear()
        kernel_cache.clear()
        gc.collect()
        before, arenas_before = LoadedCode.live, Arena.open
        compiled = kernel_cache.compiled
        for n in range(1, 101):
            x = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
            got = (Tensor(x) * 2 + 1).sum(axis=1).numpy()
            np.testing.assert_allclose(got, (x * 2 + 1).sum(axis=1))
        gc.collect()
        assert kernel_cache.compiled - compiled >= 100  # each shape made a kernel...
        assert LoadedCode.live - before <= 8  # ...but only the cached ones stay loaded
        # and the engines holding released code are closed: at most the arenas that still
        # hold a cached module, plus the one being filled
        assert Arena.open - arenas_before <= 3
    finally:
        plan_cache.capacity, kernel_cache.capacity = saved
