"""Realization, caches, profiling hooks and flags: the layer that runs graphs."""

from tinytorch.runtime.config import (
    backend,
    current_backend,
    debug_level,
    dump_to,
    eager,
    eager_check,
    get_pipeline,
    set_backend,
    set_debug,
    set_dump_dir,
    set_pipeline,
)
from tinytorch.runtime.profiler import KernelRecord, NodeRecord, Profile, profile
from tinytorch.runtime.realize import compile_plan, plan_cache, realize

__all__ = [
    "KernelRecord",
    "NodeRecord",
    "Profile",
    "backend",
    "compile_plan",
    "current_backend",
    "debug_level",
    "dump_to",
    "eager",
    "eager_check",
    "get_pipeline",
    "plan_cache",
    "profile",
    "realize",
    "set_backend",
    "set_debug",
    "set_dump_dir",
    "set_pipeline",
]
