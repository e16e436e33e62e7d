"""``BenchmarkSuite`` (book Module 19): every metric for every model, the trade-offs between
them, and a report.

    suite = BenchmarkSuite([baseline, pruned, quantized], [(X_test, y_test)],
                           input_shape=(1, 64))
    suite.run_full_benchmark()           # {"latency": {...}, "accuracy": {...}, "memory": {...}}
    suite.plot_pareto_frontier()         # which models are worth keeping (latency vs accuracy)
    print(suite.generate_report())       # markdown, also saved in output_dir

Plots are PNG files when matplotlib is installed (an optional extra); without it the same
information is written as a text table, so nothing here needs it.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from tinytorch.benchmarking.benchmark import (
    DEFAULT_INPUT_SHAPE,
    DEFAULT_MEASUREMENT_RUNS,
    DEFAULT_WARMUP_RUNS,
    METRICS,
    Benchmark,
)
from tinytorch.benchmarking.files import write_text_atomic
from tinytorch.benchmarking.pareto import pareto_frontier
from tinytorch.benchmarking.results import BenchmarkResult

UNITS = {"latency": ("ms", 1000.0), "accuracy": ("%", 100.0), "memory": ("MB", 1.0)}


def pyplot() -> Any | None:
    """matplotlib's pyplot on the file-only Agg backend, or None when not installed."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def _shown(metric: str, value: float) -> str:
    unit, scale = UNITS[metric]
    return f"{value * scale:.3f} {unit}"


def results_table(results: dict[str, dict[str, BenchmarkResult]]) -> str:
    """A fixed-width text table: one row per model, ``mean ± std`` per metric."""
    metrics = [m for m in METRICS if m in results]
    models: list[str] = []
    for m in metrics:
        models += [name for name in results[m] if name not in models]
    header = ["model"] + [f"{m} ({UNITS[m][0]})" for m in metrics]
    rows = [header]
    for name in models:
        row = [name]
        for m in metrics:
            r = results[m].get(name)
            scale = UNITS[m][1]
            row.append(f"{r.mean * scale:.4g} ± {r.std * scale:.2g}" if r else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class BenchmarkSuite:
    """``BenchmarkSuite(models, datasets, output_dir="benchmark_results")``: runs the three
    benchmarks of :class:`Benchmark` and analyses them together. ``datasets`` may be empty
    (then there is no accuracy, and no frontier that needs it)."""

    def __init__(
        self,
        models: list[Any],
        datasets: list[Any],
        output_dir: str = "benchmark_results",
        warmup_runs: int = DEFAULT_WARMUP_RUNS,
        measurement_runs: int = DEFAULT_MEASUREMENT_RUNS,
        input_shape: tuple[int, ...] = DEFAULT_INPUT_SHAPE,
    ) -> None:
        self.benchmark = Benchmark(models, datasets, warmup_runs, measurement_runs)
        self.output_dir = Path(output_dir)
        self.input_shape = tuple(input_shape)
        self.results: dict[str, dict[str, BenchmarkResult]] = {}

    @property
    def names(self) -> list[str]:
        return self.benchmark.names

    def run_full_benchmark(self) -> dict[str, dict[str, BenchmarkResult]]:
        """``{"latency": {model: result}, "accuracy": ..., "memory": ...}`` (accuracy only
        when there are datasets)."""
        self.results = {"latency": self.benchmark.run_latency_benchmark(self.input_shape)}
        if self.benchmark.datasets:
            self.results["accuracy"] = self.benchmark.run_accuracy_benchmark()
        self.results["memory"] = self.benchmark.run_memory_benchmark(self.input_shape)
        return self.results

    def _ensure_results(self) -> dict[str, dict[str, BenchmarkResult]]:
        return self.results or self.run_full_benchmark()

    def _metric(self, metric: str) -> dict[str, BenchmarkResult]:
        results = self._ensure_results()
        if metric not in results:
            raise ValueError(
                f"BenchmarkSuite: no {metric!r} results; measured: {sorted(results)}"
                + (" (accuracy needs datasets)" if metric == "accuracy" else "")
            )
        return results[metric]

    # ----------------------------------------------------------------- pareto
    def pareto_frontier(self, x_metric: str = "latency", y_metric: str = "accuracy") -> list[str]:
        """The models on the frontier of the two metrics' means (strict dominance)."""
        xs, ys = self._metric(x_metric), self._metric(y_metric)
        points = {name: (xs[name].mean, ys[name].mean) for name in self.names}
        return pareto_frontier(points, (METRICS[x_metric], METRICS[y_metric]))

    def plot_pareto_frontier(
        self, x_metric: str = "latency", y_metric: str = "accuracy"
    ) -> dict[str, Any]:
        """Scatter the models on two metrics and mark the frontier; returns ``{"frontier":
        [names], "points": {name: (x, y)}, "path": file written}`` (PNG with matplotlib,
        else a text file listing the same points)."""
        frontier = self.pareto_frontier(x_metric, y_metric)
        xs, ys = self._metric(x_metric), self._metric(y_metric)
        points = {name: (xs[name].mean, ys[name].mean) for name in self.names}
        stem = self.output_dir / f"pareto_{x_metric}_{y_metric}"
        plt = pyplot()
        if plt is not None:
            path = stem.with_suffix(".png")
            path.parent.mkdir(parents=True, exist_ok=True)
            fig, ax = plt.subplots(figsize=(6, 4))
            sx, sy = UNITS[x_metric][1], UNITS[y_metric][1]
            for name, (x, y) in points.items():
                on = name in frontier
                ax.scatter([x * sx], [y * sy], c="tab:red" if on else "tab:gray")
                ax.annotate(name, (x * sx, y * sy), textcoords="offset points", xytext=(4, 4))
            line = sorted(points[n] for n in frontier)
            ax.plot([p[0] * sx for p in line], [p[1] * sy for p in line], "r--", alpha=0.5)
            ax.set_xlabel(f"{x_metric} ({UNITS[x_metric][0]})")
            ax.set_ylabel(f"{y_metric} ({UNITS[y_metric][0]})")
            ax.set_title("Pareto frontier (red: not dominated)")
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
            fig.savefig(tmp)
            plt.close(fig)
            os.replace(tmp, path)
        else:
            lines = [f"Pareto frontier of {x_metric} ({METRICS[x_metric]} is better) and "
                     f"{y_metric} ({METRICS[y_metric]} is better)", ""]  # fmt: skip
            for name, (x, y) in points.items():
                mark = "*" if name in frontier else " "
                lines.append(
                    f"{mark} {name:<24} {_shown(x_metric, x):>14} {_shown(y_metric, y):>12}"
                )
            lines += ["", "* = on the frontier (no other model is at least as good on both "
                      "and better on one)"]  # fmt: skip
            path = write_text_atomic(stem.with_suffix(".txt"), "\n".join(lines) + "\n")
        return {"frontier": frontier, "points": points, "path": str(path)}

    def generate_pareto_frontier(
        self, x_metric: str = "latency", y_metric: str = "accuracy"
    ) -> dict[str, Any]:
        """The name Module 19's capstone table uses for the All-Around event
        (``suite.generate_pareto_frontier()``); the API section calls it
        :meth:`plot_pareto_frontier`, which this is."""
        return self.plot_pareto_frontier(x_metric, y_metric)

    # ---------------------------------------------------------------- results
    def plot_results(self, save_plots: bool = True) -> list[str]:
        """One bar chart per metric (mean with its 95% interval) in ``output_dir/
        benchmark_results.png``; without matplotlib the text table in ``results.txt``.
        Returns the files written (none when ``save_plots`` is False: the table is printed)."""
        results = self._ensure_results()
        table = results_table(results)
        if not save_plots:
            print(table)
            return []
        plt = pyplot()
        if plt is None:
            return [str(write_text_atomic(self.output_dir / "results.txt", table + "\n"))]
        metrics = [m for m in METRICS if m in results]
        fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.5), squeeze=False)
        for ax, metric in zip(axes[0], metrics, strict=True):
            names = list(results[metric])
            scale = UNITS[metric][1]
            means = [results[metric][n].mean * scale for n in names]
            errs = [(results[metric][n].ci_upper - results[metric][n].mean) * scale for n in names]
            ax.bar(names, means, yerr=errs, capsize=4)
            ax.set_title(f"{metric} ({UNITS[metric][0]})")
            ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        path = self.output_dir / "benchmark_results.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
        fig.savefig(tmp)
        plt.close(fig)
        os.replace(tmp, path)
        return [str(path)]

    # ----------------------------------------------------------------- report
    def generate_report(self) -> str:
        """A markdown report: system, each metric's mean, std and 95% interval per model,
        each model against the first (the baseline), and the latency-accuracy frontier.
        Also written to ``output_dir/benchmark_report.md``."""
        results = self._ensure_results()
        info = self.benchmark.system_info
        lines = [
            "# Benchmark report",
            "",
            f"{info['platform']}, Python {info['python_version']}, {info['cpu_count']} CPUs; "
            f"{self.benchmark.warmup_runs} warm-up and {self.benchmark.measurement_runs} "
            f"measured runs, input shape {self.input_shape}.",
            "",
        ]
        baseline = self.names[0]
        for metric in (m for m in METRICS if m in results):
            unit, scale = UNITS[metric]
            lines += [
                f"## {metric} ({unit}, {METRICS[metric]} is better)",
                "",
                "| model | mean | std | 95% CI | vs baseline |",
                "|---|---:|---:|---|---:|",
            ]
            base = results[metric][baseline]
            for name, r in results[metric].items():
                ratio = r.mean / base.mean if base.mean else float("nan")
                note = "" if name == baseline or r.overlaps(base) else " (significant)"
                lines.append(
                    f"| {name} | {r.mean * scale:.4g} | {r.std * scale:.2g} | "
                    f"[{r.ci_lower * scale:.4g}, {r.ci_upper * scale:.4g}] | {ratio:.3g}x{note} |"
                )
            lines.append("")
        if "accuracy" in results:
            front = self.pareto_frontier("latency", "accuracy")
            lines += ["## Pareto frontier (latency vs accuracy)", "", ", ".join(front), ""]
        report = "\n".join(lines)
        write_text_atomic(self.output_dir / "benchmark_report.md", report)
        return report
