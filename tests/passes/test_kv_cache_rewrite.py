"""The KV-cache rewrite pass: a decode step that recomputes K and V for every position
becomes one that computes and writes only the new position's.

The graphs are real decode steps of a small GPT (``cached_logits``), captured before any
pass runs. The reference for "same values" is the NumPy interpreter running the graph
*before* the pass, on copies of the same cache buffers.
"""

import numpy as np

from tinytorch import Tensor
from tinytorch.frontend.cache_ops import first_row, kv_cache_write
from tinytorch.ir.graph import Capture, Graph
from tinytorch.nn.kv_decode import cached_logits
from tinytorch.nn.transformer import GPT
from tinytorch.passes import (
    CommonSubexpressionElimination,
    ConstantFolding,
    DeadCodeElimination,
    KVCacheRewrite,
    PassManager,
)
from tinytorch.perf.memoization import enable_kv_cache

ROWS, EMBED, LAYERS = 24, 16, 2


def decode_step(prefill: int = 5):
    """A GPT whose cache holds a ``prefill``-token prompt, and the captured graph of the
    next token's step (with its input arrays)."""
    np.random.seed(0)
    model = GPT(13, EMBED, LAYERS, 4, max_seq_len=ROWS)
    cache = enable_kv_cache(model)
    model.forward(np.array([[3, 1, 4, 1, 5][:prefill]]))  # fills rows 0..prefill-1
    logits = cached_logits(model, cache, Tensor(np.array([[9]])), Tensor(np.array([prefill])))
    capture = Capture([logits._node])
    graph = PassManager([ConstantFolding(), CommonSubexpressionElimination()]).run(capture.graph())
    arrays = [np.array(s.meta["value"], copy=True) for s in capture.sources]
    return graph, arrays


def rewritten(graph: Graph) -> Graph:
    return PassManager([KVCacheRewrite(), DeadCodeElimination()]).run(graph)


def projection_rows(graph: Graph) -> list[int]:
    """Rows of every 2-D matmul with a (EMBED, EMBED) weight: the Q/K/V/out projections."""
    return sorted(
        n.shape[0]
        for n in graph.nodes
        if n.op == "matmul" and n.ndim == 2 and n.inputs[1].shape == (EMBED, EMBED)
    )


def writes(graph: Graph, memoized: bool):
    return [
        n
        for n in graph.nodes
        if n.op == "kv_cache_write" and bool(n.attrs.get("memoized")) == memoized
    ]


def test_before_k_and_v_are_recomputed_for_every_position():
    graph, _ = decode_step()
    # per layer: Q and out on the new row; K and V on all 24 rows of the stash
    assert projection_rows(graph) == [1] * (2 * LAYERS) + [ROWS] * (2 * LAYERS)
    for w in writes(graph, memoized=True):  # all rows written from row 0
        assert w.inputs[1].shape[2] == ROWS and w.inputs[2].op == "const"


def test_after_only_the_new_row_is_projected_and_written_at_pos():
    graph, _ = decode_step()
    after = rewritten(graph)
    assert projection_rows(after) == [1] * (4 * LAYERS)
    (pos,) = {id(w.inputs[2]) for w in writes(after, memoized=False)}  # the stash writes' pos
    for w in writes(after, memoized=True):
        assert w.inputs[1].shape == (1, 4, 1, EMBED // 4) and id(w.inputs[2]) == pos
    # every effect is still there: per layer a stash write and a K and a V write
    assert (len(writes(after, False)), len(writes(after, True))) == (LAYERS, 2 * LAYERS)


def test_same_logits_and_same_cache_contents_as_before_the_rewrite(run):
    graph, arrays = decode_step()
    before_arrays = [a.copy() for a in arrays]
    (want,) = run(graph, before_arrays)
    (got,) = run(rewritten(graph), arrays)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for a, b in zip(arrays, before_arrays, strict=True):  # the caches were written alike
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_rewrite_is_idempotent_and_verified(text):
    graph, _ = decode_step()
    once, changed = KVCacheRewrite().run(graph)
    again, changed_again = KVCacheRewrite().run(once)
    assert changed and not changed_again and text(again) == text(once)
    PassManager([KVCacheRewrite()]).run(graph)  # the verifier accepts it


def test_prefill_is_rewritten_too():
    """A 5-token prompt: 5 rows projected for K and V, not 24."""
    np.random.seed(0)
    model = GPT(13, EMBED, LAYERS, 4, max_seq_len=ROWS)
    cache = enable_kv_cache(model)
    logits = cached_logits(model, cache, Tensor(np.array([[3, 1, 4, 1, 5]])), Tensor([0]))
    after = rewritten(Capture([logits._node]).graph())
    assert ROWS not in projection_rows(after) and 5 in projection_rows(after)


def test_a_graph_without_memoized_writes_is_returned_as_is(inp):
    x = inp(0, (2, 3))
    graph = Graph([x], [x])
    assert KVCacheRewrite().run(graph) == (graph, False)


def test_values_that_mix_rows_are_not_rewritten():
    """K computed from a sum over all stash rows is not row-wise: row i of K depends on
    every row, so only-the-new-rows would be wrong. The pass leaves it alone."""
    stash = Tensor(np.zeros((1, 1, 6, 4), np.float32))
    cache = Tensor(np.zeros((1, 1, 6, 4), np.float32))
    seen = kv_cache_write(stash, Tensor(np.ones((1, 1, 1, 4), np.float32)), Tensor([2]))
    mixed = seen.sum(axis=2, keepdims=True).expand(1, 1, 6, 4)
    out = kv_cache_write(cache, mixed, first_row(), memoized=True)
    graph = Capture([out._node]).graph()
    assert KVCacheRewrite().run(graph) == (graph, False)


def test_the_dumps_show_the_step_before_and_after_the_rewrite(tmp_path):
    import tinytorch

    np.random.seed(0)
    model = GPT(13, EMBED, LAYERS, 4, max_seq_len=ROWS)
    cache = enable_kv_cache(model)
    logits = cached_logits(model, cache, Tensor(np.array([[9]])), Tensor(np.array([0])))
    files = tinytorch.dump_graph(logits, tmp_path, quiet=True)
    names = [f.name for f in files if f.suffix == ".txt"]
    (after,) = [n for n in names if n.endswith("kv_cache_rewrite.txt")]
    before = names[names.index(after) - 1]
    assert f"float32[{ROWS},{EMBED}]" in (tmp_path / before).read_text()  # K over 24 rows
    assert "float32[1,4,1,4]" in (tmp_path / after).read_text()  # K of the new row only
