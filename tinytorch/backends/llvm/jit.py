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
        self._target, self._cpu, self._features = target, cpu, features

    def optimize(self, module: llvm.ModuleRef) -> None:
        pto = llvm.create_pipeline_tuning_options(speed_level=self.host.opt_level)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = False  # halves compile time; vectorized loops stay fast
        builder = llvm.create_pass_builder(self.target_machine, pto)
        builder.getModulePassManager().run(module, builder)

    def compile(self, ir_text: str, name: str) -> tuple[int, LoadedCode]:
        """Parse, verify, optimize and load ``ir_text``; return the address of ``name``."""
        addresses, code = self.compile_many(ir_text, [name])
        return addresses[0], code

    def compile_many(self, ir_text: str, names: list[str]) -> tuple[list[int], LoadedCode]:
        """One module with many kernels: one optimization run and one load for all of them
        (most of a compile's cost is per module, not per function).

        Each module gets its own execution engine. MCJIT never gives back the memory of a
        module removed from a shared engine (its section memory manager only grows), so a
        program seeing thousands of shapes grew without bound; closing a module's own
        engine frees its machine code. (An engine owns the target machine it is built
        with, so each engine gets a fresh one.)"""
        context = llvm.create_context()  # constants and types are interned per context
        module = llvm.parse_assembly(ir_text, context=context)
        module.triple = llvm.get_default_triple()
        module.data_layout = self.data_layout
        module.verify()
        self.optimize(module)
        machine = self._target.create_target_machine(
            cpu=self._cpu, features=self._features, opt=self.host.opt_level, jit=True
        )
        with _lock:
            engine = llvm.create_mcjit_compiler(module, machine)
            engine.finalize_object()
            addresses = [engine.get_function_address(n) for n in names]
        return addresses, LoadedCode(engine, module, context)

    def release(self, code: LoadedCode) -> None:
        """Free the machine code of a module whose kernels nobody can call any more."""
        code.close()


class LoadedCode:
    """One module's machine code and the execution engine that owns it. ``live`` counts
    the engines not yet closed (tests use it to check that evicted kernels free memory)."""

    live = 0

    def __init__(self, engine: llvm.ExecutionEngine, module: llvm.ModuleRef, context) -> None:
        self.engine: llvm.ExecutionEngine | None = engine
        self.module = module
        self.context = context
        LoadedCode.live += 1

    def close(self) -> None:
        """Dispose of the engine (and with it the module and its code). Idempotent."""
        with _lock:
            engine, self.engine = self.engine, None
            if engine is None:
                return
            LoadedCode.live -= 1
            engine.close()
            self.context.close()  # after the module, which lives in it


def get_jit() -> Jit:
    global _jit
    with _lock:
        if _jit is None:
            _jit = Jit()
        return _jit
