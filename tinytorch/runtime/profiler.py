"""The profiling hook every node execution passes through, and the API that reads it.

Backends call one hook per kernel run with the nodes it computed. This module turns that into
one :class:`NodeRecord` per node (a fused kernel's time is shared among its members in
proportion to their cost), tagged with the user's source line, the op's flops and bytes from
the registry, and the backend. ``tinytorch.profile()`` collects the records::

    with tinytorch.profile() as prof:
        loss = model(x).sum(); loss.item()
    print(prof.table())          # time per user line and op

Each hook call is also kept whole, as one :class:`KernelRecord` (when it started, its member
ops and lines, its flops and the bytes it moved to and from memory): the timeline
``tinytorch.perf.profiling`` exports as a Chrome trace and places on a roofline.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tinytorch.backends import Hook
from tinytorch.ir.families import is_view
from tinytorch.ir.node import Node
from tinytorch.ir.printer import short_src
from tinytorch.ir.registry import get
from tinytorch.ir.registry import nbytes as output_bytes
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
class KernelRecord:
    """One kernel run (a fused group, or one node run alone), as the backend reported it.

    ``start`` is ``time.perf_counter()`` seconds when it began; ``bytes`` is its memory
    traffic: the distinct buffers it reads from outside the kernel (a view counts as at most
    its base) plus the output it writes; values passed between fused members never reach
    memory, so they are not counted (summing the members' costs would count them)."""

    name: str
    backend: str
    start: float
    seconds: float
    ops: tuple[str, ...]
    srcs: tuple[str, ...]
    flops: int
    bytes: int
    shape: tuple[int, ...]
    thread: int


@dataclass
class Profile:
    """The records gathered inside one ``with tinytorch.profile():`` block."""

    records: list[NodeRecord] = field(default_factory=list)
    kernels: list[KernelRecord] = field(default_factory=list)

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
        if listeners:
            kernel_record = KernelRecord(
                kernel, backend, time.perf_counter() - seconds, seconds,
                tuple(n.op for n in nodes), tuple(sorted({n.src for n in nodes if n.src})),
                sum(c[0] for c in costs), kernel_traffic(nodes), nodes[-1].shape,
                threading.get_ident(),
            )  # fmt: skip
            for prof in listeners:
                prof.kernels.append(kernel_record)
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


def kernel_traffic(nodes: Sequence[Node]) -> int:
    """Bytes one kernel moves: each distinct outside input once, plus its output (the last
    member). A view read by the kernel is indexed in place, so it costs at most its base;
    a constant is one broadcast scalar and costs nothing."""
    if all(is_view(n.op) or n.op == "const" for n in nodes):
        return 0  # a view or a constant (a broadcast scalar) is a header, not memory
    members = {id(n) for n in nodes}
    read: dict[int, int] = {}
    for n in nodes:
        for i in n.inputs:
            if id(i) in members or id(i) in read:
                continue
            size, base = output_bytes(i), i
            while is_view(base.op) and base.inputs:
                base = base.inputs[0]
                size = min(size, output_bytes(base))
            read[id(i)] = size if base.op != "const" else 0  # a scalar, in a register
    return sum(read.values()) + output_bytes(nodes[-1])
