"""A deterministic text form of a graph, for dumps, golden tests and curious learners.

    graph(%0: float32[2,3], %1: float32[3]) {
      %2 = expand(%1, shape=(2, 3)) : float32[2,3]          # demo.py:7
      %3 = add(%0, %2) : float32[2,3]                        # demo.py:7
      return %3
    }

Nodes are numbered in graph order (inputs first), attributes are sorted, and leaves' shape
and dtype appear once, in the type, so the same graph always prints the same text.
"""

from __future__ import annotations

import os

from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node

_LEAF_ATTRS = ("shape", "dtype", "index")


def type_str(node: Node) -> str:
    return f"{node.dtype}[{','.join(str(d) for d in node.shape)}]"


def short_src(src: str | None) -> str:
    """``/long/path/to/train.py:12`` -> ``train.py:12``."""
    if not src:
        return ""
    path, _, line = src.rpartition(":")
    return f"{os.path.basename(path)}:{line}"


def format_graph(graph: Graph, show_src: bool = True, annotate=None) -> str:
    """Print ``graph``. ``annotate(node) -> str`` may add a note per node (e.g. a fusion
    group); ``show_src=False`` drops the user-line comments (for golden tests)."""
    names: dict[int, str] = {}
    for k, n in enumerate([*graph.inputs, *(n for n in graph.nodes if n.op != "input")]):
        names[id(n)] = f"%{k}"
    params = ", ".join(f"{names[id(i)]}: {type_str(i)}" for i in graph.inputs)
    lines = [f"graph({params}) {{"]
    for n in graph.nodes:
        if n.op == "input":
            continue
        args = [names.get(id(i), "%?") for i in n.inputs]
        attrs = n.attrs.items()
        if not n.inputs:
            attrs = [(k, v) for k, v in attrs if k not in _LEAF_ATTRS]
        args += [f"{k}={v!r}" for k, v in sorted(attrs)]
        line = f"  {names[id(n)]} = {n.op}({', '.join(args)}) : {type_str(n)}"
        notes = [short_src(n.src)] if show_src and n.src else []
        if annotate is not None and (note := annotate(n)):
            notes.append(note)
        if notes:
            line = f"{line:<60} # {'  '.join(notes)}"
        lines.append(line)
    lines.append(f"  return {', '.join(names.get(id(o), '%?') for o in graph.outputs)}")
    lines.append("}")
    return "\n".join(lines) + "\n"
