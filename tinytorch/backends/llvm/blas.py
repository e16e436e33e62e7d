"""How many threads BLAS may use, set from inside the process (no threadpoolctl needed).

The llvm backend runs matmul on NumPy's BLAS and everything else in its own kernels, which
it may split across threads (``TINYTORCH_THREADS``). On a small or busy machine a BLAS
that starts a thread per core competes with those kernels and with other processes, and a
matmul whose threads wait for a descheduled sibling runs many times slower. So when the
user asks for a thread count (``TINYTORCH_THREADS=1`` for a one-thread benchmark, say),
the backend caps BLAS to the same count for the whole process (:func:`apply_thread_flag`).
Steps of a plan run one after another, so BLAS and our kernels never compute at the same
time; the cap is what keeps a many-threaded BLAS pool from taking the cores our kernels
asked for.

NumPy's wheels bundle OpenBLAS (``scipy-openblas``, whose symbols carry a prefix and a
``64_`` suffix). We find the loaded library in the process's memory map and call its
``set_num_threads``/``get_num_threads`` through ctypes. A NumPy built on another BLAS (MKL,
Accelerate) is left alone: :func:`blas_threads` returns None and setting is a no-op. The
``OPENBLAS_*`` environment variables are never changed.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tinytorch.util.flags import env_int

# (setter, getter) symbol pairs, as OpenBLAS builds name them.
_SYMBOLS = (
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
)


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries this process has loaded (NumPy's first), found in
    ``/proc/self/maps``; on other systems, the libraries bundled beside NumPy."""
    import numpy as np

    found: list[str] = []
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
            if "openblas" in os.path.basename(path).lower() and path not in found:
                found.append(path)
    if not found:
        root = Path(np.__file__).parent
        for folder in (root.parent / "numpy.libs", root / ".dylibs"):
            if folder.is_dir():
                found += [str(p) for p in sorted(folder.glob("*openblas*"))]
    return found


@functools.cache
def _controls() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    """OpenBLAS's (set_num_threads, get_num_threads), or None when there is no OpenBLAS."""
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


def blas_threads() -> int | None:
    """The number of threads BLAS uses now (None: no OpenBLAS found to ask)."""
    controls = _controls()
    return None if controls is None else controls[1]()


def set_blas_threads(count: int) -> int | None:
    """Let BLAS use ``count`` threads; returns the previous count (None: no OpenBLAS)."""
    controls = _controls()
    if controls is None:
        return None
    before = controls[1]()
    if before != count:
        controls[0](count)
    return before


@contextmanager
def limited_blas_threads(count: int) -> Iterator[None]:
    """BLAS uses at most ``count`` threads inside the block, its previous count after."""
    before = blas_threads()
    if before is None or before <= count:
        yield
        return
    set_blas_threads(count)
    try:
        yield
    finally:
        set_blas_threads(before)


def apply_thread_flag() -> int | None:
    """When ``TINYTORCH_THREADS`` is set, cap BLAS to that many threads for the process;
    returns the count applied (None: the flag is unset or there is no OpenBLAS)."""
    count = env_int("TINYTORCH_THREADS", 0)
    if count <= 0 or _controls() is None:
        return None
    set_blas_threads(count)
    return count
