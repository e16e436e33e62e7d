"""Every ``TINYTORCH_*`` environment variable, listed and read in one place.

Other modules never call ``os.environ`` for these: they ask :func:`env` by name, so the
table below is the whole truth about what the environment can change. The runtime wraps
the first four in settable flags with context managers (``tinytorch.runtime.config``).

| variable                 | what it changes                                             |
|--------------------------|-------------------------------------------------------------|
| TINYTORCH_BACKEND        | default backend (``numpy`` or ``llvm``)                     |
| TINYTORCH_DUMP           | folder: write the graph after every pass of every plan      |
| TINYTORCH_EAGER          | ``1``: realize after every op (bisecting a bug)             |
| TINYTORCH_DEBUG          | ``1``: a line per compiled plan; ``2``: also per kernel run  |
| TINYTORCH_THREADS        | threads for one large llvm kernel (default: all cores); set,|
|                          | it also caps NumPy's BLAS threads (llvm backend)            |
| TINYTORCH_OPT_WORKER     | llvm: in-process optimizations before a worker process runs  |
|                          | them (default 256; ``0``: always; ``off``: never)           |
| TINYTORCH_PROGRESS       | ``bar`` / ``plain``: force the progress bar's style         |
| TINYTORCH_DATA_DIR       | folder holding downloaded datasets (``<dir>/mnist`` ...)    |
| TINYTORCH_CACHE_DIR      | tinytorch's cache folder (default ``~/.cache/tinytorch``)   |
| TINYTORCH_MILESTONES     | folder of the book's milestone scripts (for ``tito``)       |
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLES: dict[str, str] = {
    "TINYTORCH_BACKEND": "default backend",
    "TINYTORCH_DUMP": "graph dump folder",
    "TINYTORCH_EAGER": "realize after every op",
    "TINYTORCH_DEBUG": "debug print level",
    "TINYTORCH_THREADS": "threads per large llvm kernel (and BLAS, when set)",
    "TINYTORCH_OPT_WORKER": "llvm optimizations in-process before a worker takes over",
    "TINYTORCH_PROGRESS": "progress bar style",
    "TINYTORCH_DATA_DIR": "dataset folder",
    "TINYTORCH_CACHE_DIR": "cache folder",
    "TINYTORCH_MILESTONES": "milestone scripts folder",
}


def env(name: str, default: str = "") -> str:
    """The value of ``name`` (one of :data:`VARIABLES`), or ``default`` when unset or empty."""
    if name not in VARIABLES:
        raise KeyError(
            f"unknown tinytorch environment variable {name!r}; known: {sorted(VARIABLES)}"
        )
    return os.environ.get(name, "") or default


def env_path(name: str) -> Path | None:
    """``name`` as a path with ``~`` expanded, or None when unset."""
    value = env(name)
    return Path(value).expanduser() if value else None


def env_int(name: str, default: int) -> int:
    """``name`` as a positive integer; ``default`` when unset or not a positive integer."""
    value = env(name)
    return int(value) if value.isdigit() and int(value) > 0 else default


def cache_root() -> Path:
    """``$TINYTORCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/tinytorch``, else ``~/.cache/tinytorch``."""
    explicit = env_path("TINYTORCH_CACHE_DIR")
    if explicit is not None:
        return explicit
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tinytorch"
