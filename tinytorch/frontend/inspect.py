"""Looking inside: the graph behind a tensor, before and after every pass.

    tinytorch.dump_graph(y, "out/")   # out/00_captured.{txt,dot,svg}, out/01_..., one per pass
    print(tinytorch.explain(y))       # the same graphs as text
    print(tinytorch.fusion_report(y)) # which nodes run in which kernel, and why

Neither computes ``y``; both run the current pass pipeline on its pending graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.dot import DOT_MISSING, dot_available
from tinytorch.ir.graph import Capture
from tinytorch.ir.printer import format_graph
from tinytorch.passes.base import PassManager
from tinytorch.passes.fusion import fusion_report as _fusion_report
from tinytorch.runtime import config


def _capture(tensors: Tensor | Sequence[Tensor]) -> Capture:
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    return Capture([t._node for t in tensors])


def dump_graph(
    tensors: Tensor | Sequence[Tensor], out_dir: str | Path, quiet: bool = False
) -> list[Path]:
    """Write the graph after each pass as numbered ``.txt`` and ``.dot`` files (and ``.svg``
    when Graphviz's ``dot`` program is installed). Returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.iterdir())
    PassManager(config.get_pipeline(), dump_dir=out).run(_capture(tensors).graph())
    written = sorted(set(out.iterdir()) - before) or sorted(out.iterdir())
    if not dot_available() and not quiet:
        print(DOT_MISSING)
    return written


def fusion_report(tensors: Tensor | Sequence[Tensor], show_src: bool = True) -> str:
    """Which ops of the tensors' pending graph run in which kernel, and why (computes
    nothing). On the llvm backend, groups that would run on NumPy instead say so."""
    graph = PassManager(config.get_pipeline()).run(_capture(tensors).graph())
    if config.current_backend() == "llvm":
        from tinytorch.backends import get_backend

        get_backend("llvm").compile(graph)  # notes fallbacks on the nodes (kernels are cached)
    return _fusion_report(graph, show_src=show_src)


def explain(tensors: Tensor | Sequence[Tensor]) -> str:
    """The captured graph, then the graph after each pass that changed it, as text."""
    manager = PassManager(config.get_pipeline())
    graph = _capture(tensors).graph()
    parts = ["== captured ==", format_graph(graph)]
    for p in manager.passes:
        new, changed = p.run(graph)
        if changed:
            parts += [f"== after {p.name} ==", format_graph(new)]
        graph = new
    return "\n".join(parts)
