"""Runtime flags, each settable by environment variable *and* from code.

| flag      | env var              | from code                                         |
|-----------|----------------------|---------------------------------------------------|
| backend   | TINYTORCH_BACKEND    | ``set_backend(name)``, ``with backend(name):``     |
| dump dir  | TINYTORCH_DUMP=dir   | ``set_dump_dir(dir)``, ``with dump_to(dir):``      |
| eager     | TINYTORCH_EAGER=1    | ``with eager_check():`` (realize after every op)  |
| debug     | TINYTORCH_DEBUG=N    | ``set_debug(N)``; 1: one line per compiled plan,  |
|           |                      | 2: also one line per kernel run (time, GFLOP/s)   |
| pipeline  |                      | ``set_pipeline([...])``, ``get_pipeline()``        |

Context managers override the global setting for the current thread only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinytorch.backends import check_backend_name
from tinytorch.util.flags import env

_ENV_FLAGS = {
    "backend": "TINYTORCH_BACKEND",
    "dump_dir": "TINYTORCH_DUMP",
    "eager": "TINYTORCH_EAGER",
    "debug": "TINYTORCH_DEBUG",
}
_globals: dict[str, Any] = {}
_env: dict[str, str] = {}
_local = threading.local()


def _overrides() -> dict[str, Any]:
    try:
        return _local.overrides
    except AttributeError:
        _local.overrides = {}
        return _local.overrides


def _get(flag: str, default: Any) -> Any:
    over = _overrides()
    if flag in over:
        return over[flag]
    if flag in _globals:
        return _globals[flag]
    if flag not in _env:  # environment variables are read once, at first use
        _env[flag] = env(_ENV_FLAGS[flag])
    return _env[flag] if _env[flag] else default


@contextmanager
def _override(flag: str, value: Any) -> Iterator[None]:
    over = _overrides()
    had, old = flag in over, over.get(flag)
    over[flag] = value
    try:
        yield
    finally:
        if had:
            over[flag] = old
        else:
            del over[flag]


# ------------------------------------------------------------------- backend
def current_backend() -> str:
    return check_backend_name(_get("backend", "numpy"))


def set_backend(name: str) -> None:
    """Use backend ``name`` from now on (``"numpy"``, ``"llvm"``...)."""
    _globals["backend"] = check_backend_name(name)


@contextmanager
def backend(name: str) -> Iterator[None]:
    """``with tinytorch.backend("numpy"): ...`` runs the block on that backend."""
    with _override("backend", check_backend_name(name)):
        yield


# ------------------------------------------------------------------ dumping
def dump_dir() -> Path | None:
    value = _get("dump_dir", None)
    return Path(value) if value else None


def set_dump_dir(path: str | Path | None) -> None:
    _globals["dump_dir"] = str(path) if path else ""


@contextmanager
def dump_to(path: str | Path) -> Iterator[None]:
    """Write the graph after every pass, for every plan compiled in this block, to ``path``."""
    with _override("dump_dir", str(path)):
        yield


# -------------------------------------------------------------- eager, debug
def eager() -> bool:
    value = _get("eager", "0")  # asked once per op built: the common answer is quick
    return value != "0" and str(value).lower() not in ("0", "", "false", "no")


@contextmanager
def eager_check() -> Iterator[None]:
    """Realize after every op, so a failure surfaces at the op that caused it."""
    with _override("eager", "1"):
        yield


def debug_level() -> int:
    try:
        return int(_get("debug", 0))
    except ValueError:
        return 0


def set_debug(level: int) -> None:
    _globals["debug"] = int(level)


# ----------------------------------------------------------------- pipeline
def get_pipeline() -> list:
    """The pass pipeline realize() runs (a copy: change it with :func:`set_pipeline`)."""
    if "pipeline" not in _globals:
        from tinytorch.passes import default_pipeline

        _globals["pipeline"] = default_pipeline()
    return list(_globals["pipeline"])


def set_pipeline(passes: list | None) -> None:
    """Replace the pipeline (``None`` restores the default). Plans compile anew."""
    _globals.pop("pipeline_key", None)
    if passes is None:
        _globals.pop("pipeline", None)
    else:
        _globals["pipeline"] = list(passes)


def pipeline_key() -> tuple:
    """What identifies the pipeline in cache keys (each pass's class and options), computed
    when the pipeline is set: change a pipeline through :func:`set_pipeline`."""
    if "pipeline_key" not in _globals:
        _globals["pipeline_key"] = tuple(p.cache_key() for p in get_pipeline())
    return _globals["pipeline_key"]
