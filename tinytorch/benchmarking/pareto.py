"""Pareto frontiers: the models no other model beats on every metric at once.

``a`` *dominates* ``b`` when ``a`` is at least as good as ``b`` on every metric and strictly
better on at least one. The frontier is the set of models nothing dominates: each is the best
choice for some weighting of the metrics, and every other model is beaten outright.

The book's first example says C (12 ms, 91%) is "dominated" by A (10 ms, 90%) because A is
faster and "only 1% less accurate"; under the definition it states itself, C is *not*
dominated (it is more accurate), and its Q4 answer applies the definition correctly. We
follow the definition: all three of A, B, C are on the frontier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Direction = str  # "lower" or "higher": which way is better


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[Direction]) -> bool:
    """Whether ``a`` is at least as good as ``b`` everywhere and strictly better somewhere."""
    if not len(a) == len(b) == len(directions):
        raise ValueError(
            f"dominates: points {tuple(a)} and {tuple(b)} need one direction per metric, "
            f"got {tuple(directions)}"
        )
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        if d not in ("lower", "higher"):
            raise ValueError(f"dominates: direction must be 'lower' or 'higher', got {d!r}")
        gain = (y - x) if d == "lower" else (x - y)
        if gain < 0:
            return False
        better = better or gain > 0
    return better


def pareto_frontier(
    points: Mapping[str, Sequence[float]], directions: Sequence[Direction]
) -> list[str]:
    """The names of the non-dominated points, in the order given."""
    return [
        name
        for name, p in points.items()
        if not any(dominates(q, p, directions) for other, q in points.items() if other != name)
    ]


def pareto_layers(
    points: Mapping[str, Sequence[float]], directions: Sequence[Direction]
) -> list[list[str]]:
    """Non-dominated sorting: the frontier, then the frontier of what is left, and so on."""
    left = dict(points)
    layers = []
    while left:
        front = pareto_frontier(left, directions)
        layers.append(front)
        for name in front:
            del left[name]
    return layers
