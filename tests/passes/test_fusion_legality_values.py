"""Each fusion rule, checked by values: the legal case is fused, the illegal case is
materialized, and both compute NumPy's numbers on every backend.

``tests/passes/test_fusion.py`` checks the groups the pass decides (golden structure). A
wrong decision there can still look plausible, and the NumPy backend runs a fused graph node
by node, so only a compiled kernel shows what a group really computes. Each case here builds
a small program on square inputs (a reduction over one axis of an ``(n, n)`` tensor fits,
without keepdims, against the other axis too, so illegal groups are easy to build), checks
where its key nodes ended (same kernel or not), and compares its values on ``numpy`` and on
``llvm`` (every group compiled, no fallback) with a NumPy formula written independently.
Planting either bug of issue 14 in ``passes/fusion.py`` (reductions over different axes
sharing a kernel; dropping the "broadcast axes equal the reduced axes" check) makes the
illegal cases fail by value, not only by structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import executable
from tinytorch.ir.graph import Capture, Graph
from tinytorch.ir.node import Node
from tinytorch.passes import PassManager
from tinytorch.runtime import config

N = 3  # every input is (N, N): a reduction over one axis broadcasts back over the other


def fused_graph(outputs: list[Tensor]) -> Graph:
    """The graph the backends get for ``outputs`` (the current pipeline, fusion last)."""
    return PassManager(config.get_pipeline()).run(Capture([t._node for t in outputs]).graph())


def kernels_of(graph: Graph, op: str) -> set[int | None]:
    """The kernel numbers of the ``op`` nodes in ``graph`` (None: outside kernels)."""
    found: list[Node] = [n for n in graph.nodes if n.op == op]
    assert found, f"no {op} node in the graph"
    return {n.meta.get("group") for n in found}


def kernel_count(graph: Graph) -> int:
    return len({n.meta["group"] for n in graph.nodes if "group" in n.meta})


def gelu(v: np.ndarray) -> np.ndarray:
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))


def softmax(v: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@dataclass(frozen=True)
class Case:
    """``build(x)`` -> outputs; ``ref(x)`` -> the same in NumPy (float64); ``together``:
    pairs of ops that must share a kernel; ``apart``: pairs that must not."""

    id: str
    rule: str
    build: Callable[[Tensor], list[Tensor]]
    ref: Callable[[np.ndarray], list[np.ndarray]]
    together: tuple[tuple[str, str], ...] = ()
    apart: tuple[tuple[str, str], ...] = ()
    kernels: int | None = None  # the number of kernels, where the rule fixes it


CASES = [
    # --- elementwise and broadcast chains fuse
    Case("chain-fused", "elementwise chains fuse",
         lambda x: [(x * 2.0 + 1.0).gelu()], lambda x: [gelu(x * 2 + 1)],
         together=(("mul", "gelu"),), kernels=1),
    # --- views are index arithmetic inside the kernel
    Case("transpose-fused", "views fuse as index arithmetic",
         lambda x: [x.transpose() * 2.0 + x], lambda x: [x.T * 2 + x],
         together=(("permute", "add"),), kernels=1),
    # --- elementwise producers fuse into a reduction
    Case("producer-into-reduction", "producers fuse into a reduction",
         lambda x: [(x * x).sum(axis=1)], lambda x: [(x * x).sum(axis=1)],
         together=(("mul", "sum"),), kernels=1),
    # --- a reduction fuses into consumers over the same rows
    Case("same-rows-keepdims", "a reduction fuses into consumers over its rows",
         lambda x: [x - x.sum(axis=1, keepdims=True)],
         lambda x: [x - x.sum(axis=1, keepdims=True)],
         together=(("sum", "sub"),), kernels=1),
    Case("same-rows-axis0", "a reduction fuses into consumers over its rows",
         lambda x: [x - x.sum(axis=0)], lambda x: [x - x.sum(axis=0)],
         together=(("sum", "sub"),), kernels=1),
    Case("same-rows-through-reshape", "a reduction fuses into consumers over its rows",
         lambda x: [x * x.max(axis=1).reshape(N, 1)],
         lambda x: [x * x.max(axis=1).reshape(N, 1)],
         together=(("max", "mul"),), kernels=1),
    Case("softmax-one-kernel", "a reduction fuses into consumers over its rows",
         lambda x: [x.softmax(-1)], lambda x: [softmax(x, -1)], kernels=1),
    Case("same-axes-reductions-share", "reductions over the same axes share a kernel",
         lambda x: [(x - x.sum(axis=1, keepdims=True)).exp().sum(axis=1)],
         lambda x: [np.exp(x - x.sum(axis=1, keepdims=True)).sum(axis=1)],
         kernels=1),
    # --- illegal: read at other rows (the "broadcast axes = reduced axes" check)
    Case("other-axis-materialized", "a reduction read at other rows is materialized",
         lambda x: [x + x.sum(axis=1)], lambda x: [x + x.sum(axis=1)],
         apart=(("sum", "add"),)),
    Case("other-axis-keepdims-transposed", "a reduction read at other rows is materialized",
         lambda x: [x + x.sum(axis=1, keepdims=True).expand(N, N).transpose()],
         lambda x: [x + np.broadcast_to(x.sum(axis=1, keepdims=True), (N, N)).T],
         apart=(("sum", "add"),)),
    Case("other-axis-after-unary", "a reduction read at other rows is materialized",
         lambda x: [x * x.max(axis=0, keepdims=True).exp().transpose()],
         lambda x: [x * np.exp(x.max(axis=0, keepdims=True)).T],
         apart=(("max", "mul"),)),
    # --- illegal: two reductions over different axes in one kernel
    Case("different-axes-apart", "reductions over different axes do not share a kernel",
         lambda x: [(x - x.sum(axis=0)).exp().sum(axis=1)],
         lambda x: [np.exp(x - x.sum(axis=0)).sum(axis=1)],
         kernels=2),
    Case("different-axes-keepdims-apart",
         "reductions over different axes do not share a kernel",
         lambda x: [x.max(axis=0, keepdims=True) + x.min(axis=1, keepdims=True)],
         lambda x: [x.max(axis=0, keepdims=True) + x.min(axis=1, keepdims=True)],
         apart=(("max", "min"),)),
    # --- a value read by several kernels is materialized once
    Case("two-readers-materialized", "a value read by several kernels is materialized",
         lambda x: [(x * 3.0).sum(axis=0), (x * 3.0).sum(axis=1)],
         lambda x: [(3 * x).sum(axis=0), (3 * x).sum(axis=1)],
         apart=(("mul", "sum"),)),
    # --- a graph output is materialized even when an output reads it
    Case("output-materialized", "a graph output is materialized",
         lambda x: (lambda y: [y, y.exp()])(x * 2.0), lambda x: [2 * x, np.exp(2 * x)],
         apart=(("mul", "exp"),), kernels=2),
    # --- opaque ops run alone
    Case("matmul-alone", "opaque ops run alone",
         lambda x: [(x @ x) * 2.0 + 1.0], lambda x: [(x @ x) * 2 + 1], kernels=1),
]  # fmt: skip


def kernels_and_fallbacks(run: Callable[[], list[np.ndarray]]):
    """``run()``, and the compiled kernels and NumPy fallbacks of the llvm plans it ran."""
    seen = {"kernels": 0, "fallbacks": []}

    def listen(exe) -> None:
        seen["kernels"] += exe.kernels
        seen["fallbacks"] += exe.fallbacks

    previous = executable.set_run_listener(listen)
    try:
        values = run()
    finally:
        executable.set_run_listener(previous)
    return values, seen


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_fusion_rule_computes_right_and_decides_right(case: Case) -> None:
    """Values first (on every backend, against NumPy), then where the key nodes ended."""
    x = np.random.default_rng(14).standard_normal((N, N))
    want = case.ref(x)
    for backend in tinytorch.available_backends():
        with tinytorch.backend(backend):

            def run() -> list[np.ndarray]:
                outputs = case.build(Tensor(x, dtype="float32"))
                tinytorch.realize(*outputs)
                return [t.numpy() for t in outputs]

            got, seen = kernels_and_fallbacks(run)
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"{backend} #{k}")
        if backend == "llvm":
            assert seen["kernels"] > 0 and not seen["fallbacks"], seen
    graph = fused_graph(case.build(Tensor(x, dtype="float32")))
    for a, b in case.together:
        assert None not in kernels_of(graph, a), f"{case.rule}: {a} is not in a kernel"
        assert kernels_of(graph, a) == kernels_of(graph, b), f"{case.rule}: {a}, {b} apart"
    for a, b in case.apart:
        shared = kernels_of(graph, a) & kernels_of(graph, b)
        assert not shared, f"{case.rule}: {a} and {b} share kernel(s) {shared}"
    if case.kernels is not None:
        assert kernel_count(graph) == case.kernels, tinytorch.fusion_report(
            case.build(Tensor(x, dtype="float32"))
        )


def test_every_rule_of_the_module_docstring_has_a_case() -> None:
    """The rules in passes/fusion.py that decide values each have a legal or illegal case."""
    rules = {c.rule for c in CASES}
    assert {
        "elementwise chains fuse",
        "views fuse as index arithmetic",
        "producers fuse into a reduction",
        "a reduction fuses into consumers over its rows",
        "a reduction read at other rows is materialized",
        "reductions over different axes do not share a kernel",
        "a value read by several kernels is materialized",
        "a graph output is materialized",
        "opaque ops run alone",
    } <= rules
