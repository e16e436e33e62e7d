"""Module 18: acceleration — vectorization, kernel fusion, cache tiling, the roofline.

    from tinytorch.perf.acceleration import vectorized_matmul, fused_gelu
    h = vectorized_matmul(x, w)      # BLAS GEMM
    y = fused_gelu(h)                # one kernel on llvm: read x once, write y once

The book writes these with NumPy on ``.data``. Here they are written with the framework's
own ops, so the lessons happen in the compiler and show up in its profiles:

* :func:`vectorized_matmul` is the graph's ``matmul``, which both backends hand to BLAS
  (lazy and differentiable, unlike the book's ``Tensor(np.matmul(...))``).
* :func:`fused_gelu` builds the tanh-approximation GELU as *one expression*; the fusion pass
  makes it one kernel on llvm (8 bytes of memory traffic per element).
* :func:`unfused_gelu` builds the same seven steps but **realizes every temporary** before
  the next step is written, so each is its own kernel with its own buffer even on llvm: 7
  temporaries and a result, each written to memory and read back (the book's 16 memory
  operations per element). Both evaluate the same ops in the same order, so they agree.
* :func:`tiled_matmul` computes ``a @ b`` block by block (``tile_size`` x ``tile_size``
  blocks): on llvm with a JIT-compiled blocked loop nest whose inner loop is vectorized
  (``tinytorch/backends/llvm/tiled.py``); on numpy (and for non-float32 data) as the same
  three tile loops around one small NumPy/BLAS product per block. Batch dimensions are
  looped over. Like the book's, its result is a new tensor outside autograd.
* :func:`roofline_report` / :func:`measure_machine`: this machine's copy bandwidth and
  peak GFLOP/s, and where each kernel of a profiled run falls under them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.perf.machine import Machine, measure_machine, this_machine
from tinytorch.perf.roofline import RooflineReport, roofline_report
from tinytorch.runtime import current_backend

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # 0.797885...
GELU_COEF = 0.044715

__all__ = [
    "GELU_COEF",
    "Machine",
    "RooflineReport",
    "SQRT_2_OVER_PI",
    "fused_gelu",
    "measure_machine",
    "roofline_report",
    "this_machine",
    "tiled_matmul",
    "unfused_gelu",
    "vectorized_matmul",
]


def _as_tensor(x: Any, where: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(np.asarray(x, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where} expects a Tensor, got {type(x).__name__}: {exc}") from None


def _check_matrices(a: Tensor, b: Tensor, where: str) -> None:
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"{where} needs matrices (at least 2-D), got shapes {a.shape} @ {b.shape}")


# ------------------------------------------------------------------ vectorization
def vectorized_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` through BLAS GEMM (SIMD, cache blocking, threads), as the graph's matmul."""
    a, b = _as_tensor(a, "vectorized_matmul"), _as_tensor(b, "vectorized_matmul")
    _check_matrices(a, b, "vectorized_matmul")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"Matrix multiplication shape mismatch: {a.shape} @ {b.shape}. "
            f"Inner dimensions must match: a.shape[-1]={a.shape[-1]} != b.shape[-2]={b.shape[-2]}"
        )
    return a.matmul(b)


# ------------------------------------------------------------------ kernel fusion
def _cube(x: Tensor) -> Tensor:
    """``x**3`` as two multiplies: a general ``pow`` is a libm call per element on both
    backends (not vectorized), which would hide the memory lesson behind arithmetic."""
    return x * x * x


def fused_gelu(x: Tensor) -> Tensor:
    """GELU, tanh approximation, written as one expression (one fused kernel on llvm):
    ``0.5 * (x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x*x*x))))``."""
    x = _as_tensor(x, "fused_gelu")
    return 0.5 * (x * (1.0 + (SQRT_2_OVER_PI * (x + GELU_COEF * _cube(x))).tanh()))


def unfused_gelu(x: Tensor) -> Tensor:
    """The same GELU, one materialized temporary per step (the baseline fusion beats)."""
    x = _as_tensor(x, "unfused_gelu")

    def materialize(t: Tensor) -> Tensor:
        realize(t)  # computed now, as its own kernel, into its own buffer
        return t

    temp1 = materialize(_cube(x))  # x^3
    temp2 = materialize(GELU_COEF * temp1)  # 0.044715 * x^3
    temp3 = materialize(x + temp2)  # x + 0.044715 * x^3
    temp4 = materialize(SQRT_2_OVER_PI * temp3)  # sqrt(2/pi) * (...)
    temp5 = materialize(temp4.tanh())  # tanh(...)
    temp6 = materialize(1.0 + temp5)  # 1 + tanh(...)
    temp7 = materialize(x * temp6)  # x * (1 + tanh(...))
    return materialize(0.5 * temp7)  # 0.5 * x * (...)


# ------------------------------------------------------------------ cache tiling
def tiled_matmul(a: Tensor, b: Tensor, tile_size: int = 64) -> Tensor:
    """``a @ b`` computed in ``tile_size`` x ``tile_size`` blocks (cache-aware tiling).

    The book's rule of thumb: three blocks should fit in a cache level,
    ``3 * tile_size**2 * 4`` bytes (128 -> 196 KB for a 256 KB L2)."""
    a, b = _as_tensor(a, "tiled_matmul"), _as_tensor(b, "tiled_matmul")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"Shape mismatch: {a.shape} @ {b.shape}")
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)):
        raise TypeError(f"tiled_matmul: tile_size must be an int, got {type(tile_size).__name__}")
    if tile_size < 1:
        raise ValueError(f"tiled_matmul: tile_size must be >= 1, got {tile_size}")
    x, y = a.data, b.data
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    dtype = np.result_type(x.dtype, y.dtype)
    x = np.broadcast_to(x, batch + x.shape[-2:]).astype(dtype, copy=False)
    y = np.broadcast_to(y, batch + y.shape[-2:]).astype(dtype, copy=False)
    out = np.empty(batch + (x.shape[-2], y.shape[-1]), dtype=dtype)
    blocked = _blocked_kernel(dtype)
    for index in itertools.product(*(range(d) for d in batch)):
        out[index] = blocked(x[index], y[index], int(tile_size))
    return Tensor(out)


def _blocked_kernel(dtype: np.dtype):
    """The compiled blocked loop nest on llvm for float32; NumPy blocks otherwise."""
    if current_backend() == "llvm" and dtype == np.float32:
        from tinytorch.backends.llvm.tiled import tiled_matmul_f32  # loads llvmlite

        return tiled_matmul_f32
    return _numpy_tiles


def _numpy_tiles(a: np.ndarray, b: np.ndarray, t: int) -> np.ndarray:
    """The book's three tile loops, one small BLAS product accumulated per block."""
    (m, k), n = a.shape, b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i0 in range(0, m, t):
        for k0 in range(0, k, t):
            a_block = a[i0 : i0 + t, k0 : k0 + t]
            for j0 in range(0, n, t):
                out[i0 : i0 + t, j0 : j0 + t] += a_block @ b[k0 : k0 + t, j0 : j0 + t]
    return out
