"""The KV cache's write (``kv_cache_write``) is an effect: every pass must keep it, run it
once, and run it before what reads the cache.

Each test builds a small graph by hand, runs the default pipeline (or one pass), and checks
the write is still there and still happens, against a NumPy reference of the buffer.
"""

import numpy as np
import pytest

import tinytorch
from tinytorch.frontend.cache_ops import kv_cache_write
from tinytorch.ir.build import make
from tinytorch.ir.graph import Graph
from tinytorch.ir.registry import get
from tinytorch.passes import (
    CommonSubexpressionElimination,
    DeadCodeElimination,
    Fusion,
    PassManager,
    VerificationError,
    default_pipeline,
)
from tinytorch.passes.base import Pass

CACHE, NEW = (1, 2, 5, 3), (1, 2, 1, 3)


def write_graph(inp, reads: bool = True) -> Graph:
    """``out = write(cache, new, pos)``; ``out * 2`` if ``reads`` else an unrelated output."""
    cache, new, pos = inp(0, CACHE), inp(1, NEW), inp(2, (1,), "int64")
    written = make("kv_cache_write", (cache, new, pos))
    if reads:
        return Graph([cache, new, pos], [make("mul", (written, written))])
    out = make("exp", (new,))
    return Graph([cache, new, pos], [out], [cache, new, pos, written, out])


def arrays():
    rng = np.random.default_rng(0)
    cache = rng.standard_normal(CACHE).astype(np.float32)
    new = rng.standard_normal(NEW).astype(np.float32)
    return cache, new, np.array([3], np.int64)


def test_the_op_is_registered_effectful_and_not_differentiable():
    opdef = get("kv_cache_write")
    assert opdef.effectful and not opdef.differentiable


def test_the_whole_pipeline_keeps_a_write_nobody_reads(inp, run):
    graph = PassManager(default_pipeline()).run(write_graph(inp, reads=False))
    assert [n.op for n in graph.nodes].count("kv_cache_write") == 1
    cache, new, pos = arrays()
    want = cache.copy()
    want[:, :, 3:4] = new
    run(graph, [cache, new, pos])
    np.testing.assert_array_equal(cache, want)  # written in place, though no output reads it


def test_dce_keeps_it_and_cse_never_merges_two_identical_writes(inp):
    cache, new, pos = inp(0, CACHE), inp(1, NEW), inp(2, (1,), "int64")
    first = make("kv_cache_write", (cache, new, pos))
    second = make("kv_cache_write", (cache, new, pos))  # the same structure, a second event
    graph = Graph([cache, new, pos], [make("add", (first, second))])
    for p in (CommonSubexpressionElimination(), DeadCodeElimination()):
        graph, _ = p.run(graph)
    assert [n.op for n in graph.nodes].count("kv_cache_write") == 2


def test_readers_run_after_the_write(inp, run):
    graph = PassManager(default_pipeline()).run(write_graph(inp))
    cache, new, pos = arrays()
    expected = cache.copy()
    expected[:, :, 3:4] = new
    (out,) = run(graph, [cache, new, pos])
    np.testing.assert_array_equal(out, expected * expected)


def test_fusion_runs_it_alone_and_says_why(inp):
    graph, _ = Fusion().run(write_graph(inp))
    (write,) = [n for n in graph.nodes if n.op == "kv_cache_write"]
    assert "group" not in write.meta
    with tinytorch.backend("numpy"):
        cache = tinytorch.Tensor(np.zeros(CACHE, np.float32))
        new = tinytorch.Tensor(np.ones(NEW, np.float32)) * 2.0
        out = kv_cache_write(cache, new, tinytorch.Tensor(np.array([0]))) + 1.0
        report = tinytorch.fusion_report(out)
    assert "kv_cache_write" in report and "effectful: never fused" in report


class DropsWrites(Pass):
    """A broken pass: treats the write as dead code."""

    name = "drops_writes"

    def run(self, graph):
        kept = [n for n in graph.nodes if n.op != "kv_cache_write"]
        return Graph(graph.inputs, graph.outputs, kept), True


def test_the_verifier_stops_a_pass_that_drops_a_write(inp):
    with pytest.raises(VerificationError, match="effectful node was dropped"):
        PassManager([DropsWrites()]).run(write_graph(inp, reads=False))


def test_bad_shapes_are_refused_when_the_op_is_written():
    cache = tinytorch.Tensor(np.zeros(CACHE, np.float32))
    with pytest.raises(ValueError, match=r"kv_cache_write: new entries \(1, 3, 1, 3\)"):
        kv_cache_write(cache, np.zeros((1, 3, 1, 3), np.float32), np.array([0]))


def test_a_position_outside_the_cache_fails_when_run(inp, run):
    graph = write_graph(inp)
    cache, new, _ = arrays()
    with pytest.raises(Exception, match="outside the cache's 5 rows"):
        run(graph, [cache, new, np.array([5], np.int64)])
