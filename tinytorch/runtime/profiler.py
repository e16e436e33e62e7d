"""The profiling hook every node execution passes through, and the API that reads it.

Backends call one hook per kernel run with the nodes it computed. This module turns that into
one :class:`NodeRecord` per node (a fused kernel's time is shared among its members in
proportion to their cost), tagged with the user's source line, the op's flops and bytes from
the registry, and the backend. ``tinytorch.profile()`` collects the records::

    with tinytorch.profile() as prof:
        loss = model(x).sum(); loss.item()
    print(prof.table())          # time per user line and op
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tinytorch.backends import Hook
from tinytorch.ir.node import Node
from tinytorch.ir.printer import short_src
from tinytorch.ir.registry import get
from tinytorch.runtime import config


@dataclass
class NodeRecord:
    op: str
    shape: tuple[int, ...]
    dtype: str
    src: str | None
    seconds: float
    flops: int
    bytes: int
    backend: str
    kernel: str


@dataclass
class Profile:
    """The records gathered inside one ``with tinytorch.profile():`` block."""

    records: list[NodeRecord] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def by_line(self) -> dict[str, float]:
        """Seconds per user source line, largest first."""
        out: dict[str, float] = {}
        for r in self.records:
            out[r.src or "?"] = out.get(r.src or "?", 0.0) + r.seconds
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def table(self, limit: int = 30) -> str:
        """Time per (user line, op), largest first, with GFLOP/s and GB/s."""
        rows: dict[tuple[str, str], list[float]] = {}
        for r in self.records:
            row = rows.setdefault((short_src(r.src) or "?", r.op), [0, 0.0, 0, 0])
            row[0] += 1
            row[1] += r.seconds
            row[2] += r.flops
            row[3] += r.bytes
        lines = [f"{'line':<28}{'op':<14}{'calls':>6}{'ms':>10}{'GFLOP/s':>10}{'GB/s':>9}"]
        for (src, op), (calls, sec, flops, nbytes) in sorted(
            rows.items(), key=lambda kv: -kv[1][1]
        )[:limit]:
            gflops = flops / sec / 1e9 if sec > 0 else 0.0
            gbs = nbytes / sec / 1e9 if sec > 0 else 0.0
            lines.append(f"{src:<28}{op:<14}{calls:>6}{sec * 1e3:>10.3f}{gflops:>10.2f}{gbs:>9.2f}")
        lines.append(f"total {self.total_seconds * 1e3:.3f} ms in {len(self.records)} nodes")
        return "\n".join(lines)


_lock = threading.Lock()
_active: list[Profile] = []


@contextmanager
def profile() -> Iterator[Profile]:
    """Record every node executed inside the block (on any backend)."""
    prof = Profile()
    with _lock:
        _active.append(prof)
    try:
        yield prof
    finally:
        with _lock:
            _active.remove(prof)


def make_hook(backend: str) -> Hook | None:
    """The hook for one run, or None when nobody listens (then backends skip timing)."""
    debug = config.debug_level() >= 2
    if not _active and not debug:
        return None
    listeners = list(_active)

    def hook(nodes: Sequence[Node], seconds: float, kernel: str) -> None:
        costs = [get(n.op).cost(n) for n in nodes]
        weights = [f + b for f, b in costs]
        total = sum(weights)
        for n, (flops, nbytes), w in zip(nodes, costs, weights, strict=True):
            share = seconds * (w / total if total else 1 / len(nodes))
            record = NodeRecord(
                n.op, n.shape, n.dtype, n.src, share, flops, nbytes, backend, kernel
            )
            for prof in listeners:
                prof.records.append(record)
        if debug:
            flops = sum(c[0] for c in costs)
            nbytes = sum(c[1] for c in costs)
            rate = (
                f"{flops / seconds / 1e9:8.2f} GFLOP/s {nbytes / seconds / 1e9:8.2f} GB/s"
                if seconds > 0
                else ""
            )
            srcs = sorted({short_src(n.src) for n in nodes if n.src})
            print(
                f"[tinytorch] {backend:<6} {kernel:<24} {seconds * 1e6:10.1f} us {rate}  "
                f"{' '.join(srcs)}",
                file=sys.stderr,
            )

    return hook
