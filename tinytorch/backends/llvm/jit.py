"""The JIT: LLVM IR text in, a callable machine-code address out.

One target machine for the host CPU (its name and features, so AVX2/AVX-512 get used), the
new pass manager at O3 with loop and SLP vectorization on, and MCJIT to load the code.
Compiling costs milliseconds, so compiled kernels are cached (see ``kernels.py``).

llvmlite >= 0.45 removed the legacy pass manager; this module uses the pass-builder API.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

_lock = threading.Lock()
_jit: Jit | None = None


@dataclass(frozen=True)
class HostInfo:
    cpu: str
    features: str
    llvmlite_version: str
    opt_level: int = 3


class Jit:
    def __init__(self, opt_level: int = 3) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        cpu = llvm.get_host_cpu_name()
        features = llvm.get_host_cpu_features().flatten()
        self.host = HostInfo(cpu, features, llvmlite.__version__, opt_level)
        self.target_machine = target.create_target_machine(
            cpu=cpu, features=features, opt=opt_level, jit=True
        )
        self.triple = target.triple if hasattr(target, "triple") else llvm.get_default_triple()
        self.data_layout = str(self.target_machine.target_data)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.target_machine)

    def optimize(self, module: llvm.ModuleRef) -> None:
        pto = llvm.create_pipeline_tuning_options(speed_level=self.host.opt_level)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = False  # halves compile time; vectorized loops stay fast
        builder = llvm.create_pass_builder(self.target_machine, pto)
        builder.getModulePassManager().run(module, builder)

    def compile(self, ir_text: str, name: str) -> tuple[int, llvm.ModuleRef]:
        """Parse, verify, optimize and load ``ir_text``; return the address of ``name``."""
        addresses, module = self.compile_many(ir_text, [name])
        return addresses[0], module

    def compile_many(self, ir_text: str, names: list[str]) -> tuple[list[int], llvm.ModuleRef]:
        """One module with many kernels: one optimization run and one load for all of them
        (most of a compile's cost is per module, not per function)."""
        module = llvm.parse_assembly(ir_text)
        module.triple = llvm.get_default_triple()
        module.data_layout = self.data_layout
        module.verify()
        self.optimize(module)
        with _lock:
            self.engine.add_module(module)
            self.engine.finalize_object()
            addresses = [self.engine.get_function_address(n) for n in names]
        return addresses, module

    def release(self, module: llvm.ModuleRef) -> None:
        """Unload a module whose kernels nobody can call any more."""
        with _lock:
            try:
                self.engine.remove_module(module)
            except Exception:  # the engine is shutting down: nothing to free
                return
        module.close()


def get_jit() -> Jit:
    global _jit
    with _lock:
        if _jit is None:
            _jit = Jit()
        return _jit
