"""The four Torch Olympics events and how submissions are ranked in each.

The book names the events (Module 19's table) but gives no scoring formula; these are ours.
Every score is a *ratio measured on the submitter's own machine in one run* (optimized
against its own baseline), except accuracy, which is a property of the model: so
submissions made on different computers can be compared fairly. A submission's "final"
model is its optimized one, or its baseline when it has none.

| event            | score (higher wins)          | constraint to be ranked          |
|------------------|------------------------------|----------------------------------|
| Latency Sprint   | speedup                      | accuracy_delta >= -0.02          |
| Memory Challenge | compression_ratio            | accuracy_delta >= -0.02          |
| Accuracy Contest | the final model's accuracy   | compression_ratio >= 4           |
| All-Around       | Pareto layer on (speedup,    | none: trade-offs are the point   |
|                  | compression_ratio, accuracy) |                                  |

The 2-point bound is milestone 06's ("< 2% accuracy loss"), the 4x the same milestone's
compression target. All-Around ranks by non-dominated sorting: the submissions no other
beats on all three numbers at once form layer 1 (the frontier), remove them and the next
frontier is layer 2, and so on; within a layer the geometric mean of speedup and
compression ratio breaks ties. Equal scores share a rank (1, 1, 3). Invalid submissions
and ones outside an event's constraint are listed after the ranked ones, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tinytorch.benchmarking.pareto import pareto_layers
from tinytorch.olympics.submission import submission_problems

ACCURACY_TOLERANCE = 0.02
ACCURACY_CONTEST_MIN_COMPRESSION = 4.0


@dataclass(frozen=True)
class Event:
    key: str
    title: str
    goal: str
    score: str
    constraint: str


EVENTS: dict[str, Event] = {
    "latency": Event("latency", "Latency Sprint", "minimize inference time",
                     "speedup (baseline latency / optimized latency)",
                     f"accuracy_delta >= -{ACCURACY_TOLERANCE:g}"),
    "memory": Event("memory", "Memory Challenge", "minimize model size",
                    "compression_ratio (baseline size / optimized size)",
                    f"accuracy_delta >= -{ACCURACY_TOLERANCE:g}"),
    "accuracy": Event("accuracy", "Accuracy Contest", "maximize accuracy under a size budget",
                      "final accuracy",
                      f"compression_ratio >= {ACCURACY_CONTEST_MIN_COMPRESSION:g}"),
    "all-around": Event("all-around", "All-Around", "a balanced Pareto frontier",
                        "Pareto layer on (speedup, compression_ratio, accuracy); "
                        "ties: sqrt(speedup * compression_ratio)", "none"),
}  # fmt: skip


@dataclass
class Standing:
    """One line of an event's table; ``rank`` is None when not ranked (see ``reason``)."""

    name: str
    rank: int | None
    score: float | None
    detail: str = ""
    reason: str = ""


def final_metrics(submission: Mapping[str, Any]) -> dict[str, Any]:
    report = submission.get("optimized") or submission["baseline"]
    return report["metrics"]


def _check_event(event: str) -> Event:
    if event not in EVENTS:
        raise ValueError(f"unknown Torch Olympics event {event!r}; events: {', '.join(EVENTS)}")
    return EVENTS[event]


def score_submission(submission: Mapping[str, Any], event: str) -> tuple[float | None, str]:
    """``(score, "")`` for a submission ranked in ``event``, or ``(None, reason)``. All-Around
    has no single score (see :func:`rank_submissions`); its tie-break value is returned."""
    _check_event(event)
    problems = submission_problems(submission)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return None, f"invalid: {problems[0]}{more}"
    imp = submission["improvements"]
    if event in ("latency", "memory") and imp["accuracy_delta"] < -ACCURACY_TOLERANCE:
        return None, (
            f"accuracy dropped {-imp['accuracy_delta'] * 100:.1f} points "
            f"(the limit is {ACCURACY_TOLERANCE * 100:g})"
        )
    if event == "accuracy" and imp["compression_ratio"] < ACCURACY_CONTEST_MIN_COMPRESSION:
        return None, (
            f"compression {imp['compression_ratio']:.2f}x is below the "
            f"{ACCURACY_CONTEST_MIN_COMPRESSION:g}x budget"
        )
    if event == "latency":
        return float(imp["speedup"]), ""
    if event == "memory":
        return float(imp["compression_ratio"]), ""
    if event == "accuracy":
        return float(final_metrics(submission)["accuracy"]), ""
    return math.sqrt(imp["speedup"] * imp["compression_ratio"]), ""


def _with_ranks(ordered: list[Standing], key: list[Any]) -> None:
    """Competition ranking: equal keys share a rank, the next rank skips (1, 1, 3)."""
    for i, standing in enumerate(ordered):
        standing.rank = ordered[i - 1].rank if i and key[i] == key[i - 1] else i + 1


def rank_submissions(submissions: Mapping[str, Mapping[str, Any]], event: str) -> list[Standing]:
    """The table of ``event``: ranked submissions best first, then the unranked ones."""
    _check_event(event)
    ranked: list[Standing] = []
    unranked: list[Standing] = []
    for name in sorted(submissions):
        score, reason = score_submission(submissions[name], event)
        (ranked if score is not None else unranked).append(Standing(name, None, score, "", reason))
    if event == "all-around":
        points = {}
        for s in ranked:
            imp = submissions[s.name]["improvements"]
            acc = final_metrics(submissions[s.name])["accuracy"]
            points[s.name] = (imp["speedup"], imp["compression_ratio"], acc)
        layer_of = {n: i + 1 for i, layer in enumerate(pareto_layers(points, ["higher"] * 3))
                    for n in layer}  # fmt: skip
        for s in ranked:
            s.detail = "frontier" if layer_of[s.name] == 1 else f"layer {layer_of[s.name]}"
        ranked.sort(key=lambda s: (layer_of[s.name], -s.score, s.name))
        _with_ranks(ranked, [(layer_of[s.name], s.score) for s in ranked])
    else:
        ranked.sort(key=lambda s: (-s.score, s.name))
        _with_ranks(ranked, [s.score for s in ranked])
    return ranked + unranked


def format_standings(event: str, standings: list[Standing]) -> str:
    """A text table for the terminal."""
    info = _check_event(event)
    lines = [f"{info.title}: {info.goal}", f"  score: {info.score}; constraint: {info.constraint}"]
    if not standings:
        return "\n".join(lines + ["  (no submissions)"])
    width = max(len(s.name) for s in standings)
    for s in standings:
        if s.rank is None:
            lines.append(f"   -  {s.name:<{width}}  not ranked: {s.reason}")
        else:
            detail = f"  ({s.detail})" if s.detail else ""
            lines.append(f"  {s.rank:>2}. {s.name:<{width}}  {s.score:.4g}{detail}")
    return "\n".join(lines)
