"""Graphviz export. The DOT *text* needs only the ``graphviz`` Python package; drawing it as
SVG needs Graphviz's ``dot`` program, which :func:`render_svg` looks for and, when absent,
explains how to install instead of failing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz

from tinytorch.ir.graph import Graph
from tinytorch.ir.printer import short_src, type_str

_KIND_COLOURS = {
    "leaf": "#e8f0fe",
    "elementwise": "#e6f4ea",
    "broadcast": "#fef7e0",
    "injective": "#fef7e0",
    "reduce": "#fce8e6",
    "opaque": "#f3e8fd",
}

DOT_MISSING = (
    "Graphviz's `dot` program is not installed, so no SVG was drawn (the .dot text was "
    "written). Install it with `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`, or paste the .dot file "
    "into any online Graphviz viewer."
)


def to_dot(graph: Graph, title: str = "graph") -> graphviz.Digraph:
    """One box per node (op, type, user line), coloured by op kind. Nodes whose
    ``meta["group"]`` is set (by the fusion pass) are drawn inside one cluster per group."""
    from tinytorch.ir.registry import get

    dot = graphviz.Digraph(
        name=title,
        graph_attr={"rankdir": "TB", "label": title},
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": "monospace",
            "fontsize": "10",
        },
    )
    ids = {id(n): f"n{k}" for k, n in enumerate(graph.nodes)}
    groups: dict[object, list] = {}
    for n in graph.nodes:
        groups.setdefault(n.meta.get("group"), []).append(n)
    for group, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        target = dot if group is None else graphviz.Digraph(name=f"cluster_{group}")
        if group is not None:
            target.attr(label=f"kernel {group}", style="dashed")
        for n in members:
            label = f"{n.op}\\n{type_str(n)}"
            if n.op == "const":
                label = f"const {n.attrs['value']!r}\\n{type_str(n)}"
            if n.src:
                label += f"\\n{short_src(n.src)}"
            target.node(ids[id(n)], label, fillcolor=_KIND_COLOURS[get(n.op).kind])
        if group is not None:
            dot.subgraph(target)
    for n in graph.nodes:
        for i in n.inputs:
            if id(i) in ids:
                dot.edge(ids[id(i)], ids[id(n)])
    for k, o in enumerate(graph.outputs):
        dot.node(f"out{k}", f"output {k}", shape="oval", fillcolor="white")
        dot.edge(ids[id(o)], f"out{k}")
    return dot


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render_svg(dot_source: str, path: str | Path) -> str | None:
    """Draw ``dot_source`` to ``path`` (SVG). Returns None on success, else the reason."""
    exe = shutil.which("dot")
    if exe is None:
        return DOT_MISSING
    result = subprocess.run(
        [exe, "-Tsvg", "-o", str(path)], input=dot_source.encode(), capture_output=True, check=False
    )
    if result.returncode:
        return f"dot failed: {result.stderr.decode(errors='replace').strip()}"
    return None
