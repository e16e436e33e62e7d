"""How much memory the llvm backend keeps as a program sees many new input shapes.

    python bench/memory_across_shapes.py [--shapes 2000] [--backend llvm]

Every batch size is a new shape, so it compiles a new plan and new kernels. The plan and
kernel caches are bounded; a module whose kernels they all dropped is released, and an
execution-engine arena whose modules are all released is closed, which frees their machine
code (``LoadedCode.live`` counts the modules not released, ``Arena.open`` the arenas). The
script prints the process's resident memory every 200 shapes and those two counts.

Each LLVM optimization run inside llvmlite (0.45-0.50) keeps ~80 KB that closing the module,
its context and its engine does not give back, so after 256 in-process runs the optimizer
moves to a recycled worker process (``backends/llvm/optimizer.py``). Run with
``TINYTORCH_OPT_WORKER=off`` to see the creep without it.
"""

from __future__ import annotations

import argparse
import gc

import numpy as np

import tinytorch
from tinytorch import Tensor


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=2000)
    parser.add_argument("--backend", default="llvm")
    args = parser.parse_args()
    tinytorch.set_backend(args.backend)
    for n in range(1, args.shapes + 1):
        x = Tensor(np.ones((n, 16), np.float32))
        ((x * 2 + 1).relu().sum(axis=1)).numpy()
        if n % 200 == 0:
            gc.collect()
            live = ""
            if args.backend == "llvm":
                from tinytorch.backends.llvm.jit import Arena, LoadedCode, get_jit

                opt = get_jit().optimizer
                live = (
                    f"  live modules {LoadedCode.live}, open arenas {Arena.open}, optimized"
                    f" here {opt.in_process} / in workers {opt.remote} ({opt.started} started)"
                )
            print(f"{n:6d} shapes  {resident_mb():8.1f} MB{live}", flush=True)


if __name__ == "__main__":
    main()
