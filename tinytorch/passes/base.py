"""Passes and the PassManager.

A pass is a graph-to-graph function with a name: ``run(graph) -> (graph, changed)``. The
PassManager runs an ordered list of them and, after *every* pass, verifies the result, records
the time the pass took, and (when asked) writes the graph as numbered text and DOT files, so
a learner can watch a program change shape one pass at a time.

The pipeline is a plain list: ``PassManager([ConstantFolding(), DeadCodeElimination()])``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tinytorch.ir.dot import render_svg, to_dot
from tinytorch.ir.graph import Graph
from tinytorch.ir.printer import format_graph
from tinytorch.passes.verify import verify


class Pass:
    """Subclass and implement :meth:`run`. Override :meth:`config` if the pass has options
    (it becomes part of the plan-cache key)."""

    name = "pass"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        raise NotImplementedError

    def config(self) -> tuple:
        return ()

    def cache_key(self) -> tuple:
        return (type(self).__module__, type(self).__qualname__, self.config())

    def __repr__(self) -> str:
        args = ", ".join(repr(c) for c in self.config())
        return f"{type(self).__name__}({args})"


@dataclass
class PassRecord:
    name: str
    seconds: float
    changed: bool
    nodes_before: int
    nodes_after: int


class PassManager:
    def __init__(
        self, passes: list[Pass], verify: bool = True, dump_dir: str | Path | None = None
    ) -> None:
        self.passes = list(passes)
        self.verify = verify
        self.dump_dir = Path(dump_dir) if dump_dir else None
        self.records: list[PassRecord] = []

    def run(self, graph: Graph) -> Graph:
        self.records = []
        if self.verify:
            verify(graph, where="captured graph")
        self._dump(0, "captured", graph)
        for k, p in enumerate(self.passes, start=1):
            start = time.perf_counter()
            new, changed = p.run(graph)
            seconds = time.perf_counter() - start
            if self.verify:
                verify(new, before=graph, where=f"after pass {p.name}")
            self.records.append(PassRecord(p.name, seconds, changed, len(graph), len(new)))
            self._dump(k, p.name, new)
            graph = new
        return graph

    def report(self) -> str:
        lines = [f"{'pass':<28}{'ms':>9}{'nodes':>14}  changed"]
        for r in self.records:
            lines.append(
                f"{r.name:<28}{r.seconds * 1e3:>9.3f}"
                f"{f'{r.nodes_before}->{r.nodes_after}':>14}  {r.changed}"
            )
        return "\n".join(lines)

    def _dump(self, k: int, name: str, graph: Graph) -> None:
        if self.dump_dir is None:
            return
        self.dump_dir.mkdir(parents=True, exist_ok=True)
        stem = self.dump_dir / f"{k:02d}_{name}"
        stem.with_suffix(".txt").write_text(format_graph(graph))
        source = to_dot(graph, title=f"{k:02d} {name}").source
        stem.with_suffix(".dot").write_text(source)
        render_svg(source, stem.with_suffix(".svg"))  # quietly skipped without `dot`
