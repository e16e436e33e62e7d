"""The JIT: LLVM IR text in, a callable machine-code address out.

One target machine for the host CPU (its name and features, so AVX2/AVX-512 get used), the
new pass manager at O3 with loop and SLP vectorization on (``optimizer.py``: in this process,
or in a recycled worker once many modules have been compiled), and MCJIT to load the code.
Compiling costs milliseconds, so compiled kernels are cached (see ``kernels.py``).

llvmlite >= 0.45 removed the legacy pass manager; ``optimizer.py`` uses the pass-builder API.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

from tinytorch.backends.llvm.optimizer import Optimizer

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
        self._arena: Arena | None = None
        self.optimizer = Optimizer(self.target_machine, cpu, features, opt_level)

    def compile(self, ir_text: str, name: str) -> tuple[int, LoadedCode]:
        """Parse, verify, optimize and load ``ir_text``; return the address of ``name``."""
        addresses, code = self.compile_many(ir_text, [name])
        return addresses[0], code

    def compile_many(self, ir_text: str, names: list[str]) -> tuple[list[int], LoadedCode]:
        """One module with many kernels: one optimization run and one load for all of them
        (most of a compile's cost is per module, not per function). The module is loaded
        into the current :class:`Arena`'s engine; see there for how memory comes back."""
        with _lock:  # an arena's LLVM context is not thread-safe: one compile at a time
            arena = self._arena
            if arena is None or arena.added >= ARENA_MODULES:
                arena = self._arena = Arena(self._new_machine())
            arena.added += 1
            module = self.optimizer.load(ir_text, arena.context)
            try:
                arena.engine.add_module(module)
            except Exception:
                module.close()  # now, while its context is certainly open
                raise
            arena.engine.finalize_object()
            addresses = [arena.engine.get_function_address(n) for n in names]
            return addresses, LoadedCode(arena, module)

    def _new_machine(self):
        return self._target.create_target_machine(
            cpu=self._cpu, features=self._features, opt=self.host.opt_level, jit=True
        )

    def release(self, code: LoadedCode) -> None:
        """Free the machine code of a module whose kernels nobody can call any more."""
        code.close()


# Modules that share one execution engine. MCJIT never gives back the memory of a module
# removed from an engine (its section memory manager only grows), and an engine of its own
# (with its target machine) costs ~0.8 MB: measured, 1,500 one-kernel modules took +1.1 GB
# with an engine each and +18 MB in one shared engine. An arena of 32 keeps both small.
ARENA_MODULES = 32


class Arena:
    """An execution engine (and the LLVM context its modules live in) shared by up to
    :data:`ARENA_MODULES` modules. Once full and once every module in it is released (the
    kernel cache dropped all their kernels), the arena is closed, which frees all its machine
    code at once. So memory stays bounded by the kernels the caches hold (plus at most one
    partly released arena per ``ARENA_MODULES`` modules), however many shapes a program sees.
    ``open`` counts the arenas not yet closed (tests read it).

    Every open arena stays in ``Arena.registry`` until it is closed. Without that, an arena
    whose last kernels die inside a reference cycle would itself become garbage in the same
    collection, and Python finalizes such objects in no particular order: the LLVM context
    could be disposed before the engine whose modules live in it, and disposing the engine
    then crashes the process (reproduced by ``tests/backends/test_llvm_jit_lifetime.py``).
    Held here, the engine and context are never garbage; the kernels' finalizers release
    their modules, and the last release closes the engine first, then the context."""

    open = 0
    registry: set[Arena] = set()

    def __init__(self, machine) -> None:
        self.context = llvm.create_context()
        self.engine = llvm.create_mcjit_compiler(
            llvm.parse_assembly("", context=self.context), machine
        )
        self.added = 0  # modules loaded into it so far
        self.live = 0  # of those, not yet released
        Arena.open += 1
        Arena.registry.add(self)

    def release_one(self) -> None:
        """One of its modules is no longer needed (call with ``_lock`` held)."""
        self.live -= 1
        if self.live == 0 and self.added >= ARENA_MODULES:
            self.engine.close()  # the modules and their machine code go with it
            self.context.close()  # after the modules, which live in it
            Arena.open -= 1
            Arena.registry.discard(self)


class LoadedCode:
    """One module's machine code, loaded in an :class:`Arena`. ``live`` counts the modules
    not yet released (tests use it to check that evicted kernels let go of their code)."""

    live = 0

    def __init__(self, arena: Arena, module: llvm.ModuleRef) -> None:
        self.arena: Arena | None = arena
        self.module = module
        arena.live += 1
        LoadedCode.live += 1

    def close(self) -> None:
        """Release the module: its arena frees the code once all its modules are released.
        Idempotent."""
        with _lock:
            arena, self.arena = self.arena, None
            if arena is None:
                return
            LoadedCode.live -= 1
            arena.release_one()


def get_jit() -> Jit:
    global _jit
    with _lock:
        if _jit is None:
            _jit = Jit()
        return _jit
