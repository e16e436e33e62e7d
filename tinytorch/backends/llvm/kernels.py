"""Compiled kernels, cached by structure.

Two fused groups with the same structure (ops, attributes, wiring, argument shapes and
dtypes) compile to the same machine code, so kernels are cached by a structural key that
also names the CPU, its features, the optimization level and the llvmlite version (a kernel
built for another CPU must never be reused). The cache is a bounded LRU; a kernel that falls
out of it stays alive as long as a compiled plan still calls it, and its machine code is
freed when the last reference goes.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Sequence

from tinytorch.backends.llvm.codegen import KernelBuilder
from tinytorch.backends.llvm.jit import get_jit
from tinytorch.ir.node import Node


class Kernel:
    def __init__(self, name: str, source, address: int, module) -> None:
        self.name = name
        self.source = source  # KernelSource: IR text, argument nodes, outer extent
        self.address = address
        self._module = module
        nargs = 1 + len(source.args)
        self.cfunc = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64,
                                      *([ctypes.c_void_p] * nargs))(address)  # fmt: skip

    def optimized_ir(self) -> str:
        """The LLVM IR after optimization (to check, e.g., that it vectorized)."""
        return str(self._module)

    def __del__(self) -> None:
        module, self._module = getattr(self, "_module", None), None
        if module is not None:
            try:
                get_jit().release(module)
            except Exception:  # interpreter shutdown
                pass


def group_args(members: Sequence[Node]) -> list[Node]:
    """The buffers a group reads, in kernel-argument order (first use while walking the
    members' inputs; constants are inlined, not passed). A cached kernel compiled for
    another graph of the same structure takes *this* graph's buffers in this order."""
    inside = {id(m) for m in members}
    args: dict[int, Node] = {}
    for m in members:
        for i in m.inputs:
            if id(i) not in inside and i.op != "const":
                args.setdefault(id(i), i)
    return list(args.values())


def group_signature(members: Sequence[Node]) -> tuple:
    """Structure of a fused group, independent of node identity."""
    index = {id(m): k for k, m in enumerate(members)}
    args: dict[int, int] = {}
    rows = []
    for m in members:
        refs = []
        for i in m.inputs:
            if id(i) in index:
                refs.append(("m", index[id(i)]))
            elif i.op == "const":
                refs.append(("c", i.key))
            else:
                args.setdefault(id(i), len(args))
                refs.append(("a", args[id(i)], i.shape, i.dtype))
        rows.append((m.key, tuple(refs)))
    return tuple(rows)


class KernelCache:
    def __init__(self, capacity: int = 1024) -> None:
        from collections import OrderedDict

        self.capacity = capacity
        self._data: OrderedDict[tuple, Kernel] = OrderedDict()
        self.compiled = 0

    def get(self, members: Sequence[Node]) -> Kernel:
        jit = get_jit()
        key = (group_signature(members), jit.host)
        kernel = self._data.get(key)
        if kernel is not None:
            self._data.move_to_end(key)
            return kernel
        name = "k_" + hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        source = KernelBuilder(members, name).build()
        address, module = jit.compile(source.ir, name)
        kernel = Kernel(name, source, address, module)
        self.compiled += 1
        self._data[key] = kernel
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)
        return kernel

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


kernel_cache = KernelCache()
