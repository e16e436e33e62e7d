"""Benchmarking (book Module 19): measure models honestly and compare them.

    from tinytorch.benchmarking import Benchmark, BenchmarkResult

``BenchmarkResult`` holds repeated measurements with their statistics (sample std, 95%
interval), ``precise_timer`` times a block, ``Benchmark`` measures latency, accuracy and
memory of several models the same way, ``BenchmarkSuite`` runs them all, finds the Pareto
frontier and writes plots and a report. The Torch Olympics (:mod:`tinytorch.olympics`) are
built on these.
"""

from tinytorch.benchmarking.benchmark import (
    DEFAULT_MEASUREMENT_RUNS,
    DEFAULT_WARMUP_RUNS,
    Benchmark,
    parameter_bytes,
    parameter_count,
    run_model,
)
from tinytorch.benchmarking.pareto import dominates, pareto_frontier, pareto_layers
from tinytorch.benchmarking.results import BenchmarkResult, precise_timer
from tinytorch.benchmarking.suite import BenchmarkSuite

__all__ = [
    "DEFAULT_MEASUREMENT_RUNS",
    "DEFAULT_WARMUP_RUNS",
    "Benchmark",
    "BenchmarkResult",
    "BenchmarkSuite",
    "dominates",
    "pareto_frontier",
    "pareto_layers",
    "parameter_bytes",
    "parameter_count",
    "precise_timer",
    "run_model",
]
