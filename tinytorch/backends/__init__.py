"""Backends by name. ``numpy`` is the reference interpreter; ``llvm`` compiles fused groups
into native kernels with a JIT. Both take the same post-pass graph."""

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


def _llvm() -> Backend:
    from tinytorch.backends.llvm import LLVMBackend  # imports llvmlite only when used

    return LLVMBackend()


register_backend("llvm", _llvm)

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
