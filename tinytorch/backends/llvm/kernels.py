"""Compiled kernels, cached by structure.

Two fused groups with the same structure (ops, attributes, wiring, argument shapes and
dtypes) compile to the same machine code, so kernels are cached by a structural key that
also names the CPU, its features, the optimization level and the llvmlite version (a kernel
built for another CPU must never be reused). The cache is a bounded LRU
(:class:`tinytorch.util.lru.LRUCache`); a kernel that falls out of it stays alive as long as
a compiled plan still calls it, and its machine code is freed when the last reference goes.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Sequence

from llvmlite import ir

from tinytorch.backends.llvm.codegen import KernelBuilder, KernelSource, finish_ir
from tinytorch.backends.llvm.group import group_signature, kernel_body
from tinytorch.backends.llvm.jit import LoadedCode, get_jit
from tinytorch.ir.node import Node
from tinytorch.util.lru import LRUCache


class LoadedModule:
    """Machine code loaded in the JIT; freed (its engine closed) when the last kernel in it
    is dropped."""

    def __init__(self, code: LoadedCode) -> None:
        self.code = code
        self.module = code.module

    def __del__(self) -> None:
        code, self.code = getattr(self, "code", None), None
        if code is not None:
            try:  # noqa: SIM105 (contextlib may be gone at interpreter shutdown)
                code.close()
            except Exception:
                pass


class Kernel:
    def __init__(self, name: str, source: KernelSource, address: int, loaded: LoadedModule) -> None:
        self.name = name
        self.source = source  # IR text, argument nodes, outer extent
        self.address = address
        self._loaded = loaded  # keeps the machine code alive as long as this kernel
        nargs = 1 + len(source.args)
        self.cfunc = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64,
                                      *([ctypes.c_void_p] * nargs))(address)  # fmt: skip

    def optimized_ir(self) -> str:
        """The optimized LLVM IR of this kernel's function (to check it vectorized)."""
        text = str(self._loaded.module)
        start = text.find(f'@"{self.name}"(') if f'@"{self.name}"(' in text else text.find(
            f"@{self.name}(")  # fmt: skip
        start = text.rfind("define", 0, start)
        end = text.find("\n}\n", start)
        return text[start : end + 3] if start >= 0 and end > 0 else text


class KernelCache:
    """Compiled kernels by structural key; ``compiled`` counts the kernels ever compiled."""

    def __init__(self, capacity: int = 1024) -> None:
        self._kernels = LRUCache(capacity)
        self.compiled = 0

    @property
    def capacity(self) -> int:
        return self._kernels.capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._kernels.capacity = value

    def get(self, members: Sequence[Node]) -> Kernel:
        """The kernel for one group (compiling it if needed); raises if it cannot be built."""
        result = self.get_many([members])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def get_many(self, groups: Sequence[Sequence[Node]]) -> list[Kernel | Exception]:
        """Kernels for many groups at once: every group not in the cache is generated into
        ONE LLVM module and compiled together. A group the generator cannot build, or a
        module that fails to compile, yields the exception in that group's place (a failed
        module is retried kernel by kernel, so one bad kernel does not sink the others)."""
        jit = get_jit()
        results: list[Kernel | Exception | None] = [None] * len(groups)
        todo: dict[tuple, list[int]] = {}
        groups = [kernel_body(members) for members in groups]
        for k, members in enumerate(groups):
            key = (group_signature(members), jit.host)
            kernel = self._kernels.get(key)
            if kernel is not None:
                results[k] = kernel
            else:
                todo.setdefault(key, []).append(k)
        if todo:
            built = self._build(list(todo), [groups[ks[0]] for ks in todo.values()])
            for (key, ks), kernel in zip(todo.items(), built, strict=True):
                for k in ks:
                    results[k] = kernel
                if isinstance(kernel, Kernel):
                    self._kernels.put(key, kernel)
        return results  # type: ignore[return-value]

    def _build(self, keys: list[tuple], groups: list[Sequence[Node]]) -> list:
        module = ir.Module(name="tinytorch_kernels")
        sources: list[KernelSource | Exception] = []
        for key, members in zip(keys, groups, strict=True):
            name = "k_" + hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            try:
                sources.append(KernelBuilder(members, name).build(module))
            except Exception as exc:  # Unsupported, or a generator bug: NumPy runs it
                sources.append(exc)
        ok = [src for src in sources if not isinstance(src, Exception)]
        if not ok:
            return sources
        names = [src.name for src in ok]
        try:
            addresses, llmod = get_jit().compile_many(finish_ir(str(module), names), names)
        except Exception as exc:
            if len(ok) == 1:
                return [src if isinstance(src, Exception) else exc for src in sources]
            return [src if isinstance(src, Exception) else self._build_alone(src, m)
                    for src, m in zip(sources, groups, strict=True)]  # fmt: skip
        loaded = LoadedModule(llmod)
        self.compiled += len(ok)
        found = dict(zip(names, addresses, strict=True))
        return [src if isinstance(src, Exception)
                else Kernel(src.name, src, found[src.name], loaded) for src in sources]  # fmt: skip

    def _build_alone(self, src, members) -> Kernel | Exception:
        try:
            source = KernelBuilder(members, src.name).build()
            address, llmod = get_jit().compile(source.ir, source.name)
        except Exception as exc:
            return exc
        self.compiled += 1
        return Kernel(source.name, source, address, LoadedModule(llmod))

    def __len__(self) -> int:
        return len(self._kernels)

    def clear(self) -> None:
        self._kernels.clear()


kernel_cache = KernelCache()
