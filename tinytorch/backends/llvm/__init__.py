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
        from tinytorch.backends.llvm.jit import get_jit

        return (get_jit().host,)
