"""Where each kernel of a profiled run sits on this machine's roofline.

For every kernel: its arithmetic intensity (flops per byte moved), the ceiling the roofline
allows at that intensity, what it achieved, and whether it is memory- or compute-bound. Runs
of the same kernel are merged (a training loop runs each kernel many times). The text table
always works; :meth:`RooflineReport.plot` draws the classic log-log picture when matplotlib
is installed (an optional extra).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinytorch.ir.printer import short_src
from tinytorch.perf.machine import Machine, this_machine
from tinytorch.runtime.profiler import KernelRecord


@dataclass
class RooflinePoint:
    """One kernel (all its runs merged) placed on the roofline."""

    name: str
    ops: tuple[str, ...]
    lines: tuple[str, ...]
    runs: int
    seconds: float
    flops: int
    bytes: int
    intensity: float
    achieved_gflops: float
    attainable_gflops: float
    bound: str

    @property
    def fraction_of_roof(self) -> float:
        """Achieved / attainable: how close the kernel gets to its ceiling."""
        return self.achieved_gflops / self.attainable_gflops if self.attainable_gflops else 0.0


@dataclass
class RooflineReport:
    machine: Machine
    points: list[RooflinePoint]

    def text(self, limit: int = 30) -> str:
        """A table, most time first: the kernel, its intensity, achieved and ceiling."""
        head = (
            f"{'kernel':<20}{'ops':<26}{'runs':>5}{'ms':>9}{'flop/B':>8}"
            f"{'GFLOP/s':>9}{'roof':>8}{'%roof':>7}  bound"
        )
        lines = [f"roofline of this machine: {self.machine.describe()}", head]
        for p in self.points[:limit]:
            ops = " ".join(p.ops)
            ops = ops if len(ops) <= 24 else ops[:21] + "..."
            lines.append(
                f"{p.name[:19]:<20}{ops:<26}{p.runs:>5}{p.seconds * 1e3:>9.3f}"
                f"{p.intensity:>8.2f}{p.achieved_gflops:>9.2f}{p.attainable_gflops:>8.1f}"
                f"{p.fraction_of_roof * 100:>6.1f}%  {p.bound}"
            )
        if len(self.points) > limit:
            lines.append(f"... {len(self.points) - limit} more kernels")
        return "\n".join(lines)

    __str__ = text

    def plot(self, path: str | os.PathLike) -> Path | None:
        """Save a log-log roofline PNG; returns None (and draws nothing) without matplotlib."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return None
        m = self.machine
        xs = [p.intensity for p in self.points if p.intensity > 0 and p.achieved_gflops > 0]
        lo = min([m.ridge_point / 100, *xs]) / 2
        hi = max([m.ridge_point * 100, *xs]) * 2
        grid = [lo * (hi / lo) ** (k / 200) for k in range(201)]
        fig, ax = plt.subplots(figsize=(7, 5))
        ax.loglog(grid, [m.attainable_gflops(x) for x in grid], "k-", label="roofline")
        for p in self.points:
            if p.intensity > 0 and p.achieved_gflops > 0:
                ax.loglog(p.intensity, p.achieved_gflops, "o")
                ax.annotate(" ".join(p.ops)[:24], (p.intensity, p.achieved_gflops), fontsize=7)
        ax.set_xlabel("arithmetic intensity (flops / byte)")
        ax.set_ylabel("GFLOP/s")
        ax.set_title(m.describe(), fontsize=9)
        ax.legend()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path


def roofline_report(
    kernels: Sequence[KernelRecord], machine: Machine | None = None
) -> RooflineReport:
    """Place ``kernels`` (e.g. ``Profiler().last_run.kernels`` or a ``tinytorch.profile()``
    block's ``.kernels``) on ``machine``'s roofline (measured here when not given). Kernels
    that do no arithmetic (a constant, a copy, a view) have no place on the roofline's
    axes and are left out."""
    machine = machine or this_machine()
    merged: dict[tuple, list[KernelRecord]] = {}
    for k in kernels:
        if k.bytes > 0 and k.flops > 0:
            merged.setdefault((k.name, k.ops, k.srcs, k.shape), []).append(k)
    points = []
    for (name, ops, srcs, _), runs in merged.items():
        seconds = sum(r.seconds for r in runs)
        flops = sum(r.flops for r in runs)
        moved = sum(r.bytes for r in runs)
        intensity = flops / moved
        points.append(
            RooflinePoint(
                name=name,
                ops=ops,
                lines=tuple(short_src(s) for s in srcs),
                runs=len(runs),
                seconds=seconds,
                flops=flops,
                bytes=moved,
                intensity=intensity,
                achieved_gflops=flops / seconds / 1e9 if seconds > 0 else 0.0,
                attainable_gflops=machine.attainable_gflops(intensity),
                bound=machine.bound(intensity),
            )
        )
    points.sort(key=lambda p: -p.seconds)
    return RooflineReport(machine, points)
