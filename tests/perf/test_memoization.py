"""The KV cache (book Module 17): the ``KVCache`` API and its book numbers, enabling it on a
model, and generation that gives exactly the tokens of the uncached model, on every backend.

References are independent of the cache: the uncached GPT (which re-runs the whole window
per token) and NumPy slices written out in each test.
"""

import numpy as np
import pytest

import tinytorch
from tinytorch import Linear, ReLU, Sequential, Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.transformer import GPT
from tinytorch.perf.memoization import KVCache, disable_kv_cache, enable_kv_cache
from tinytorch.runtime.realize import plan_cache

BACKENDS = tinytorch.available_backends()


def small_gpt(seed: int = 0, max_seq_len: int = 24) -> GPT:
    np.random.seed(seed)
    return GPT(vocab_size=13, embed_dim=16, num_layers=2, num_heads=4, max_seq_len=max_seq_len)


# --------------------------------------------------------------- KVCache API
def test_buffers_are_preallocated_per_layer_with_the_book_shape():
    cache = KVCache(batch_size=2, max_seq_len=8, num_layers=3, num_heads=4, head_dim=5)
    assert cache.seq_pos == 0 and len(cache.caches) == 3
    for keys, values in cache.caches:
        assert keys.shape == values.shape == (2, 4, 8, 5)
        assert not keys.data.any() and not values.data.any()


def test_update_writes_at_seq_pos_and_get_returns_the_written_prefix():
    cache = KVCache(1, 6, 2, 2, 3)
    rng = np.random.default_rng(0)
    written = []
    for _ in range(3):
        ks = [rng.standard_normal((1, 2, 1, 3)).astype(np.float32) for _ in range(2)]
        for layer in range(2):
            cache.update(layer, Tensor(ks[layer]), Tensor(-ks[layer]))
        keys, values = cache.get(0)  # before advance: includes the position just written
        assert keys.shape == (1, 2, cache.seq_pos + 1, 3)
        written.append(ks[0])
        cache.advance()
    keys, values = cache.get(0)
    np.testing.assert_array_equal(keys.data, np.concatenate(written, axis=2))
    np.testing.assert_array_equal(values.data, -np.concatenate(written, axis=2))
    assert cache.seq_pos == 3


def test_forgetting_advance_overwrites_the_same_position():
    cache = KVCache(1, 4, 1, 1, 2)
    cache.update(0, np.ones((1, 1, 1, 2)), np.ones((1, 1, 1, 2)))
    cache.update(0, np.full((1, 1, 1, 2), 7.0), np.zeros((1, 1, 1, 2)))
    keys, _ = cache.get(0)
    np.testing.assert_array_equal(keys.data, [[[[7.0, 7.0]]]])


def test_reset_zeroes_the_buffers_and_rewinds():
    cache = KVCache(1, 4, 2, 1, 2)
    cache.update(1, np.ones((1, 1, 1, 2)), np.ones((1, 1, 1, 2)))
    cache.advance()
    cache.reset()
    assert cache.seq_pos == 0
    assert all(not k.data.any() and not v.data.any() for k, v in cache.caches)
    assert cache.get(1)[0].shape == (1, 1, 0, 2)


def test_update_errors_are_the_books_messages():
    cache = KVCache(1, 2, 2, 1, 2)
    kv = np.zeros((1, 1, 1, 2), np.float32)
    with pytest.raises(ValueError, match=r"^Layer index 2 >= num_layers 2$"):
        cache.update(2, kv, kv)
    cache.update(0, kv, kv)
    cache.advance()
    cache.advance()
    with pytest.raises(ValueError, match=r"^Sequence position 2 >= max_seq_len 2$"):
        cache.update(0, kv, kv)


def test_a_key_of_the_wrong_shape_is_an_error_naming_both_shapes():
    cache = KVCache(1, 128, 1, 8, 64)
    many = np.zeros((1, 8, 64, 64), np.float32)  # the book's mistake: a whole sequence
    with pytest.raises(ShapeError, match=r"\(1, 8, 64, 64\).*\(1, 8, 1, 64\)"):
        cache.update(0, many, many)
    assert isinstance(ShapeError("x"), ValueError)


def test_memory_usage_matches_the_books_formula():
    gpt2 = KVCache(batch_size=1, max_seq_len=1024, num_layers=12, num_heads=12, head_dim=64)
    assert gpt2.get_memory_usage()["total_bytes"] == 75_497_472  # "~75 MB"
    q1 = KVCache(batch_size=4, max_seq_len=1024, num_layers=12, num_heads=8, head_dim=64)
    assert q1.get_memory_usage()["total_bytes"] == 201_326_592
    assert q1.get_memory_usage()["total_mb"] == 192.0  # the book's "192 MB" (MiB)
    assert sum(a.nbytes + b.nbytes for a, b in q1._arrays) == 201_326_592


# ---------------------------------------------------------- enable / disable
def test_enable_sizes_the_cache_from_the_model_and_disable_removes_it():
    model = small_gpt()
    cache = enable_kv_cache(model)
    assert model._kv_cache is cache
    assert (cache.num_layers, cache.num_heads, cache.head_dim) == (2, 4, 4)
    assert cache.max_seq_len == model.max_seq_len and cache.batch_size == 1
    disable_kv_cache(model)
    assert model._kv_cache is None
    assert model.forward(np.array([[1, 2, 3]])).shape == (1, 3, 13)  # full forward again


def test_enabling_on_a_model_without_attention_is_a_clear_error():
    with pytest.raises(TypeError, match="Sequential has no attention layers"):
        enable_kv_cache(Sequential(Linear(4, 4), ReLU()))


# ------------------------------------------------------------- generation
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("seed", "prompt_len", "new"), [(0, 1, 12), (1, 5, 9), (2, 11, 14)])
def test_greedy_generation_is_token_identical_with_and_without_cache(
    backend, seed, prompt_len, new
):
    with tinytorch.backend(backend):
        model = small_gpt(seed)
        prompt = np.random.default_rng(seed).integers(0, 13, prompt_len)
        want = model.generate(prompt, max_new_tokens=new, temperature=0).data
        enable_kv_cache(model)
        got = model.generate(prompt, max_new_tokens=new, temperature=0).data
        again = model.generate(prompt, max_new_tokens=new, temperature=0).data  # reset works
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(again, want)
    assert got.shape == (prompt_len + new,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_and_sampled_generation_match_too(backend):
    with tinytorch.backend(backend):
        model = small_gpt(3)
        prompt = np.random.default_rng(3).integers(0, 13, (2, 4))
        np.random.seed(11)
        want = model.generate(prompt, max_new_tokens=8, temperature=0.8, top_k=5).data
        enable_kv_cache(model, batch_size=2)
        np.random.seed(11)
        got = model.generate(prompt, max_new_tokens=8, temperature=0.8, top_k=5).data
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_decode_is_one_compiled_plan_replayed_per_token(backend):
    with tinytorch.backend(backend):
        model = small_gpt(4)
        cache = enable_kv_cache(model)
        model.generate([1, 2, 3], max_new_tokens=4, temperature=0)  # compile what is needed
        misses = plan_cache.misses
        model.generate([4, 5, 6], max_new_tokens=15, temperature=0)
        assert plan_cache.misses == misses  # no new plan for any token
        (step,) = cache.decode_steps.values()
        assert step.trace_count == 1
        assert step.replay_count == 2 + 14  # every decode call but the first (the trace)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_books_manual_loop_gives_the_full_forwards_logits(backend):
    """``model.forward(prompt)`` then ``model.forward(token)``: each call returns the logits
    of its new positions, equal to the uncached forward over the whole sequence."""
    with tinytorch.backend(backend):
        model = small_gpt(5)
        tokens = np.array([[3, 1, 4, 1, 5, 9, 2, 6]])
        want = model.forward(tokens).data
        cache = enable_kv_cache(model)
        parts = [model.forward(tokens[:, :5]).data]
        parts += [model.forward(tokens[:, k : k + 1]).data for k in range(5, 8)]
        assert cache.seq_pos == 8
    np.testing.assert_allclose(np.concatenate(parts, axis=1), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_books_generate_with_max_length_counts_the_prompt(backend):
    """Module 17: ``cache = enable_kv_cache(model); model.generate(prompt, max_length=...)``
    (Hugging Face's meaning: the total length, prompt included)."""
    with tinytorch.backend(backend):
        model = small_gpt(3)
        prompt = Tensor(np.array([[4, 2, 7]]))
        want = model.generate(prompt, max_new_tokens=17, temperature=0).data
        cache = enable_kv_cache(model)
        output = model.generate(prompt, max_length=20, temperature=0)
        assert output.shape == (1, 20) and cache.seq_pos == 19
        np.testing.assert_array_equal(output.data, want)
        assert model.generate(prompt, max_length=3).shape == (1, 3)  # nothing to add
        with pytest.raises(ValueError, match="max_length=2 counts the prompt too"):
            model.generate(prompt, max_length=2)


def test_generating_past_the_position_table_is_a_clear_error():
    model = small_gpt(max_seq_len=10)
    enable_kv_cache(model)
    assert model.generate([1, 2, 3], max_new_tokens=8, temperature=0).shape == (11,)  # 10 fed
    with pytest.raises(ValueError, match="needs 11 positions.*hold 10"):
        model.generate([1, 2, 3], max_new_tokens=9, temperature=0)
    model._kv_cache.reset()
    model.forward(np.zeros((1, 9), np.int64))
    with pytest.raises(ValueError, match="Sequence position 10 >= max_seq_len 10"):
        model.forward(np.zeros((1, 2), np.int64))


def test_a_batch_the_cache_was_not_made_for_is_an_error():
    model = small_gpt()
    enable_kv_cache(model)
    with pytest.raises(ShapeError, match=r"batch_size 1.*\(2, 3\)"):
        model.generate(np.zeros((2, 3), np.int64), max_new_tokens=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_the_rewrite_pass_the_tokens_are_the_same(backend):
    """The cached attention as written (recompute K/V of every position from the stash) is
    correct on its own; the KV-cache rewrite pass only makes it cheaper."""
    from tinytorch.passes import KVCacheRewrite, default_pipeline

    with tinytorch.backend(backend):
        model = small_gpt(7)
        want = model.generate([2, 7, 1], max_new_tokens=10, temperature=0).data
        enable_kv_cache(model)
        tinytorch.set_pipeline([p for p in default_pipeline() if not isinstance(p, KVCacheRewrite)])
        got = model.generate([2, 7, 1], max_new_tokens=10, temperature=0).data
    np.testing.assert_array_equal(got, want)


def test_enabling_on_attention_that_is_not_a_gpt_says_so():
    from tinytorch.nn.attention import MultiHeadAttention

    with pytest.raises(TypeError, match="MultiHeadAttention has attention.*GPT models"):
        enable_kv_cache(MultiHeadAttention(8, 2))
    with pytest.raises(TypeError, match="int has no attention layers"):
        enable_kv_cache(3)
