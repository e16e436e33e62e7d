"""What this machine can do: its memory bandwidth and its peak arithmetic rate.

These two numbers are the roofline (Williams et al., 2009): a kernel that does ``F`` flops
while moving ``B`` bytes (arithmetic intensity ``AI = F / B``) can run no faster than
``min(peak_gflops, AI * bandwidth_gbs)``. Below the *ridge point* ``peak / bandwidth`` a
kernel is memory-bound (fusion and smaller dtypes help); above it, compute-bound (better
kernels and vectorization help).

Both are measured, not looked up, and only when asked (never at import), in a fraction of a
second:

* **bandwidth**: the best of repeated copies of a 32 MB float32 array (well beyond the
  caches), counting a read and a write per byte copied, as STREAM's "copy" does;
* **peak**: the best of repeated float32 BLAS matrix products (64, 256 and 512 square), the
  fastest arithmetic NumPy reaches in this process (with however many threads BLAS is
  allowed: on a shared machine set ``OPENBLAS_NUM_THREADS=1``, as ``bench/`` does).

Each keeps the *best* run of a tenth of a second of tries: on a shared machine a run that
lost its time slice says nothing about the hardware.

:func:`this_machine` measures once per process and caches the result;
``Machine(peak_gflops=..., bandwidth_gbs=...)`` states numbers by hand (tests do, to get
the same verdicts on every machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Machine:
    """The two ceilings of a roofline: GFLOP/s of arithmetic and GB/s of memory traffic."""

    peak_gflops: float
    bandwidth_gbs: float

    def __post_init__(self) -> None:
        if not (self.peak_gflops > 0 and self.bandwidth_gbs > 0):
            raise ValueError(
                f"Machine needs positive ceilings, got peak_gflops={self.peak_gflops}, "
                f"bandwidth_gbs={self.bandwidth_gbs}"
            )

    @property
    def ridge_point(self) -> float:
        """The arithmetic intensity (flops per byte) where the two ceilings meet."""
        return self.peak_gflops / self.bandwidth_gbs

    def attainable_gflops(self, intensity: float) -> float:
        """The roofline: the best GFLOP/s a kernel of this intensity can reach here."""
        return min(self.peak_gflops, intensity * self.bandwidth_gbs)

    def bound(self, intensity: float) -> str:
        """``"memory"`` below the ridge point, ``"compute"`` at or above it."""
        return "memory" if intensity < self.ridge_point else "compute"

    def describe(self) -> str:
        return (
            f"peak {self.peak_gflops:.1f} GFLOP/s, copy bandwidth {self.bandwidth_gbs:.1f} GB/s, "
            f"ridge point {self.ridge_point:.2f} flops/byte"
        )


def _best_seconds(fn, repeat: int, budget: float = 0.1, most: int = 500) -> float:
    """The fastest of at least ``repeat`` runs, running on until ``budget`` seconds have
    passed (a shared machine steals whole time slices; the best run is the machine's)."""
    fn()  # first touch: page faults and BLAS start-up are not the machine's speed
    best = float("inf")
    start = time.perf_counter()
    runs = 0
    while runs < most and (runs < repeat or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        runs += 1
    return max(best, 1e-9)


def measure_bandwidth_gbs(megabytes: int = 32, repeat: int = 5) -> float:
    """Copy bandwidth in GB/s: bytes read plus bytes written per second, best of ``repeat``."""
    src = np.ones(megabytes * (1 << 20) // 4, dtype=np.float32)
    dst = np.empty_like(src)
    seconds = _best_seconds(lambda: np.copyto(dst, src), repeat)
    return 2 * src.nbytes / seconds / 1e9


def measure_peak_gflops(sizes: tuple[int, ...] = (64, 256, 512), repeat: int = 5) -> float:
    """GFLOP/s of float32 ``n x n x n`` BLAS matmuls (2 n^3 flops): the best over ``sizes``
    of the best of ``repeat`` (or more) runs each. Several sizes, because a multi-threaded
    BLAS on busy cores can be slower on large products than one thread on a small one."""
    rng = np.random.default_rng(0)
    best = 0.0
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        out = np.empty((n, n), dtype=np.float32)
        seconds = _best_seconds(lambda a=a, b=b, out=out: np.matmul(a, b, out=out), repeat)
        best = max(best, 2 * n**3 / seconds / 1e9)
    return best


def measure_machine() -> Machine:
    """Measure both ceilings now (a few tenths of a second)."""
    return Machine(peak_gflops=measure_peak_gflops(), bandwidth_gbs=measure_bandwidth_gbs())


_measured: Machine | None = None


def this_machine() -> Machine:
    """This machine's ceilings, measured on the first call and remembered after it."""
    global _measured
    if _measured is None:
        _measured = measure_machine()
    return _measured
