"""The straight-line runner (``backends/llvm/runner.py``): every plan also runs as generated
Python; it must compute exactly what the step loop computes, recycle buffers as the loop
does, say which op failed, and be readable (``LLVMExecutable.source``, ``plan.py`` dumps)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import executable as llvm_executable
from tinytorch.backends.llvm import runner
from tinytorch.backends.llvm.buffers import buffer_pool
from tinytorch.runtime import plan_cache


def programs(rng):
    """(name, build) pairs: build() returns the output tensor of a small program."""
    x = rng.standard_normal((6, 5)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    big_endian = x.astype(">f4")
    strided = rng.standard_normal((10, 5)).astype(np.float32)[::2]
    ints = rng.integers(-5, 5, (6, 5))
    return [
        ("fused chain", lambda: ((Tensor(x) * 2 + 1).relu() - 0.5).sum(axis=1)),
        ("matmul between kernels", lambda: ((Tensor(x) * 3) @ Tensor(w)).tanh().mean(axis=0)),
        ("a value read twice", lambda: tinytorch.concat([Tensor(x) * 2, Tensor(x) * 2], axis=0)),
        ("views into kernels", lambda: (Tensor(x).permute(1, 0) * 2).reshape(30) + 1),
        ("non-contiguous input", lambda: Tensor(strided).exp() * 0.5),
        ("big-endian input", lambda: Tensor(big_endian) * 2 + 1),
        ("integers", lambda: (Tensor(ints) * 3 - 1).sum(axis=0)),
        ("empty", lambda: (Tensor(np.ones((0, 3), np.float32)) * 2).exp() + 1),
        ("softmax", lambda: Tensor(x).softmax(dim=-1)),
        ("vector dot product", lambda: (Tensor(x[0]) @ Tensor(x[1])) * 2 + 1),
        ("reshaped matmul into a kernel", lambda: (Tensor(x) @ Tensor(w)).reshape(24).exp()),
    ]


def run_both(build, monkeypatch):
    """``build()``'s value through the straight-line runner, then through the step loop."""
    seen = []
    with tinytorch.backend("llvm"):
        plan_cache.clear()
        build().numpy()  # a plan's first run takes the step loop; later runs, the runner
        old = llvm_executable.set_run_listener(seen.append)
        try:
            straight = build().numpy()
        finally:
            llvm_executable.set_run_listener(old)
        assert seen and all(ex._straight is not None for ex in seen)  # the runner ran them
        with monkeypatch.context() as patch:
            patch.setattr(runner, "MAX_STEPS", -1)  # no runner: the step loop runs plans
            plan_cache.clear()
            looped = build().numpy()
    plan_cache.clear()
    return straight, looped


@pytest.mark.parametrize("index", range(11))
def test_the_runner_computes_what_the_step_loop_computes(index, rng, monkeypatch):
    name, build = programs(rng)[index]
    straight, looped = run_both(build, monkeypatch)
    assert straight.dtype == looped.dtype and straight.shape == looped.shape, name
    np.testing.assert_array_equal(straight, looped, err_msg=name)


def test_the_source_is_the_plan_step_by_step():
    seen = []
    old = llvm_executable.set_run_listener(seen.append)
    try:
        with tinytorch.backend("llvm"):
            plan_cache.clear()
            x, w = Tensor(np.ones((4, 3), np.float32)), Tensor(np.ones((3, 5), np.float32))
            ((x * 2 + 1) @ w).relu().sum(axis=1).numpy()
    finally:
        llvm_executable.set_run_listener(old)
    source = seen[-1].source
    assert source.startswith("def run(")
    assert "# kernel k_" in source and ": mul add" in source
    assert "# matmul -> (4, 5) (NumPy)" in source
    # one output buffer per kernel (small ones straight from NumPy, big ones from the pool)
    assert source.count(" = take(") + source.count(" = empty(") == seen[-1].kernels


def test_dumps_hold_the_plan_as_python(tmp_path):
    with tinytorch.backend("llvm"), tinytorch.runtime.dump_to(tmp_path):
        plan_cache.clear()
        (Tensor(np.ones((2, 2), np.float32)) * 3 + 1).numpy()
    (plan_file,) = tmp_path.glob("*/plan.py")
    compile(plan_file.read_text(), str(plan_file), "exec")  # valid Python
    assert "def run(" in plan_file.read_text()


def test_big_intermediates_are_recycled_across_runs():
    x = Tensor(np.ones((256, 256), np.float32))
    with tinytorch.backend("llvm"):
        plan_cache.clear()

        def step():  # the exp buffer dies inside the plan: recyclable next run
            return ((x * 2).exp() @ x).sum(axis=1).numpy()

        step()
        reused = buffer_pool.reused
        for _ in range(3):
            step()
    assert buffer_pool.reused > reused


def test_long_plans_use_the_step_loop(monkeypatch):
    monkeypatch.setattr(runner, "MAX_STEPS", 1)
    seen = []
    old = llvm_executable.set_run_listener(seen.append)
    try:
        with tinytorch.backend("llvm"):
            plan_cache.clear()
            x = Tensor(np.ones((3, 3), np.float32))
            got = ((x * 2) @ x).exp().numpy()
    finally:
        llvm_executable.set_run_listener(old)
        plan_cache.clear()
    assert seen[-1].source is None
    np.testing.assert_allclose(got, np.exp(np.full((3, 3), 6.0)), rtol=1e-6)
