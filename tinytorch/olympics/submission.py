"""Torch Olympics submissions (book Module 20): one JSON file that says what was measured,
on what, and what the optimizations bought.

    submission = generate_submission(baseline_report, optimized_report,
                                     techniques_applied=["structured_pruning"])
    save_submission(submission, "results.json")     # validated, written atomically
    submission["improvements"]["speedup"]            # baseline latency / optimized latency

The schema, version :data:`SCHEMA_VERSION` (``schema_version`` in every file)::

    schema_version       int, must be 1
    timestamp            ISO 8601 string (when the submission was made)
    submitter            optional string
    baseline             report: model_name (str), metrics (the six keys of
                         BenchmarkReport), system_info (dict with platform, python_version,
                         numpy_version), timestamp (ISO 8601)
    optimized            optional report, same shape
    improvements         speedup = baseline latency / optimized latency,
                         compression_ratio = baseline size / optimized size,
                         accuracy_delta = optimized accuracy - baseline accuracy
                         (1.0, 1.0, 0.0 without an optimized report: the baseline against
                         itself)
    techniques_applied   list of strings

Unknown extra keys are allowed (old readers keep working when optional fields are added);
a new *required* field bumps the version. :func:`validate_submission_schema` collects every
problem before it reports, so one run tells a submitter everything to fix.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinytorch.benchmarking.files import write_text_atomic
from tinytorch.olympics.report import METRIC_KEYS, BenchmarkReport

SCHEMA_VERSION = 1
SYSTEM_KEYS = ("platform", "python_version", "numpy_version")
RELATIVE_TOLERANCE = 1e-3  # derived numbers must agree with the reports this closely


class SubmissionError(ValueError, AssertionError):
    """An invalid submission; ``problems`` lists every one found.

    A ``ValueError`` (bad data), and also an ``AssertionError``: the book's
    ``validate_submission_schema`` checks with Python assertions (``assert 0 <=
    metrics['accuracy'] <= 1, "Accuracy must be in [0, 1]"``), so code written for it
    catches ``AssertionError``; both ``except`` clauses work here."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"invalid submission ({count}):\n  - " + "\n  - ".join(problems))


def generate_submission(
    baseline_report: BenchmarkReport,
    optimized_report: BenchmarkReport | None = None,
    techniques_applied: list[str] | None = None,
    submitter: str | None = None,
) -> dict[str, Any]:
    """The submission dict for a benchmarked baseline (and optionally its optimized
    version). Each report must have been measured (``benchmark_model``)."""
    baseline = baseline_report.to_dict()
    submission: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "baseline": baseline,
    }
    if submitter is not None:
        submission["submitter"] = str(submitter)
    if optimized_report is not None:
        optimized = optimized_report.to_dict()
        submission["optimized"] = optimized
        submission["improvements"] = improvements(baseline["metrics"], optimized["metrics"])
    else:
        submission["improvements"] = improvements(baseline["metrics"], baseline["metrics"])
    submission["techniques_applied"] = [str(t) for t in (techniques_applied or [])]
    return submission


def improvements(baseline: dict[str, Any], optimized: dict[str, Any]) -> dict[str, float]:
    """speedup, compression_ratio and accuracy_delta of ``optimized`` over ``baseline``."""
    return {
        "speedup": float(baseline["latency_ms_mean"] / optimized["latency_ms_mean"]),
        "compression_ratio": float(baseline["model_size_mb"] / optimized["model_size_mb"]),
        "accuracy_delta": float(optimized["accuracy"] - baseline["accuracy"]),
    }


def save_submission(
    submission: dict[str, Any], filepath: str | os.PathLike = "submission.json"
) -> str:
    """Validate, then write ``submission`` as indented JSON (atomically); returns the path."""
    validate_submission_schema(submission)
    text = json.dumps(submission, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return str(write_text_atomic(filepath, text))


def load_submission(filepath: str | os.PathLike) -> dict[str, Any]:
    """Read a submission file (not validated: see :func:`validate_submission_schema`)."""
    path = Path(filepath)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SubmissionError([f"{path.name}: not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise SubmissionError(
            [f"{path.name}: a submission is a JSON object, got {type(data).__name__}"]
        )
    return data


def validate_submission_schema(submission: Any) -> bool:
    """True for a valid submission; otherwise a :class:`SubmissionError` listing every
    problem (missing keys, wrong types, NaN, accuracy 92 instead of 0.92, improvements that
    do not follow from the reports...)."""
    problems = submission_problems(submission)
    if problems:
        raise SubmissionError(problems)
    return True


# ------------------------------------------------------------------ checking
def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number(problems: list[str], where: str, value: Any, low: float | None = None,
            high: float | None = None, low_open: bool = False) -> bool:  # fmt: skip
    """Check one number: real, finite, within [low, high] (or (low, ...) if ``low_open``)."""
    if not _is_number(value):
        problems.append(f"{where}: expected a number, got {value!r} ({type(value).__name__})")
        return False
    if not math.isfinite(value):
        problems.append(f"{where}: must be finite, got {value}")
        return False
    if low is not None and (value <= low if low_open else value < low):
        problems.append(f"{where}: must be {'>' if low_open else '>='} {low:g}, got {value}")
        return False
    if high is not None and value > high:
        problems.append(f"{where}: must be <= {high:g}, got {value}")
        return False
    return True


def _iso(problems: list[str], where: str, value: Any) -> None:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        problems.append(f"{where}: expected an ISO 8601 timestamp string, got {value!r}")


def _metrics_problems(problems: list[str], where: str, metrics: Any) -> bool:
    if not isinstance(metrics, dict):
        problems.append(f"{where}: expected an object with {', '.join(METRIC_KEYS)}")
        return False
    missing = [k for k in METRIC_KEYS if k not in metrics]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
    ok = not missing
    if "parameter_count" in metrics:
        count = metrics["parameter_count"]
        if not isinstance(count, numbers.Integral) or isinstance(count, bool) or count < 0:
            problems.append(f"{where}.parameter_count: expected an integer >= 0, got {count!r}")
            ok = False
    if "accuracy" in metrics:
        acc = metrics["accuracy"]
        if _is_number(acc) and math.isfinite(acc) and 1 < acc <= 100:
            problems.append(
                f"{where}.accuracy: {acc} is not in [0, 1]: accuracy is a fraction "
                f"(write {acc / 100:g}, not {acc})"
            )
            ok = False
        else:
            ok &= _number(problems, f"{where}.accuracy", acc, 0.0, 1.0)
    rules = {
        "model_size_mb": (0.0, True),
        "latency_ms_mean": (0.0, True),
        "latency_ms_std": (0.0, False),
        "throughput_samples_per_sec": (0.0, True),
    }
    for key, (low, low_open) in rules.items():
        if key in metrics:
            ok &= _number(problems, f"{where}.{key}", metrics[key], low, low_open=low_open)
    if ok:
        expected = 1000.0 / metrics["latency_ms_mean"]
        if not math.isclose(
            metrics["throughput_samples_per_sec"], expected, rel_tol=RELATIVE_TOLERANCE
        ):
            problems.append(
                f"{where}.throughput_samples_per_sec: {metrics['throughput_samples_per_sec']} "
                f"is not 1000 / latency_ms_mean = {expected:.6g}"
            )
            ok = False
    return ok


def _report_problems(problems: list[str], where: str, report: Any) -> bool:
    """Check a report; True when its metrics can be used for further checks."""
    if not isinstance(report, dict):
        problems.append(
            f"{where}: expected an object (a benchmark report), got {type(report).__name__}"
        )
        return False
    for key in ("model_name", "metrics", "system_info", "timestamp"):
        if key not in report:
            problems.append(f"{where}: missing {key}")
    name = report.get("model_name")
    if "model_name" in report and (not isinstance(name, str) or not name):
        problems.append(f"{where}.model_name: expected a non-empty string, got {name!r}")
    info = report.get("system_info")
    if "system_info" in report:
        if not isinstance(info, dict):
            problems.append(f"{where}.system_info: expected an object, got {type(info).__name__}")
        else:
            absent = [k for k in SYSTEM_KEYS if not isinstance(info.get(k), str)]
            if absent:
                problems.append(
                    f"{where}.system_info: missing or not a string: {', '.join(absent)}"
                )
    if "timestamp" in report:
        _iso(problems, f"{where}.timestamp", report["timestamp"])
    return "metrics" in report and _metrics_problems(
        problems, f"{where}.metrics", report["metrics"]
    )


def submission_problems(submission: Any) -> list[str]:
    """Every problem of ``submission`` as a readable line (empty when it is valid)."""
    if not isinstance(submission, dict):
        return [f"a submission is an object (dict), got {type(submission).__name__}"]
    problems: list[str] = []
    required = ("schema_version", "timestamp", "baseline", "improvements", "techniques_applied")
    missing = [k for k in required if k not in submission]
    if missing:
        problems.append(f"missing required keys: {', '.join(missing)}")
    version = submission.get("schema_version")
    if "schema_version" in submission and version != SCHEMA_VERSION:
        problems.append(
            f"schema_version: {version!r} is not supported (this tinytorch reads {SCHEMA_VERSION})"
        )
    if "timestamp" in submission:
        _iso(problems, "timestamp", submission["timestamp"])
    if "submitter" in submission and not isinstance(submission["submitter"], str):
        problems.append(f"submitter: expected a string, got {submission['submitter']!r}")
    base_ok = "baseline" in submission and _report_problems(
        problems, "baseline", submission["baseline"]
    )
    has_opt = "optimized" in submission
    opt_ok = has_opt and _report_problems(problems, "optimized", submission["optimized"])

    imp = submission.get("improvements")
    if "improvements" in submission:
        if not isinstance(imp, dict):
            problems.append(f"improvements: expected an object, got {type(imp).__name__}")
        else:
            absent = [k for k in ("speedup", "compression_ratio", "accuracy_delta") if k not in imp]
            if absent:
                problems.append(f"improvements: missing {', '.join(absent)}")
            good = not absent
            for key in ("speedup", "compression_ratio"):
                if key in imp:
                    good &= _number(problems, f"improvements.{key}", imp[key], 0.0, low_open=True)
            if "accuracy_delta" in imp:
                good &= _number(
                    problems, "improvements.accuracy_delta", imp["accuracy_delta"], -1.0, 1.0
                )
            if good and base_ok and (opt_ok or not has_opt):
                base = submission["baseline"]["metrics"]
                opt = submission["optimized"]["metrics"] if has_opt else base
                for key, value in improvements(base, opt).items():
                    if not math.isclose(imp[key], value, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-9):
                        problems.append(
                            f"improvements.{key}: {imp[key]} does not follow from the reports "
                            f"(expected {value:.6g})"
                        )
    techniques = submission.get("techniques_applied")
    if "techniques_applied" in submission and (
        not isinstance(techniques, list) or not all(isinstance(t, str) and t for t in techniques)
    ):
        problems.append(
            f"techniques_applied: expected a list of non-empty strings, got {techniques!r}"
        )
    return problems
