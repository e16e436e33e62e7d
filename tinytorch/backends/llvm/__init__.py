"""The LLVM JIT backend: fused groups become native, vectorized kernels (llvmlite)."""

from __future__ import annotations

from tinytorch.backends.base import Backend, Executable
from tinytorch.ir.graph import Graph


class LLVMBackend(Backend):
    name = "llvm"

    def compile(self, graph: Graph) -> Executable:
        from tinytorch.backends.llvm.executable import LLVMExecutable

        return LLVMExecutable(graph)

    def config(self) -> tuple:
        if not hasattr(self, "_config"):
            from tinytorch.backends.llvm.jit import get_jit

            self._config = (get_jit().host,)
        return self._config
