"""Graphs: capture, signature, printing, DOT export, the networkx view, hashing."""

import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.ir import build as B
from tinytorch.ir.dot import DOT_MISSING, render_svg, to_dot
from tinytorch.ir.graph import Capture, Graph, topo_order
from tinytorch.ir.hashing import hash_signature, structural_hash
from tinytorch.ir.printer import format_graph
from tinytorch.ir.registry import OpDef, RegistryError, register


def _inp(k, shape, dtype="float32"):
    return B.make("input", (), index=k, shape=shape, dtype=dtype)


def _small_graph():
    x, b = _inp(0, (2, 3)), _inp(1, (3,))
    y = B.make("relu", (B.add(x, B.expand(b, (2, 3))),))
    return Graph([x, b], [B.reduce_sum(y, (1,))])


def test_printer_golden():
    """The printed form is stable: numbering in graph order, sorted attributes."""
    assert format_graph(_small_graph(), show_src=False) == (
        "graph(%0: float32[2,3], %1: float32[3]) {\n"
        "  %2 = expand(%1, shape=(2, 3)) : float32[2,3]\n"
        "  %3 = add(%0, %2) : float32[2,3]\n"
        "  %4 = relu(%3) : float32[2,3]\n"
        "  %5 = sum(%4, axes=(1,), keepdims=False) : float32[2]\n"
        "  return %5\n"
        "}\n"
    )


def test_printer_shows_the_user_line():
    x = Tensor([1.0, 2.0])
    y = x * 2.0  # line recorded
    text = format_graph(Capture([y._node]).graph())
    assert f"test_graph_and_printing.py:{y._node.src.rsplit(':', 1)[1]}" in text


def test_dot_text_names_every_node_and_edge():
    source = to_dot(_small_graph(), title="demo").source
    assert source.startswith("digraph demo {")
    for op in ("expand", "add", "relu", "sum"):
        assert op in source
    assert source.count("->") == 6  # 5 data edges (add reads two) + 1 to the output marker


def test_dot_draws_fusion_groups_as_clusters():
    g = _small_graph()
    for n in g.nodes[2:4]:
        n.meta["group"] = 7
    source = to_dot(g).source
    assert "subgraph cluster_7" in source and "kernel 7" in source


def test_svg_render_explains_how_to_get_dot_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    reason = render_svg("digraph { a -> b }", tmp_path / "g.svg")
    assert reason == DOT_MISSING and "apt-get install graphviz" in reason
    assert not (tmp_path / "g.svg").exists()


def test_networkx_view_answers_graph_questions():
    g = _small_graph()
    view = g.to_networkx()
    assert nx.is_directed_acyclic_graph(view)
    assert view.number_of_nodes() == len(g.nodes)
    order = [view.nodes[k]["op"] for k in nx.topological_sort(view)]
    assert order.index("add") < order.index("relu") < order.index("sum")


def test_topo_order_puts_inputs_first_and_handles_deep_chains():
    x = _inp(0, (4,))
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = B.neg(y)
    order = topo_order([y])
    assert order[0] is x and order[-1] is y and len(order) == 5001


def test_capture_cuts_at_existing_data_and_signature_ignores_values():
    """Two runs of one program on different data share a signature; another shape does not."""

    def program(data):
        x = Tensor(data)
        return Capture([((x * 2.0) + x).sum()._node])

    a, b = program(np.ones((2, 2))), program(np.zeros((2, 2)))
    c = program(np.ones((3, 2)))
    assert a.signature == b.signature != c.signature
    assert len(a.sources) == 1 and a.sources[0].op == "buffer"
    graph = a.graph()
    assert [n.op for n in graph.inputs] == ["input"]


def test_a_realized_node_becomes_an_input_of_later_graphs():
    x = Tensor([1.0, 2.0])
    y = x * 3.0
    y.numpy()
    cap = Capture([(y + 1.0)._node])
    assert cap.sources == [y._node]


def test_structural_hash_is_stable_across_processes():
    code = (
        "from tinytorch.ir import build as B\n"
        "from tinytorch.ir.graph import Graph\n"
        "from tinytorch.ir.hashing import structural_hash\n"
        "x = B.make('input', (), index=0, shape=(2, 3), dtype='float32')\n"
        "b = B.make('input', (), index=1, shape=(3,), dtype='float32')\n"
        "y = B.make('relu', (B.add(x, B.expand(b, (2, 3))),))\n"
        "print(structural_hash(Graph([x, b], [B.reduce_sum(y, (1,))])))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == structural_hash(_small_graph())
    assert hash_signature(("a",)) != hash_signature(("b",))


def test_registering_an_incomplete_op_fails_at_registration():
    with pytest.raises(RegistryError, match="no VJP"):
        register(
            OpDef(
                name="half_done",
                kind="elementwise",
                infer=lambda s, d, a: (s[0], d[0]),
                numpy=lambda n, x: x,
            )
        )
    with pytest.raises(RegistryError, match="twice"):
        register(
            OpDef(
                name="add",
                kind="elementwise",
                infer=lambda s, d, a: (s[0], d[0]),
                numpy=lambda n, x: x,
                differentiable=False,
            )
        )


def test_shape_rules_run_when_a_node_is_built():
    from tinytorch.ir.errors import ShapeError

    with pytest.raises(ShapeError, match="Inner dimensions must match: 3 ≠ 4"):
        B.make("matmul", (_inp(0, (2, 3)), _inp(1, (4, 5))))
