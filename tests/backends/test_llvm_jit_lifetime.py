"""Machine code dies safely however the last reference to a kernel goes away.

A user's compiled step that closes over its model, stored on that model, is a reference
cycle: the plans and kernels it holds are then freed by Python's cycle collector, which
finalizes everything unreachable in no particular order. That once disposed an LLVM
context before the execution engine whose modules live in it, and disposing the engine
crashed the process (``jit.Arena.registry`` keeps engines and contexts out of the garbage).
The scenario runs in a child process, so a crash fails this test instead of the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import gc, random
    import numpy as np
    import tinytorch
    from tinytorch import Tensor
    from tinytorch.backends.llvm.kernels import kernel_cache
    from tinytorch.runtime import plan_cache

    from tinytorch.backends.llvm.executable import set_run_listener

    class Holder:  # refers to itself: freed only by the cycle collector
        def __init__(self, executable):
            self.me, self.executable = self, executable

    set_run_listener(Holder)  # every plan run is also held by a cycle
    plan_cache.capacity = kernel_cache.capacity = 4
    tinytorch.set_backend("llvm")
    gc.disable()
    rng = random.Random(0)
    for i in range(400):
        n = rng.randint(1, 300)
        x = np.arange(3 * n, dtype=np.float32).reshape(n, 3) / (3 * n)
        got = (Tensor(x) * 2 + 1).exp().sum(axis=1).numpy()
        assert np.allclose(got, np.exp(x * 2 + 1).sum(axis=1), rtol=1e-5)
        if i % 10 == 0:
            gc.collect()
    print("survived")
    """
)


def test_kernels_freed_by_the_cycle_collector_do_not_crash():
    out = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "survived" in out.stdout
