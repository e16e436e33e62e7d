"""Helpers shared by the op tests, offered as fixtures.

* ``inp(k, shape, dtype)`` builds the k-th ``input`` placeholder of a hand-written graph;
* ``run_ir(inputs, outputs, arrays)`` runs a hand-written graph as ``realize`` would: the
  pass pipeline, then the current backend (so an ``[llvm]`` test compiles its kernels);
* ``ops_in(x)`` is the set of op names in the graph behind a Tensor or a Node;
* ``numeric_grad`` and ``rng`` come from ``tests/conftest.py`` (central finite differences
  in float64; a generator seeded from the test's id).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from tinytorch.backends import get_backend
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph, topo_order
from tinytorch.ir.node import Node
from tinytorch.passes import PassManager
from tinytorch.runtime import config


def placeholder(index: int, shape: Sequence[int], dtype: str = "float32") -> Node:
    return make("input", (), index=index, shape=tuple(shape), dtype=dtype)


def run_graph(
    inputs: Sequence[Node], outputs: Sequence[Node], arrays: Sequence[np.ndarray]
) -> list[np.ndarray]:
    graph = PassManager(config.get_pipeline()).run(Graph(inputs, outputs))
    return get_backend(config.current_backend()).compile(graph).run(list(arrays))


def graph_ops(x: object) -> set[str]:
    node = getattr(x, "_node", x)
    return {n.op for n in topo_order([node])}


@pytest.fixture(scope="session")
def inp() -> Callable[..., Node]:
    return placeholder


@pytest.fixture(scope="session")
def run_ir() -> Callable[..., list[np.ndarray]]:
    return run_graph


@pytest.fixture(scope="session")
def ops_in() -> Callable[[object], set[str]]:
    return graph_ops
