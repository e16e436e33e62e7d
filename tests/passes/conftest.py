"""Helpers shared by the pass tests, offered as fixtures.

* ``inp(k, shape, dtype)`` builds the k-th ``input`` placeholder of a hand-written graph;
* ``text(graph)`` prints a graph without source lines, for golden comparisons;
* ``run(graph, arrays)`` interprets a graph with the NumPy reference backend;
* ``same_values(got, want)`` compares arrays exactly (NaN equals NaN; -0.0 is not 0.0);
* ``check_pass(p, graph)`` runs a pass and checks the contract every pass keeps;
* ``effectful("op")`` pretends, for one test, that an op has effects (like an RNG draw).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from tinytorch.backends.numpy_backend import NumpyBackend
from tinytorch.ir import registry
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.printer import format_graph
from tinytorch.passes.base import Pass
from tinytorch.passes.verify import verify


def placeholder(index: int, shape: Sequence[int], dtype: str = "float32") -> Node:
    return make("input", (), index=index, shape=tuple(shape), dtype=dtype)


def graph_text(graph: Graph) -> str:
    return format_graph(graph, show_src=False)


def run_graph(graph: Graph, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return NumpyBackend().compile(graph).run(list(arrays))


def make_random_inputs(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """Normal floats, small integers, or random bools, by each input's dtype."""
    rng = np.random.default_rng(seed)
    arrays = []
    for node in graph.inputs:
        if node.dtype == "bool":
            arrays.append(rng.random(node.shape) < 0.5)
        elif node.dtype.startswith("float"):
            arrays.append(rng.standard_normal(node.shape).astype(node.dtype))
        else:
            arrays.append(rng.integers(-5, 6, node.shape).astype(node.dtype))
    return arrays


def assert_same_values(got: np.ndarray, want: np.ndarray, signed_zeros: bool = True) -> None:
    """Equal shape, dtype and values, NaN equal to NaN, and (unless ``signed_zeros`` is
    False) zeros of the same sign."""
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_array_equal(got, want)
    if signed_zeros and want.dtype.kind == "f":
        numbers = ~np.isnan(want)  # a NaN's sign bit is noise, a zero's is not
        np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))


def run_and_check(p: Pass, graph: Graph, signed_zeros: bool = True) -> tuple[Graph, bool]:
    """Run ``p`` once on ``graph`` and check what every pass promises:

    * the verifier accepts the new graph, compared with the old one;
    * both graphs compute the same values on random inputs (NaN equal to NaN, but -0.0 and
      0.0 told apart, unless ``signed_zeros=False``);
    * a second run changes nothing and prints the same text (idempotence);
    * the old graph was not touched (passes never mutate).
    """
    old_text = graph_text(graph)
    new, changed = p.run(graph)
    verify(new, before=graph, where=f"after {p.name}")
    assert graph_text(graph) == old_text, "the pass mutated its input graph"
    if not changed:
        assert graph_text(new) == old_text, "changed=False but the graph changed"
    inputs = make_random_inputs(graph)
    for want, got in zip(run_graph(graph, inputs), run_graph(new, inputs), strict=True):
        assert_same_values(got, want, signed_zeros)
    again, changed_again = p.run(new)
    assert not changed_again, f"{p.name} is not idempotent"
    assert graph_text(again) == graph_text(new)
    return new, changed


@pytest.fixture(scope="session")
def inp() -> Callable[..., Node]:
    return placeholder


@pytest.fixture(scope="session")
def text() -> Callable[[Graph], str]:
    return graph_text


@pytest.fixture(scope="session")
def run() -> Callable[[Graph, Sequence[np.ndarray]], list[np.ndarray]]:
    return run_graph


@pytest.fixture(scope="session")
def same_values() -> Callable[..., None]:
    return assert_same_values


@pytest.fixture(scope="session")
def check_pass() -> Callable[..., tuple[Graph, bool]]:
    return run_and_check


@pytest.fixture
def effectful(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``effectful("exp")`` makes the registry call ``exp`` effectful until the test ends."""

    def mark(op: str) -> None:
        opdef = dataclasses.replace(registry.get(op), effectful=True)
        monkeypatch.setitem(registry._REGISTRY, op, opdef)

    return mark
