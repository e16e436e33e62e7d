"""The LLVM JIT backend: fused groups become native, vectorized kernels (llvmlite).

How a graph becomes machine code, module by module:

* ``group.py``      — what a fused group computes, reads, and is (its cache key);
* ``lltypes.py``    — the LLVM types of the compiled dtypes, constants, conversions;
* ``lowering.py``   — the lowering table: each op's arithmetic for one element;
* ``mathlib.py``    — vectorizable ``exp``/``log``/``tanh``/``sigmoid`` in plain LLVM IR;
* ``codegen.py``    — a group's loops, loads and stores: one kernel;
* ``indexing.py``   — index arithmetic folded at compile time, and views as index rewrites;
* ``jit.py``        — LLVM IR text in, optimized machine code out;
* ``kernels.py``    — compiled kernels, cached by structure;
* ``windows.py``    — sliding windows: ``windows`` as index arithmetic, ``fold`` as a kernel;
* ``executable.py`` — a compiled plan: kernels for fused groups, NumPy for everything else;
* ``blas.py``       — how many threads NumPy's BLAS may use (``TINYTORCH_THREADS`` caps it).

This package is imported only when the llvm backend is first used (see
``tinytorch/backends/__init__.py``), so a NumPy-only program never loads llvmlite.
"""

from __future__ import annotations

from tinytorch.backends.base import Backend, Executable
from tinytorch.backends.llvm.blas import apply_thread_flag
from tinytorch.backends.llvm.executable import LLVMExecutable
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.ir.graph import Graph


class LLVMBackend(Backend):
    name = "llvm"

    def compile(self, graph: Graph) -> Executable:
        apply_thread_flag()  # TINYTORCH_THREADS=n: BLAS uses n threads too
        return LLVMExecutable(graph)

    def config(self) -> tuple:
        """The host the kernels are built for: plans compiled for another CPU never match."""
        if not hasattr(self, "_config"):
            self._config = (get_jit().host,)
        return self._config
