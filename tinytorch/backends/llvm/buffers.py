"""Recycled intermediate buffers: a plan's kernels write into arrays its earlier runs freed.

A training step allocates the same intermediates every time it runs (the im2col matrix,
the conv output, the pooled maps...). Fresh megabyte-sized arrays come from ``mmap``: every
page is faulted in and zeroed by the kernel on first touch, and unmapped again when the
array is freed, which on the W2 CNN step cost more than the kernels writing them. The pool
keeps freed arrays by ``(shape, dtype)`` and hands them to the next kernel that needs that
shape, in the same run or the next one.

An array is taken back only when nothing else can see it: it owns its memory, is not a
view, and the caller's reference is the only one left (no user tensor, view or plan holds
it; CPython's reference count says so). A recycled buffer is overwritten completely by the
kernel it is given to (every kernel writes its whole output). The pool holds at most
``capacity`` bytes; :func:`BufferPool.clear` returns them to the allocator.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from tinytorch.ir.families import is_view

MIN_BYTES = 4096  # smaller arrays are not kept: NumPy allocates them cheaply


def _references(array: np.ndarray) -> int:
    return sys.getrefcount(array)


def _probe(array: np.ndarray) -> int:
    return _references(array)


def _as_give_sees(array: np.ndarray) -> int:  # the same call depth as BufferPool.give
    return _probe(array)


def _unshared_count() -> int:
    """The reference count :meth:`BufferPool.give` sees for an array only its caller holds,
    in one local variable (measured, so that it holds on any CPython version)."""
    array = np.empty(1)
    return _as_give_sees(array)


_UNSHARED = _unshared_count()


class BufferPool:
    def __init__(self, capacity: int = 256 << 20) -> None:
        self.capacity = capacity  # bytes
        self.held = 0
        self.reused = 0  # arrays handed out again (a statistic, for tests and debugging)
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()

    def take(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialized array of ``shape`` and ``dtype``: a recycled one if there is."""
        with self._lock:
            stack = self._free.get((shape, dtype))
            if stack:
                array = stack.pop()
                self.held -= array.nbytes
                self.reused += 1
                return array
        return np.empty(shape, dtype=dtype)

    def may_take(self, node) -> bool:
        """Whether an array ``node`` computes could ever be taken back: not a view, and not
        under the size floor (small arrays come from NumPy's own allocator cheaply)."""
        return not is_view(node.op) and node.size * np.dtype(node.dtype).itemsize >= MIN_BYTES

    def give(self, array: np.ndarray | None) -> None:
        """Take ``array`` back if nothing but the caller's one reference holds it (call it
        with the only reference you have, right after dropping any other)."""
        if (not isinstance(array, np.ndarray) or array.base is not None
                or not array.flags.owndata or not array.flags.writeable
                or array.nbytes < MIN_BYTES or _probe(array) > _UNSHARED):  # fmt: skip
            return
        with self._lock:
            if self.held + array.nbytes > self.capacity:
                return
            self._free.setdefault((array.shape, array.dtype), []).append(array)
            self.held += array.nbytes

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self.held = 0


buffer_pool = BufferPool()
