"""Torch Olympics (Module 20): the report's six metrics, submissions (built, saved
atomically, validated with every problem listed) and the four events' rankings."""

import copy
import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import Linear, Tensor
from tinytorch.olympics import (
    METRIC_KEYS,
    SCHEMA_VERSION,
    BenchmarkReport,
    SimpleMLP,
    SubmissionError,
    generate_submission,
    load_submission,
    rank_submissions,
    save_submission,
    score_submission,
    submission_problems,
    validate_submission_schema,
)
from tinytorch.olympics import report as report_module

BACKENDS = tinytorch.available_backends()


def identity_classifier() -> Linear:
    """Linear(3, 3) with W = I: predicts the largest input coordinate."""
    model = Linear(3, 3)
    model.weight.data = np.eye(3, dtype=np.float32)
    return model


X = np.array([[3, 0, 0], [0, 2, 0], [0, 0, 1], [1, 5, 0]], np.float32)
Y = np.array([0, 1, 2, 0])  # the last one is wrong: accuracy 0.75


# -------------------------------------------------------------------- report
@pytest.mark.parametrize("backend", BACKENDS)
def test_benchmark_model_fills_the_six_metrics(backend, monkeypatch):
    ticks = iter(np.arange(0, 100, 0.002))  # a fake clock: each timed call takes 2 ms
    monkeypatch.setattr("tinytorch.benchmarking.results.clock", lambda: next(ticks))
    with tinytorch.backend(backend):
        report = BenchmarkReport()
        metrics = report.benchmark_model(identity_classifier(), X, Y, num_runs=5)
    assert report.model_name == "model" and metrics is report.metrics
    assert tuple(metrics) == METRIC_KEYS
    assert metrics["parameter_count"] == 12  # 9 weights + 3 biases
    assert metrics["model_size_mb"] == pytest.approx(48 / 1e6)
    assert metrics["accuracy"] == 0.75
    assert metrics["latency_ms_mean"] == pytest.approx(2.0)
    assert metrics["latency_ms_std"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["throughput_samples_per_sec"] == pytest.approx(500.0)
    assert report.system_info["backend"] == backend
    assert {"platform", "python_version", "numpy_version"} <= set(report.system_info)
    assert datetime.fromisoformat(report.timestamp).tzinfo is not None


def test_latency_std_is_the_population_std_of_milliseconds(monkeypatch):
    durations = iter([0.001, 0.003, 0.001, 0.003])  # seconds per timed call
    state = {"t": 0.0, "start": True}

    def clock():
        if not state["start"]:
            state["t"] += next(durations)
        state["start"] = not state["start"]
        return state["t"]

    monkeypatch.setattr("tinytorch.benchmarking.results.clock", clock)
    metrics = BenchmarkReport().benchmark_model(identity_classifier(), X, Y, num_runs=4)
    assert metrics["latency_ms_mean"] == pytest.approx(2.0)
    assert metrics["latency_ms_std"] == pytest.approx(1.0)  # np.std, not the sample std


@pytest.mark.parametrize("backend", BACKENDS)
def test_simple_mlp_is_the_capstones_baseline_for_tinydigits(backend):
    from tinytorch.data.datasets import load_tinydigits
    from tinytorch.perf.compression import structured_prune
    from tinytorch.perf.quantization import QuantizedLinear, quantize_model

    _, _, X_test, y_test = load_tinydigits()  # (200, 8, 8) images, shipped
    np.random.seed(0)
    with tinytorch.backend(backend):
        model = SimpleMLP()
        assert [type(layer).__name__ for layer in model.layers] == [
            "Flatten", "Linear", "ReLU", "Linear"
        ]  # fmt: skip
        assert model(Tensor(X_test[:5])).shape == (5, 10)
        structured_prune(model, prune_ratio=0.5)  # the book's loop over model.layers
        assert np.sum(np.all(model.fc1.weight.data == 0, axis=0)) == 16  # of 32 channels
        quantize_model(model)
        assert isinstance(model.fc1, QuantizedLinear) and isinstance(model.fc2, QuantizedLinear)
        metrics = BenchmarkReport("simple_mlp").benchmark_model(model, X_test, y_test, num_runs=3)
    assert metrics["parameter_count"] == 64 * 32 + 32 + 32 * 10 + 10  # 2,410
    assert metrics["model_size_mb"] == pytest.approx(2410 / 1e6)  # one int8 byte each
    assert repr(SimpleMLP(784, 128, 10)) == (
        "SimpleMLP(input_size=784, hidden_size=128, output_size=10)"
    )
    with pytest.raises(ValueError, match="hidden_size"):
        SimpleMLP(hidden_size=0)


def test_report_bad_input():
    with pytest.raises(ValueError, match="num_runs must be an integer >= 1, got 0"):
        BenchmarkReport().benchmark_model(identity_classifier(), X, Y, num_runs=0)
    with pytest.raises(ValueError, match=r"X_test \(4 rows\) and y_test \(3 labels\)"):
        BenchmarkReport().benchmark_model(identity_classifier(), X, Y[:3])
    with pytest.raises(ValueError, match="'m' has no metrics: call benchmark_model first"):
        BenchmarkReport("m").to_dict()


# ---------------------------------------------------------------- submission
def measured(name: str, accuracy: float, latency: float, size: float, params: int = 1000):
    report = BenchmarkReport(name)
    report.metrics = {
        "parameter_count": params,
        "model_size_mb": size,
        "accuracy": accuracy,
        "latency_ms_mean": latency,
        "latency_ms_std": latency / 10,
        "throughput_samples_per_sec": 1000 / latency,
    }
    return report


def submission(acc=(0.95, 0.94), lat=(20.0, 5.0), size=(20.0, 5.0), **kw):
    base = measured("base", acc[0], lat[0], size[0])
    opt = measured("opt", acc[1], lat[1], size[1]) if acc[1] is not None else None
    return generate_submission(base, opt, **kw)


def test_generate_submission_has_the_books_fields_and_improvements():
    s = submission(techniques_applied=["quantization", "pruning"], submitter="ada")
    assert s["schema_version"] == SCHEMA_VERSION
    assert s["baseline"]["metrics"]["accuracy"] == 0.95
    assert s["improvements"] == {
        "speedup": 4.0,  # book Q4: 20 ms -> 5 ms
        "compression_ratio": 4.0,  # capstone Q1: 20 MB -> 5 MB
        "accuracy_delta": pytest.approx(-0.01),
    }
    assert s["techniques_applied"] == ["quantization", "pruning"] and s["submitter"] == "ada"
    assert validate_submission_schema(s) is True


def test_a_baseline_only_submission_improves_nothing():
    s = submission(acc=(0.9, None))
    assert "optimized" not in s and s["techniques_applied"] == []
    assert s["improvements"] == {"speedup": 1.0, "compression_ratio": 1.0, "accuracy_delta": 0.0}
    assert validate_submission_schema(s)


def test_save_submission_writes_valid_json_atomically(tmp_path):
    s = submission()
    path = save_submission(s, tmp_path / "sub" / "results.json")
    assert path == str(tmp_path / "sub" / "results.json")
    assert json.loads(Path(path).read_text()) == s == load_submission(path)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["results.json"]  # no temp left
    broken = copy.deepcopy(s)
    broken["baseline"]["metrics"]["accuracy"] = 92
    with pytest.raises(SubmissionError):
        save_submission(broken, tmp_path / "sub" / "results.json")
    assert json.loads(Path(path).read_text()) == s  # the old file is untouched


def test_default_path_is_submission_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert save_submission(submission()) == "submission.json"
    assert (tmp_path / "submission.json").exists()


def test_every_problem_is_reported_not_just_the_first():
    s = submission()
    s["baseline"]["metrics"]["accuracy"] = 92
    del s["optimized"]["metrics"]["latency_ms_std"]
    s["optimized"]["metrics"]["model_size_mb"] = float("nan")
    del s["techniques_applied"]
    s["schema_version"] = 2
    with pytest.raises(SubmissionError) as info:
        validate_submission_schema(s)
    problems = info.value.problems
    assert len(problems) == 5, problems
    text = str(info.value)
    assert text.startswith("invalid submission (5 problems):")
    assert "baseline.metrics.accuracy: 92 is not in [0, 1]" in text and "write 0.92, not 92" in text
    assert "optimized.metrics: missing latency_ms_std" in text
    assert "optimized.metrics.model_size_mb: must be finite, got nan" in text
    assert "missing required keys: techniques_applied" in text
    assert "schema_version: 2 is not supported (this tinytorch reads 1)" in text


def test_book_style_assertion_handling_catches_an_invalid_submission():
    """The book validates with Python assertions ("Accuracy must be in [0, 1]"): code that
    catches AssertionError, or ValueError, sees the problems."""
    s = submission()
    s["baseline"]["metrics"]["accuracy"] = 92
    try:
        validate_submission_schema(s)
    except AssertionError as err:
        assert "baseline.metrics.accuracy: 92 is not in [0, 1]" in str(err)
    else:
        pytest.fail("an accuracy of 92 was accepted")
    with pytest.raises(ValueError, match="not in \\[0, 1\\]"):
        validate_submission_schema(s)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda s: s["baseline"]["metrics"].update(accuracy="92%"), "expected a number, got '92%'"),
        (lambda s: s["baseline"]["metrics"].update(accuracy=-0.1), "accuracy: must be >= 0"),
        (lambda s: s["baseline"]["metrics"].update(parameter_count=True), "parameter_count"),
        (lambda s: s["baseline"]["metrics"].update(latency_ms_mean=0.0), "must be > 0, got 0.0"),
        (lambda s: s["baseline"]["metrics"].update(throughput_samples_per_sec=9.0),
         "is not 1000 / latency_ms_mean = 50"),
        (lambda s: s["improvements"].update(speedup=9.0), "speedup: 9.0 does not follow"),
        (lambda s: s["improvements"].update(accuracy_delta=math.inf), "must be finite"),
        (lambda s: s.update(timestamp="yesterday"), "timestamp: expected an ISO 8601"),
        (lambda s: s["baseline"]["system_info"].pop("numpy_version"), "numpy_version"),
        (lambda s: s.update(techniques_applied="pruning"), "techniques_applied: expected a list"),
        (lambda s: s.pop("baseline"), "missing required keys: baseline"),
    ],
)  # fmt: skip
def test_single_problems_are_named(edit, expected):
    s = submission()
    edit(s)
    problems = submission_problems(s)
    assert len(problems) == 1 and expected in problems[0], problems


def test_non_objects_and_extra_keys():
    assert submission_problems([1, 2]) == ["a submission is an object (dict), got list"]
    s = submission()
    s["notes"] = "optional fields are allowed"
    assert submission_problems(s) == []


# -------------------------------------------------------------------- events
def field() -> dict:
    return {
        "fast": submission(acc=(0.95, 0.94), lat=(20, 4), size=(20, 10)),  # 5x, 2x, -1 pt
        "small": submission(acc=(0.95, 0.935), lat=(20, 10), size=(20, 4)),  # 2x, 5x, -1.5
        "careless": submission(acc=(0.95, 0.80), lat=(20, 2), size=(20, 2)),  # 10x, 10x, -15
        "tied": submission(acc=(0.95, 0.95), lat=(20, 10), size=(20, 5)),  # 2x, 4x, 0
        "broken": {"schema_version": 1},
    }


def ranking(event: str) -> list[tuple]:
    return [(s.name, s.rank) for s in rank_submissions(field(), event)]


def test_latency_sprint_ranks_speedup_within_two_points_of_accuracy():
    assert ranking("latency") == [
        ("fast", 1), ("small", 2), ("tied", 2), ("broken", None), ("careless", None)
    ]  # fmt: skip
    score, reason = score_submission(field()["careless"], "latency")
    assert score is None and reason == "accuracy dropped 15.0 points (the limit is 2)"
    assert score_submission(field()["broken"], "latency")[1].startswith("invalid: missing")


def test_memory_challenge_ranks_compression():
    assert ranking("memory")[:3] == [("small", 1), ("tied", 2), ("fast", 3)]


def test_accuracy_contest_needs_4x_compression():
    standings = rank_submissions(field(), "accuracy")
    assert [(s.name, s.rank, s.score) for s in standings[:3]] == [
        ("tied", 1, 0.95), ("small", 2, 0.935), ("careless", 3, 0.80)
    ]  # fmt: skip
    fast = next(s for s in standings if s.name == "fast")
    assert fast.rank is None and fast.reason == "compression 2.00x is below the 4x budget"


def test_all_around_ranks_by_pareto_layer_then_geometric_mean():
    # (speedup, compression, accuracy): careless (10, 10, .80), fast (5, 2, .94),
    # small (2, 5, .935), tied (2, 4, .95): none beats another on all three, so all are
    # on the frontier, ordered by sqrt(speedup * compression) (fast and small tie).
    standings = rank_submissions(field(), "all-around")
    assert [(s.name, s.rank, s.detail) for s in standings[:4]] == [
        ("careless", 1, "frontier"), ("fast", 2, "frontier"), ("small", 2, "frontier"),
        ("tied", 4, "frontier"),
    ]  # fmt: skip
    assert standings[0].score == pytest.approx(10.0)
    subs = field()
    subs["dominated"] = submission(acc=(0.95, 0.93), lat=(20, 10), size=(20, 5))  # tied beats it
    standings = rank_submissions(subs, "all-around")
    assert (standings[4].name, standings[4].rank, standings[4].detail) == (
        "dominated",
        5,
        "layer 2",
    )


def test_unknown_event():
    with pytest.raises(ValueError, match="unknown Torch Olympics event 'speed'"):
        rank_submissions({}, "speed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_end_to_end_with_a_real_model(backend, tmp_path):
    np.random.seed(0)
    with tinytorch.backend(backend):
        base = BenchmarkReport("base")
        base.benchmark_model(identity_classifier(), X, Y, num_runs=3)
        opt = BenchmarkReport("opt")
        opt.benchmark_model(identity_classifier(), Tensor(X), Tensor(Y), num_runs=3)
    s = generate_submission(base, opt, techniques_applied=["none"])
    assert (
        load_submission(save_submission(s, tmp_path / "s.json"))["improvements"]["accuracy_delta"]
        == 0.0
    )
    assert tuple(s["optimized"]["metrics"]) == report_module.METRIC_KEYS


def test_a_quantized_model_is_measured_by_its_int8_bytes():
    """int8 weights are not trainable parameters, but they are what the model holds: the
    report counts them (1 byte each), so an int8 submission is 4x smaller, not size 0."""
    from tinytorch import Sequential
    from tinytorch.perf.quantization import quantize_model

    float_model = Sequential(identity_classifier())
    int8_model = quantize_model(copy.deepcopy(float_model), [Tensor(X)])
    base, opt = BenchmarkReport("fp32"), BenchmarkReport("int8")
    base.benchmark_model(float_model, X, Y, num_runs=2)
    opt.benchmark_model(int8_model, X, Y, num_runs=2)
    assert opt.metrics["parameter_count"] == base.metrics["parameter_count"] == 12
    assert opt.metrics["model_size_mb"] == pytest.approx(12 / 1e6)  # 9 + 3 int8 values
    s = generate_submission(base, opt, techniques_applied=["int8"])
    assert s["improvements"]["compression_ratio"] == pytest.approx(4.0)
    validate_submission_schema(s)


def test_the_books_import_paths():
    from tinytorch.benchmarking import Benchmark, BenchmarkResult  # noqa: F401
    from tinytorch.olympics import BenchmarkReport, generate_submission  # noqa: F401
    from tinytorch.perf.compression import (  # noqa: F401
        magnitude_prune,
        measure_sparsity,
        structured_prune,
    )
