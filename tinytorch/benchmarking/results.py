"""Measurements with their uncertainty (book Module 19): ``BenchmarkResult`` and
``precise_timer``.

One timing means little: the machine is noisy. A benchmark therefore repeats a measurement
and reports the sample mean with its spread, and a 95% confidence interval for the mean,
``mean +- 1.96 * std / sqrt(n)`` (``std`` is the *sample* standard deviation, n - 1 in the
denominator; 1.96 is the normal approximation the book uses even for small n). Two results
whose intervals do not overlap differ for real; overlapping ones may be noise (the book's
test of significance).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CONFIDENCE_Z = 1.96  # the book's t_score: a 95% interval, normal approximation


@dataclass
class BenchmarkResult:
    """``BenchmarkResult("latency", [0.011, 0.012, ...])``: the values and their statistics.

    Computed on construction: ``mean``, ``std`` (sample; 0.0 for one value), ``median``,
    ``min_val``, ``max_val``, ``count``, ``ci_lower``/``ci_upper`` (equal to the mean for one
    value). An empty list is the book's ``ValueError``.
    """

    metric_name: str
    values: list[float]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("BenchmarkResult requires at least one measurement.")
        self.values = [float(v) for v in self.values]
        self.mean = statistics.mean(self.values)
        self.std = statistics.stdev(self.values) if len(self.values) > 1 else 0.0
        self.median = statistics.median(self.values)
        self.min_val = min(self.values)
        self.max_val = max(self.values)
        self.count = len(self.values)
        if self.count > 1:
            margin_error = CONFIDENCE_Z * (self.std / np.sqrt(self.count))
            self.ci_lower = self.mean - margin_error
            self.ci_upper = self.mean + margin_error
        else:
            self.ci_lower = self.ci_upper = self.mean

    @property
    def coefficient_of_variation(self) -> float:
        """``std / mean``: 0.05 is a stable measurement, 0.30 a noisy one (inf for mean 0)."""
        return self.std / abs(self.mean) if self.mean else float("inf")

    def overlaps(self, other: BenchmarkResult) -> bool:
        """Whether the two 95% intervals overlap (then the difference may be noise)."""
        return self.ci_lower <= other.ci_upper and other.ci_lower <= self.ci_upper

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready values (tuples in the metadata become lists)."""
        return {
            "metric_name": self.metric_name,
            "values": list(self.values),
            "mean": self.mean,
            "std": self.std,
            "median": self.median,
            "min": self.min_val,
            "max": self.max_val,
            "count": self.count,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "metadata": {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.metadata.items()
            },
        }

    def __str__(self) -> str:
        return f"{self.metric_name}: {self.mean:.6g} ± {self.std:.6g} (n={self.count})"


# The clock precise_timer reads. A module attribute, so a test can put a fake clock here
# without replacing ``time.perf_counter`` for the whole process (the runtime times its
# compilations with it too).
clock = time.perf_counter


class Timer:
    """What :func:`precise_timer` yields: ``elapsed`` seconds, set when the block ends."""

    def __init__(self) -> None:
        self.start = 0.0
        self.elapsed = 0.0


@contextmanager
def precise_timer() -> Iterator[Timer]:
    """``with precise_timer() as timer: ...`` then ``timer.elapsed`` (seconds).

    ``time.perf_counter()``: monotonic, the finest clock Python has. The time is recorded
    even if the block raises.
    """
    timer = Timer()
    timer.start = clock()
    try:
        yield timer
    finally:
        timer.elapsed = clock() - timer.start
