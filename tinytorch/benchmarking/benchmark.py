"""``Benchmark`` (book Module 19): latency, accuracy and memory of several models, measured
the same way so that they can be compared.

    bench = Benchmark([baseline, pruned], datasets=[(X_test, y_test)])
    bench.run_latency_benchmark(input_shape=(1, 64))   # {name: BenchmarkResult} in seconds
    bench.compare_models("latency")                   # best first, with ratios to the first

A model is anything with ``forward``, ``predict`` or ``__call__`` (tried in that order), named
by its ``name`` attribute or ``model_<i>``. tinytorch is lazy, so calling a model only builds
a graph: every timed call here also *reads* the output (``.data``), which runs the compiled
plan. Timing without that would measure graph building alone. Inference runs under
``no_grad()`` (no backward graph is recorded), after ``warmup_runs`` untimed calls (the first
call compiles; later calls reuse the cached plan).
"""

from __future__ import annotations

import numbers
import os
import platform
import tracemalloc
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.benchmarking.results import BenchmarkResult, precise_timer
from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.perf.quantization import model_bytes

DEFAULT_WARMUP_RUNS = 5
DEFAULT_MEASUREMENT_RUNS = 10
DEFAULT_INPUT_SHAPE = (1, 28, 28)
METRICS = {"latency": "lower", "accuracy": "higher", "memory": "lower"}
BYTES_PER_MB = 1_000_000  # decimal megabytes, as the book's 5M params x 4 B = 20 MB


def run_model(model: Any, x: Any) -> np.ndarray:
    """Inference on ``x`` as the benchmarks time it: call, then realize the output."""
    with no_grad():
        if hasattr(model, "forward"):
            out = model.forward(x)
        elif hasattr(model, "predict"):
            out = model.predict(x)
        elif callable(model):
            out = model(x)
        else:
            raise TypeError(
                f"cannot run a {type(model).__name__}: a model needs forward, predict or __call__"
            )
        return out.data if isinstance(out, Tensor) else np.asarray(out)


def _float_parameters(model: Any) -> list[Any]:
    return list(model.parameters()) if callable(getattr(model, "parameters", None)) else []


def parameter_bytes(model: Any) -> int:
    """Bytes held by the model's weights at their real dtypes: its parameters, and the int8
    values of its quantized layers (1 byte each), which are not trainable parameters."""
    return int(model_bytes(model))


def parameter_count(model: Any) -> int:
    """Values the model holds: its parameters' elements plus its int8 layers' values."""
    params = _float_parameters(model)
    int8_values = model_bytes(model) - sum(np.asarray(p.data).nbytes for p in params)
    return int(sum(np.asarray(p.data).size for p in params) + int8_values)


def model_names(models: list[Any]) -> list[str]:
    """``model.name`` or ``model_<i>``; a repeated name gets ``_<i>`` so no result is lost."""
    names: list[str] = []
    for i, model in enumerate(models):
        name = str(getattr(model, "name", f"model_{i}"))
        names.append(f"{name}_{i}" if name in names else name)
    return names


def _batches(dataset: Any) -> Iterable[tuple[Any, Any]]:
    """A dataset is an ``(X, y)`` pair or an iterable of ``(x, y)`` batches (a DataLoader)."""
    if isinstance(dataset, tuple) and len(dataset) == 2:
        return [dataset]
    return dataset


def _count(value: Any, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"Benchmark: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def accuracy_of(model: Any, dataset: Any) -> tuple[float, int]:
    """(fraction correct, samples): argmax of the outputs against integer labels (one output
    column: > 0.5 is class 1)."""
    correct = total = 0
    for x, y in _batches(dataset):
        out = run_model(model, x if isinstance(x, Tensor) else Tensor(np.asarray(x)))
        labels = np.asarray(y.data if isinstance(y, Tensor) else y).reshape(-1)
        if out.ndim > 1 and out.shape[-1] > 1:
            predicted = out.argmax(axis=-1).reshape(-1)
        else:
            predicted = (out.reshape(-1) > 0.5).astype(np.int64)
        correct += int(np.sum(predicted == labels))
        total += labels.size
    if total == 0:
        raise ValueError("Benchmark.run_accuracy_benchmark: a dataset has no samples")
    return correct / total, total


class Benchmark:
    """``Benchmark(models, datasets=None, warmup_runs=5, measurement_runs=10)``.

    ``datasets`` (for accuracy only) is a list of ``(X, y)`` pairs or DataLoaders. Results
    of the last run of each kind are kept in ``results[metric]`` for ``compare_models``.
    """

    def __init__(
        self,
        models: list[Any],
        datasets: list[Any] | None = None,
        warmup_runs: int = DEFAULT_WARMUP_RUNS,
        measurement_runs: int = DEFAULT_MEASUREMENT_RUNS,
    ) -> None:
        if not isinstance(models, (list, tuple)) or not models:
            raise ValueError(f"Benchmark: models must be a non-empty list, got {models!r}")
        self.models = list(models)
        self.names = model_names(self.models)
        self.datasets = list(datasets or [])
        self.warmup_runs = _count(warmup_runs, "warmup_runs", 0)
        self.measurement_runs = _count(measurement_runs, "measurement_runs", 1)
        self.system_info = {
            "platform": platform.platform(),
            "python_version": platform.python_version(),
            "cpu_count": os.cpu_count() or 1,
        }
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    def _input(self, input_shape: tuple[int, ...]) -> Tensor:
        return Tensor(np.random.randn(*input_shape).astype(np.float32))

    # --------------------------------------------------------------- latency
    def run_latency_benchmark(
        self, input_shape: tuple[int, ...] = DEFAULT_INPUT_SHAPE
    ) -> dict[str, BenchmarkResult]:
        """Seconds per inference of one input of ``input_shape`` (output realized)."""
        results = {}
        for name, model in zip(self.names, self.models, strict=True):
            x = self._input(input_shape)
            for _ in range(self.warmup_runs):
                run_model(model, x)
            latencies = []
            for _ in range(self.measurement_runs):
                with precise_timer() as timer:
                    run_model(model, x)
                latencies.append(timer.elapsed)
            results[name] = BenchmarkResult(
                metric_name=f"{name}_latency",
                values=latencies,
                metadata={"input_shape": tuple(input_shape), "unit": "s", **self.system_info},
            )
        self.results["latency"] = results
        return results

    # -------------------------------------------------------------- accuracy
    def run_accuracy_benchmark(self) -> dict[str, BenchmarkResult]:
        """Fraction correct (0-1) on each dataset: one value per dataset."""
        if not self.datasets:
            raise ValueError(
                "Benchmark.run_accuracy_benchmark needs datasets: "
                "Benchmark(models, datasets=[(X_test, y_test)])"
            )
        results = {}
        for name, model in zip(self.names, self.models, strict=True):
            scores, sizes = zip(*(accuracy_of(model, d) for d in self.datasets), strict=True)
            results[name] = BenchmarkResult(
                metric_name=f"{name}_accuracy",
                values=list(scores),
                metadata={"samples": list(sizes), "unit": "fraction", **self.system_info},
            )
        self.results["accuracy"] = results
        return results

    # ---------------------------------------------------------------- memory
    def run_memory_benchmark(
        self, input_shape: tuple[int, ...] = DEFAULT_INPUT_SHAPE
    ) -> dict[str, BenchmarkResult]:
        """Megabytes of the inference footprint: the parameters plus the peak of what one
        inference allocates (activations, temporaries), traced with ``tracemalloc``
        (NumPy reports its buffers to it). One value per measurement run."""
        results = {}
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            for name, model in zip(self.names, self.models, strict=True):
                x = self._input(input_shape)
                for _ in range(max(1, self.warmup_runs)):  # compile outside the measurement
                    run_model(model, x)
                params_mb = parameter_bytes(model) / BYTES_PER_MB
                peaks = []
                for _ in range(self.measurement_runs):
                    tracemalloc.reset_peak()
                    before = tracemalloc.get_traced_memory()[0]
                    run_model(model, x)
                    peaks.append((tracemalloc.get_traced_memory()[1] - before) / BYTES_PER_MB)
                results[name] = BenchmarkResult(
                    metric_name=f"{name}_memory",
                    values=[params_mb + p for p in peaks],
                    metadata={
                        "input_shape": tuple(input_shape),
                        "unit": "MB",
                        "parameter_mb": params_mb,
                        "peak_inference_mb": max(peaks),
                        **self.system_info,
                    },
                )
        finally:
            if started:
                tracemalloc.stop()
        self.results["memory"] = results
        return results

    # --------------------------------------------------------------- compare
    def compare_models(self, metric: str = "latency") -> list[dict[str, Any]]:
        """The models ranked on ``metric`` (latency, accuracy or memory), best first.

        Each row: ``rank``, ``model``, ``mean``, ``std``, ``ci_lower``, ``ci_upper``,
        ``count``, ``vs_baseline`` (mean / the first model's mean) and ``significant``
        (its 95% interval does not overlap the first model's). Uses the last run of that
        benchmark, running it (with its defaults) if there is none.
        """
        if metric not in METRICS:
            raise ValueError(
                f"Benchmark.compare_models: unknown metric {metric!r}; use one of {sorted(METRICS)}"
            )
        if metric not in self.results:
            {
                "latency": self.run_latency_benchmark,
                "accuracy": self.run_accuracy_benchmark,
                "memory": self.run_memory_benchmark,
            }[metric]()
        results = self.results[metric]
        baseline = results[self.names[0]]
        rows = [
            {
                "model": name,
                "metric": metric,
                "mean": r.mean,
                "std": r.std,
                "ci_lower": r.ci_lower,
                "ci_upper": r.ci_upper,
                "count": r.count,
                "vs_baseline": r.mean / baseline.mean if baseline.mean else float("nan"),
                "significant": name != self.names[0] and not r.overlaps(baseline),
            }
            for name, r in results.items()
        ]
        rows.sort(key=lambda row: -row["mean"] if METRICS[metric] == "higher" else row["mean"])
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        return rows
