"""Decoding a GPT through a KV cache: prefill once, then one compiled step per token.

Without a cache, every new token re-runs the model over the whole context, recomputing the
keys and values of every earlier position although they never change (causal attention:
position ``t``'s K and V depend only on tokens ``0..t``). With a cache (book Module 17,
:mod:`tinytorch.perf.memoization`), a forward pass over ``n`` new tokens at position ``pos``:

1. embeds only the new tokens (token table, and position rows ``pos..pos+n-1`` gathered by
   a *runtime* position, not a slice baked into the graph);
2. in every block, appends the new inputs to the layer's stash and writes K and V into the
   cache's buffers with ``kv_cache_write`` — an effectful IR op, in place, which no pass may
   drop, merge or reorder — then attends over the cache under a mask ``key <= pos + i``
   (the rows not written yet are hidden; the new positions stay causal among themselves).
   As written, K and V are recomputed for every position from the stash; the KV-cache
   rewrite pass (:mod:`tinytorch.passes.kv_cache`) makes the compiled graph compute and
   write only the new positions';
3. returns the new positions' logits.

**Prefill** runs this once over the whole prompt (``n = prompt length``, ``pos = 0``).
**Decode** runs it with ``n = 1``, through :func:`tinytorch.compile`: the graph is the same
for every token (the position and the token are runtime inputs), so it is traced once and
every later token replays the same compiled plan — no graph building, no passes, no plan
lookup per token.

The cache object is duck-typed (see :class:`tinytorch.perf.memoization.KVCache`):
``batch_size``, ``max_seq_len``, ``seq_pos``, ``caches[layer] = (keys, values)`` Tensors
of shape ``(batch, heads, max_seq_len, head_dim)``, ``stashes[layer]`` ``(batch, 1,
max_seq_len, embed_dim)`` (the layer's inputs), ``check_room(n)``, ``advance_by(n)``
and ``reset()``; this module keeps the compiled step in ``cache.decode_steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.compile import compile as compile_step
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError


def cached_logits(model: Any, cache: Any, tokens: Tensor, pos: Tensor) -> Tensor:
    """Logits ``(batch, n, vocab)`` for ``tokens`` ``(batch, n)`` at positions ``pos[0] ..
    pos[0] + n - 1``, writing their keys and values into ``cache`` (graph: nothing runs
    until the result is read)."""
    batch, n = tokens.shape
    x = model.token_embedding(tokens)  # (B, n, E)
    positions = pos + Tensor(np.arange(n, dtype=np.int64))  # (n,) runtime positions
    x = x + model.position_encoding.position_embeddings[positions]  # gather, (n, E)
    rows = cache.max_seq_len
    key_index = Tensor(np.arange(rows, dtype=np.int64).reshape(1, rows))
    visible = key_index <= positions.reshape(n, 1)  # (n, rows): key j seen by query i
    mask = visible.astype("float32").reshape(1, 1, n, rows)
    for layer, block in enumerate(model.blocks):
        keys, values = cache.caches[layer]
        x = block.forward_cached(x, keys, values, cache.stashes[layer], pos, mask)
    logits = model.lm_head(model.ln_f(x.reshape(batch * n, model.embed_dim)))
    return logits.reshape(batch, n, model.vocab_size)


def _decode_step(model: Any, cache: Any) -> Callable[[np.ndarray, np.ndarray], Tensor]:
    """The compiled one-token step for ``model`` (made once per model and cache)."""
    step = cache.decode_steps.get(id(model))
    if step is None or step.model is not model:

        def decode(tokens: Tensor, pos: Tensor) -> Tensor:
            return cached_logits(model, cache, tokens, pos)

        step = compile_step(decode, max_traces=4)
        step.model = model
        cache.decode_steps[id(model)] = step
    return step


def forward_with_cache(model: Any, cache: Any, tokens: Any) -> Tensor:
    """``model.forward(tokens)`` while a KV cache is enabled: ``tokens`` ``(batch, n)`` are
    the next ``n`` positions (a prompt, then one token at a time, as the book's loop does);
    returns their logits ``(batch, n, vocab)``, computed (the cache is written and advanced
    now). ``n == 1`` replays the compiled decode step."""
    ids = np.asarray(tokens.data if isinstance(tokens, Tensor) else tokens)
    if ids.ndim != 2 or ids.shape[1] == 0 or ids.dtype.kind not in "iu":
        raise ShapeError(
            f"GPT with KV cache: tokens must be a non-empty (batch, n) integer array, got "
            f"shape {ids.shape} dtype {ids.dtype}"
        )
    batch, n = ids.shape
    if batch != cache.batch_size:
        raise ShapeError(
            f"GPT with KV cache: the cache holds batch_size {cache.batch_size}, got tokens of "
            f"shape {ids.shape} (enable_kv_cache(model, batch_size={batch}))"
        )
    cache.check_room(n)
    ids = ids.astype(np.int64)
    pos = np.array([cache.seq_pos], dtype=np.int64)
    with no_grad():
        if n == 1:
            logits = _decode_step(model, cache)(ids, pos)
        else:
            logits = cached_logits(model, cache, Tensor(ids), Tensor(pos))
            logits.data  # noqa: B018  (compute now: the cache writes must happen before advancing)
    cache.advance_by(n)
    return logits


def generate_cached(
    model: Any,
    cache: Any,
    seq: np.ndarray,
    max_new_tokens: int,
    sample: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``seq`` ``(batch, prompt_len)`` extended by ``max_new_tokens`` tokens drawn by
    ``sample(last_logits)``: reset the cache, prefill the prompt in one pass, then one
    compiled decode step per new token."""
    needed = seq.shape[1] + max_new_tokens - 1  # the last new token is never fed back
    if max_new_tokens > 0 and needed > cache.max_seq_len:
        raise ValueError(
            f"generate: a prompt of {seq.shape[1]} tokens plus {max_new_tokens} new tokens "
            f"needs {needed} positions, but the KV cache and the position table hold "
            f"{cache.max_seq_len} (a cache cannot scroll old tokens out: shorten the "
            "prompt or max_new_tokens, or disable_kv_cache(model))"
        )
    cache.reset()
    if max_new_tokens == 0:
        return seq
    logits = forward_with_cache(model, cache, seq)
    for k in range(max_new_tokens):
        last = np.asarray(logits.data[:, -1, :], dtype=np.float64)
        nxt = sample(last)
        seq = np.concatenate([seq, nxt[:, None]], axis=1)
        if k + 1 < max_new_tokens:
            logits = forward_with_cache(model, cache, nxt[:, None])
    return seq
