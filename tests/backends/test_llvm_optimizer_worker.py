"""The LLVM optimizer worker: kernels optimized in a child process compute the same values,
a dead worker is replaced, an old one retired, bad IR is reported with LLVM's message, and
memory stays flat while a program meets new shapes (llvmlite keeps ~80 KB per in-process
optimization; see ``tinytorch/backends/llvm/optimizer.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.backends.llvm.kernels import kernel_cache
from tinytorch.runtime import plan_cache


@pytest.fixture
def worker_from_now():
    """The JIT's optimizer sends every module to a worker during the test."""
    optimizer = get_jit().optimizer
    saved = optimizer.in_process_limit, optimizer.worker_runs
    optimizer.in_process_limit = 0
    plan_cache.clear()
    kernel_cache.clear()
    yield optimizer
    optimizer.in_process_limit, optimizer.worker_runs = saved
    optimizer.close()


def programs(x: Tensor, w: Tensor):
    yield (x * 2.5 - 1).relu().sum(axis=1)
    yield x.exp() / x.exp().sum(axis=-1, keepdims=True)
    yield ((x @ w).tanh() + 0.5).mean(axis=0)


def test_worker_kernels_compute_what_numpy_computes(worker_from_now, rng):
    x = rng.standard_normal((37, 19)).astype(np.float32)
    w = rng.standard_normal((19, 11)).astype(np.float32)
    remote = worker_from_now.remote
    with tinytorch.backend("numpy"):
        expected = [p.numpy() for p in programs(Tensor(x), Tensor(w))]
    with tinytorch.backend("llvm"):
        got = [p.numpy() for p in programs(Tensor(x), Tensor(w))]
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    assert worker_from_now.remote - remote >= 3  # every program's kernels came from it


def test_a_killed_worker_is_replaced(worker_from_now):
    with tinytorch.backend("llvm"):
        (Tensor(np.ones((3, 4), np.float32)) * 3).numpy()
        started = worker_from_now.started
        worker_from_now._worker.process.kill()
        worker_from_now._worker.process.wait()
        got = (Tensor(np.ones((5, 4), np.float32)) * 3 + 1).numpy()
    np.testing.assert_array_equal(got, np.full((5, 4), 4, np.float32))
    assert worker_from_now.started == started + 1


def test_an_old_worker_is_retired(worker_from_now):
    worker_from_now.worker_runs = 2
    started = worker_from_now.started
    with tinytorch.backend("llvm"):
        for n in range(1, 6):  # five shapes: five modules, so three workers
            got = (Tensor(np.ones((n, 2), np.float32)) - 4).numpy()
            np.testing.assert_array_equal(got, np.full((n, 2), -3, np.float32))
    assert worker_from_now.started - started == 3


def test_invalid_ir_is_reported_with_llvms_message(worker_from_now):
    with pytest.raises(RuntimeError, match="expected"):
        get_jit().compile("define void @broken( {\n", "broken")


def test_memory_is_flat_across_new_shapes():
    """A child process meets 500 new batch sizes with small caches; past the first 200
    (caches full), its resident memory grows by less than 8 MB. With the worker off
    (``TINYTORCH_OPT_WORKER=off``), this grows by ~25 MB: llvmlite's ~80 KB per run."""
    script = textwrap.dedent(
        """
        import gc, numpy as np, tinytorch
        from tinytorch import Tensor
        from tinytorch.backends.llvm.kernels import kernel_cache
        from tinytorch.runtime import plan_cache
        plan_cache.capacity = kernel_cache.capacity = 16
        tinytorch.set_backend("llvm")
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
        for n in range(1, 501):
            x = Tensor(np.ones((n, 16), np.float32))
            assert ((x * 2 + 1).relu().sum(axis=1)).numpy()[0] == 48
            if n == 200:
                gc.collect(); start = rss()
        gc.collect()
        print(rss() - start)
        """
    )
    env = {**os.environ, "TINYTORCH_OPT_WORKER": "0"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    growth = float(out.stdout.split()[-1])
    assert growth < 8, f"resident memory grew {growth:.1f} MB over 300 new shapes"


def test_without_a_worker_it_warns_once_and_optimizes_here(worker_from_now, monkeypatch):
    from tinytorch.backends.llvm import optimizer as optimizer_module

    def cannot_start(*args, **kwargs):
        raise OSError("no interpreter to start")

    monkeypatch.setattr(optimizer_module, "OptimizerWorker", cannot_start)
    here = worker_from_now.in_process
    try:
        with tinytorch.backend("llvm"), pytest.warns(RuntimeWarning, match="no interpreter"):
            got = (Tensor(np.ones((7, 3), np.float32)) * 5).numpy()
        with tinytorch.backend("llvm"):
            again = (Tensor(np.ones((9, 3), np.float32)) * 5).numpy()  # no second warning
    finally:
        worker_from_now._worker_failed = False
    np.testing.assert_array_equal(got, np.full((7, 3), 5, np.float32))
    np.testing.assert_array_equal(again, np.full((9, 3), 5, np.float32))
    assert worker_from_now.in_process - here == 2
