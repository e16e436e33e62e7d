"""Backends by name. ``numpy`` is the reference interpreter; ``llvm`` (a JIT) registers here
too when it lands."""

from tinytorch.backends.base import (
    Backend,
    Executable,
    Hook,
    UnknownBackendError,
    available_backends,
    check_backend_name,
    get_backend,
    register_backend,
)
from tinytorch.backends.numpy_backend import NumpyBackend

register_backend("numpy", NumpyBackend)

__all__ = [
    "Backend",
    "Executable",
    "Hook",
    "NumpyBackend",
    "UnknownBackendError",
    "available_backends",
    "check_backend_name",
    "get_backend",
    "register_backend",
]
