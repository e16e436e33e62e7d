"""Benchmarking (Module 19): the statistics the book states, what each benchmark measures,
the Pareto frontier by strict dominance, and the files the suite writes. No test here
asserts a speed: timings are checked for their structure, or a fake clock is used."""

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import DataLoader, Linear, Tensor, TensorDataset
from tinytorch.benchmarking import (
    Benchmark,
    BenchmarkResult,
    BenchmarkSuite,
    dominates,
    pareto_frontier,
    pareto_layers,
    precise_timer,
    run_model,
)
from tinytorch.benchmarking import results as results_module
from tinytorch.benchmarking.suite import pyplot

BACKENDS = tinytorch.available_backends()


def with_mean_and_std(mean: float, std: float, n: int) -> list[float]:
    """n values with exactly this mean and sample standard deviation."""
    z = np.linspace(-1, 1, n)
    z = (z - z.mean()) / z.std(ddof=1)
    return list(mean + std * z)


# ------------------------------------------------------------ BenchmarkResult
def test_result_statistics_use_the_sample_std_and_a_1_96_interval():
    r = BenchmarkResult("latency", [10.0, 12.0, 14.0], {"unit": "ms"})
    assert (r.mean, r.median, r.min_val, r.max_val, r.count) == (12.0, 12.0, 10.0, 14.0, 3)
    assert r.std == 2.0  # sample std (n - 1); the population std would be 1.633
    margin = 1.96 * 2.0 / math.sqrt(3)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((12 - margin, 12 + margin))
    assert r.coefficient_of_variation == pytest.approx(2 / 12)
    assert str(r) == "latency: 12 ± 2 (n=3)"


def test_empty_values_is_the_books_error_and_one_value_has_no_spread():
    with pytest.raises(ValueError, match=r"^BenchmarkResult requires at least one measurement\.$"):
        BenchmarkResult("latency", [])
    r = BenchmarkResult("latency", [0.5])
    assert r.std == 0.0 and r.ci_lower == r.ci_upper == r.mean == 0.5


def test_book_q1_intervals_overlap_so_the_difference_is_not_significant():
    baseline = BenchmarkResult("baseline", with_mean_and_std(12.5, 1.2, 10))
    optimized = BenchmarkResult("optimized", with_mean_and_std(11.8, 1.5, 10))
    assert (round(baseline.ci_lower, 2), round(baseline.ci_upper, 2)) == (11.76, 13.24)
    assert (round(optimized.ci_lower, 2), round(optimized.ci_upper, 2)) == (10.87, 12.73)
    assert baseline.overlaps(optimized) and optimized.overlaps(baseline)
    far = BenchmarkResult("fast", with_mean_and_std(4.1, 0.3, 10))
    assert not baseline.overlaps(far)


def test_to_dict_is_json_ready():
    r = BenchmarkResult("m_latency", [1.0, 2.0], {"input_shape": (1, 4)})
    d = json.loads(json.dumps(r.to_dict()))
    assert d["mean"] == 1.5 and d["std"] == pytest.approx(statistics.stdev([1.0, 2.0]))
    assert d["metadata"]["input_shape"] == [1, 4] and d["count"] == 2


def test_precise_timer_measures_perf_counter_even_when_the_block_raises(monkeypatch):
    ticks = iter([1.0, 3.5, 10.0, 10.25])
    monkeypatch.setattr(results_module, "clock", lambda: next(ticks))
    with precise_timer() as timer:
        pass
    assert timer.elapsed == 2.5
    with pytest.raises(RuntimeError), precise_timer() as timer:
        raise RuntimeError
    assert timer.elapsed == 0.25


# ----------------------------------------------------------------- Benchmark
class Counting:
    """A model that counts its calls and returns fixed scores."""

    def __init__(self, name=None):
        if name:
            self.name = name
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return Tensor(np.zeros((x.shape[0], 3), np.float32))


def test_latency_benchmark_warms_up_then_measures_in_seconds():
    a, b = Counting("baseline"), Counting()
    bench = Benchmark([a, b], warmup_runs=2, measurement_runs=4)
    results = bench.run_latency_benchmark(input_shape=(1, 8))
    assert list(results) == ["baseline", "model_1"]
    assert a.calls == b.calls == 6
    r = results["baseline"]
    assert r.metric_name == "baseline_latency" and r.count == 4
    assert all(0 < v < 60 for v in r.values)  # seconds, not ms
    assert r.metadata["input_shape"] == (1, 8) and "platform" in r.metadata
    assert set(bench.system_info) == {"platform", "python_version", "cpu_count"}


def test_defaults_and_bad_arguments():
    bench = Benchmark([Counting()])
    assert (bench.warmup_runs, bench.measurement_runs, bench.datasets) == (5, 10, [])
    assert Benchmark([Counting("m"), Counting("m")]).names == ["m", "m_1"]
    with pytest.raises(ValueError, match="models must be a non-empty list"):
        Benchmark([])
    with pytest.raises(ValueError, match="measurement_runs must be an integer >= 1, got 0"):
        Benchmark([Counting()], measurement_runs=0)
    with pytest.raises(ValueError, match="needs datasets"):
        bench.run_accuracy_benchmark()
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        bench.compare_models("speed")
    with pytest.raises(TypeError, match="forward, predict or __call__"):
        run_model(object(), Tensor(np.ones(2)))


def test_models_may_predict_or_be_plain_functions():
    class Predictor:
        def predict(self, x):
            return x.data * 2

    assert run_model(Predictor(), Tensor(np.ones(2, np.float32))).tolist() == [2, 2]
    assert run_model(lambda x: x * 3, Tensor(np.ones(2, np.float32))).tolist() == [3, 3]


@pytest.mark.parametrize("backend", BACKENDS)
def test_accuracy_benchmark_counts_argmax_hits_on_each_dataset(backend):
    model = Linear(2, 2)
    model.weight.data = np.eye(2, dtype=np.float32)  # predicts the larger coordinate
    x = np.array([[1, 0], [0, 1], [2, 1], [1, 3]], np.float32)
    first = (x, np.array([0, 1, 1, 1]))  # 3 of 4 right
    second = DataLoader(TensorDataset(Tensor(x), Tensor(np.array([1, 1, 1, 1]))), batch_size=3)
    with tinytorch.backend(backend):
        result = Benchmark([model], [first, second]).run_accuracy_benchmark()["model_0"]
    assert result.values == [0.75, 0.5]
    assert result.metadata["samples"] == [4, 4]


def test_memory_benchmark_counts_parameters_plus_the_inference_peak():
    np.random.seed(0)
    model = Linear(100, 50)
    bench = Benchmark([model], warmup_runs=1, measurement_runs=3)
    result = bench.run_memory_benchmark(input_shape=(16, 100))["model_0"]
    params_mb = (100 * 50 + 50) * 4 / 1e6
    assert result.metadata["parameter_mb"] == pytest.approx(params_mb)
    assert result.count == 3
    # the output (16 x 50 float32) is allocated during inference, at least
    assert all(v >= params_mb + 16 * 50 * 4 / 1e6 for v in result.values)


def test_compare_models_ranks_best_first_with_ratios_and_significance():
    bench = Benchmark([Counting("baseline"), Counting("fast"), Counting("noisy")])
    bench.results["latency"] = {
        "baseline": BenchmarkResult("b", with_mean_and_std(12.5, 1.2, 10)),
        "fast": BenchmarkResult("f", with_mean_and_std(4.1, 0.3, 10)),
        "noisy": BenchmarkResult("n", with_mean_and_std(11.8, 1.5, 10)),
    }
    rows = bench.compare_models("latency")
    assert [r["model"] for r in rows] == ["fast", "noisy", "baseline"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["vs_baseline"] == pytest.approx(4.1 / 12.5)
    assert [r["significant"] for r in rows] == [True, False, False]
    bench.results["accuracy"] = {n: BenchmarkResult(n, [v]) for n, v in
                                 [("baseline", 0.9), ("fast", 0.85), ("noisy", 0.95)]}  # fmt: skip
    assert [r["model"] for r in bench.compare_models("accuracy")] == ["noisy", "baseline", "fast"]


# -------------------------------------------------------------------- Pareto
LAT_ACC = ("lower", "higher")


def test_book_q4_all_three_models_are_pareto_optimal():
    points = {"A": (5, 0.88), "B": (8, 0.92), "C": (6, 0.89)}
    assert pareto_frontier(points, LAT_ACC) == ["A", "B", "C"]


def test_book_example_one_under_strict_dominance_c_stays_on_the_frontier():
    points = {"A": (10, 0.90), "B": (15, 0.95), "C": (12, 0.91)}
    assert not dominates(points["A"], points["C"], LAT_ACC)  # C is more accurate
    assert pareto_frontier(points, LAT_ACC) == ["A", "B", "C"]
    points["D"] = (12, 0.89)  # slower and less accurate than A: dominated
    assert pareto_frontier(points, LAT_ACC) == ["A", "B", "C"]
    assert pareto_layers(points, LAT_ACC) == [["A", "B", "C"], ["D"]]


def test_equal_points_do_not_dominate_each_other():
    assert not dominates((1, 1), (1, 1), LAT_ACC)
    assert pareto_frontier({"x": (1, 1), "y": (1, 1)}, LAT_ACC) == ["x", "y"]
    assert dominates((1, 0.5), (2, 0.5), LAT_ACC)
    with pytest.raises(ValueError, match="one direction per metric"):
        dominates((1, 2), (1, 2), ("lower",))


# --------------------------------------------------------------------- suite
@pytest.mark.parametrize("backend", BACKENDS)
def test_full_benchmark_measures_every_metric_for_every_model(tmp_path, backend):
    np.random.seed(0)
    a, b = Linear(4, 3), Linear(4, 3)
    a.name, b.name = "a", "b"
    data = [(np.random.randn(10, 4).astype(np.float32), np.random.randint(0, 3, 10))]
    suite = BenchmarkSuite([a, b], data, output_dir=str(tmp_path / "out"), warmup_runs=1,
                           measurement_runs=3, input_shape=(2, 4))  # fmt: skip
    with tinytorch.backend(backend):
        results = suite.run_full_benchmark()
    assert set(results) == {"latency", "accuracy", "memory"}
    assert all(set(r) == {"a", "b"} for r in results.values())
    assert results["latency"]["a"].count == 3


def fixed_suite(tmp_path) -> BenchmarkSuite:
    models = [Counting("baseline"), Counting("pruned"), Counting("worse")]
    suite = BenchmarkSuite(models, [], output_dir=str(tmp_path / "out"))
    suite.results = {
        "latency": {
            n: BenchmarkResult(n, [v, v])
            for n, v in [("baseline", 0.010), ("pruned", 0.004), ("worse", 0.012)]
        },  # fmt: skip
        "accuracy": {
            n: BenchmarkResult(n, [v])
            for n, v in [("baseline", 0.95), ("pruned", 0.93), ("worse", 0.90)]
        },  # fmt: skip
        "memory": {
            n: BenchmarkResult(n, [v])
            for n, v in [("baseline", 2.0), ("pruned", 1.0), ("worse", 3.0)]
        },  # fmt: skip
    }
    return suite


def test_plot_pareto_frontier_writes_a_file_and_names_the_frontier(tmp_path):
    suite = fixed_suite(tmp_path)
    plot = suite.plot_pareto_frontier()
    assert plot["frontier"] == ["baseline", "pruned"]  # "worse" is slower and less accurate
    assert plot["points"]["pruned"] == (0.004, 0.93)
    path = tmp_path / "out" / ("pareto_latency_accuracy.png" if pyplot() else
                               "pareto_latency_accuracy.txt")  # fmt: skip
    assert plot["path"] == str(path) and path.exists()
    if path.suffix == ".txt":
        assert "* pruned" in path.read_text() and "  worse" in path.read_text()
    assert suite.pareto_frontier("memory", "accuracy") == ["baseline", "pruned"]


def test_all_around_events_generate_pareto_frontier_is_the_plot(tmp_path):
    """Module 19's capstone table: the All-Around event runs
    ``suite.generate_pareto_frontier()``, the API section's ``plot_pareto_frontier``."""
    suite = fixed_suite(tmp_path)
    frontier = suite.generate_pareto_frontier()
    assert frontier == suite.plot_pareto_frontier()
    assert frontier["frontier"] == ["baseline", "pruned"]
    assert suite.generate_pareto_frontier("memory", "accuracy")["frontier"] == [
        "baseline",
        "pruned",
    ]
    assert suite.generate_pareto_frontier("latency", "memory")["frontier"] == ["pruned"]


def test_plot_results_and_report(tmp_path, capsys):
    suite = fixed_suite(tmp_path)
    files = suite.plot_results()
    assert len(files) == 1 and (tmp_path / "out").joinpath(files[0]).exists()
    assert suite.plot_results(save_plots=False) == []
    table = capsys.readouterr().out
    assert "pruned" in table and "4 ± 0" in table  # latency in ms
    report = suite.generate_report()
    assert report == (tmp_path / "out" / "benchmark_report.md").read_text()
    assert "| pruned | 4 | 0 | [4, 4] | 0.4x (significant) |" in report
    assert "## Pareto frontier (latency vs accuracy)\n\nbaseline, pruned" in report


def test_a_suite_without_datasets_has_no_accuracy_frontier(tmp_path):
    suite = fixed_suite(tmp_path)
    del suite.results["accuracy"]
    with pytest.raises(ValueError, match="no 'accuracy' results.*needs datasets"):
        suite.plot_pareto_frontier()


class FakePyplot:
    """Just enough of matplotlib.pyplot to run the PNG code paths without matplotlib."""

    class Axes:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    class Figure:
        def savefig(self, path):
            with open(path, "wb") as f:
                f.write(b"\x89PNG fake")

        def tight_layout(self):
            pass

    def subplots(self, nrows=1, ncols=1, **kwargs):
        axes = [[self.Axes() for _ in range(ncols)] for _ in range(nrows)]
        return self.Figure(), (axes if kwargs.get("squeeze") is False else self.Axes())

    def close(self, fig):
        pass


def test_with_matplotlib_the_plots_are_png_files(tmp_path, monkeypatch):
    monkeypatch.setattr("tinytorch.benchmarking.suite.pyplot", lambda: FakePyplot())
    suite = fixed_suite(tmp_path)
    plot = suite.plot_pareto_frontier()
    assert plot["path"].endswith("pareto_latency_accuracy.png")
    assert Path(plot["path"]).read_bytes().startswith(b"\x89PNG")
    assert suite.plot_results() == [str(tmp_path / "out" / "benchmark_results.png")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "benchmark_results.png", "pareto_latency_accuracy.png"
    ]  # fmt: skip
