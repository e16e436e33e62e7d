"""Wall-clock timing the way the book's ``measure_latency`` does it: warm up, then report the
median of many runs (robust to the odd interruption by the OS or the garbage collector)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def median_ms(fn: Callable[[], Any], warmup: int = 10, iterations: int = 100) -> float:
    """Median milliseconds of ``fn()`` over ``iterations`` runs after ``warmup`` untimed ones."""
    if iterations < 1:
        raise ValueError(f"median_ms needs at least one timed iteration, got {iterations}")
    for _ in range(max(warmup, 0)):
        fn()
    times = np.empty(iterations)
    for k in range(iterations):
        start = time.perf_counter()
        fn()
        times[k] = (time.perf_counter() - start) * 1000.0
    return float(np.median(times))
