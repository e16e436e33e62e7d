"""Memoization (book Module 17): the KV cache, which makes generation linear instead of
quadratic.

When a GPT writes token ``t``, attention needs the keys and values of tokens ``0..t``. Those
of ``0..t-1`` were computed at the previous steps and, under a causal mask, never change:
recomputing them is pure waste (``N(N+1)/2`` K/V computations for ``N`` tokens instead of
``N``). A :class:`KVCache` keeps them: per layer, a key and a value buffer of shape
``(batch_size, num_heads, max_seq_len, head_dim)``, allocated once, filled one position at
a time. Its memory is ``2 * num_layers * num_heads * max_seq_len * head_dim * 4 bytes *
batch_size`` (GPT-2 small, 1,024 positions: 75,497,472 bytes).

The book's protocol, eager and by hand::

    for layer in range(num_layers):
        cache.update(layer, k, v)     # (batch, heads, 1, head_dim), written at seq_pos
        keys, values = cache.get(layer)
    cache.advance()                   # seq_pos += 1, after every layer wrote

With a model (:func:`enable_kv_cache`) the same buffers are written by the graph itself,
with the effectful ``kv_cache_write`` IR op, and each decode step is one compiled plan
replayed per token (see :mod:`tinytorch.nn.kv_decode`). The attention layer writes its step
the simple way — append the new inputs to a per-layer stash, recompute K and V for every
position, store them — and the compiler's KV-cache rewrite pass
(:mod:`tinytorch.passes.kv_cache`) turns that into "compute this position's K and V, write
them, attend over the filled prefix". The stash costs half the K/V memory again
(``get_memory_usage()["stash_bytes"]``).

Choices where the book is silent ([AMBIG] in the spec):

* ``get(layer)`` returns every position written so far: ``[:, :, :seq_pos + 1]`` when
  ``layer`` was updated at the current ``seq_pos`` (before ``advance``), else
  ``[:, :, :seq_pos]`` — the prefix attention needs, as views of the buffers (O(1)).
* A prompt is prefilled in one pass (``model.forward(prompt)`` writes all its positions);
  ``update`` stays one position at a time, as in the book.
* A cache cannot scroll: generating past ``max_seq_len`` (the position table's length) is
  an error, not a sliding window.
* The cache is inference-only: cached forward passes run without autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.attention import MultiHeadAttention
from tinytorch.nn.module import Layer, _sublayers, positive_int
from tinytorch.nn.transformer import GPT

BYTES_PER_FLOAT = 4


class KVCache:
    """Pre-allocated key/value buffers for every layer, and the position to write next.

    ``caches[layer]`` is a ``(keys, values)`` pair of Tensors, each ``(batch_size,
    num_heads, max_seq_len, head_dim)`` float32, zero at first; ``seq_pos`` starts at 0.
    """

    def __init__(
        self, batch_size: int, max_seq_len: int, num_layers: int, num_heads: int, head_dim: int
    ) -> None:
        self.batch_size = positive_int(batch_size, "batch_size")
        self.max_seq_len = positive_int(max_seq_len, "max_seq_len")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.num_heads = positive_int(num_heads, "num_heads")
        self.head_dim = positive_int(head_dim, "head_dim")
        self.seq_pos = 0
        shape = (self.batch_size, self.num_heads, self.max_seq_len, self.head_dim)
        # The arrays are the buffers: Tensors wrap them without copying, graphs write into
        # them in place (kv_cache_write), and update() writes into them directly.
        self._arrays = [
            (np.zeros(shape, np.float32), np.zeros(shape, np.float32))
            for _ in range(self.num_layers)
        ]
        self.caches = [(Tensor._of_array(k), Tensor._of_array(v)) for k, v in self._arrays]
        # Each layer's inputs, for the graph a model's cached forward writes (it recomputes
        # K and V from them until the KV-cache rewrite pass makes it write only new rows).
        embed = self.num_heads * self.head_dim
        self._stash_arrays = [
            np.zeros((self.batch_size, 1, self.max_seq_len, embed), np.float32)
            for _ in range(self.num_layers)
        ]
        self.stashes = [Tensor._of_array(a) for a in self._stash_arrays]
        self._updated: set[int] = set()  # layers written at the current seq_pos
        self.decode_steps: dict[int, Any] = {}  # compiled decode steps, by model (kv_decode)

    # ------------------------------------------------------------ the book's API
    def update(self, layer_idx: int, key: Any, value: Any) -> None:
        """Write one position's ``key`` and ``value`` ``(batch, heads, 1, head_dim)`` for
        ``layer_idx`` at ``seq_pos`` (O(1); does not advance)."""
        if layer_idx >= self.num_layers:
            raise ValueError(f"Layer index {layer_idx} >= num_layers {self.num_layers}")
        if layer_idx < 0:
            raise ValueError(f"Layer index {layer_idx} < 0")
        if self.seq_pos >= self.max_seq_len:
            raise ValueError(f"Sequence position {self.seq_pos} >= max_seq_len {self.max_seq_len}")
        expected = (self.batch_size, self.num_heads, 1, self.head_dim)
        arrays = []
        for name, t in (("key", key), ("value", value)):
            array = np.asarray(t.data if isinstance(t, Tensor) else t)
            if array.shape != expected:
                raise ShapeError(
                    f"KVCache.update: {name} of shape {array.shape} does not fit one position "
                    f"of the cache: expected {expected} (batch, heads, 1, head_dim)"
                )
            arrays.append(array)
        key_cache, value_cache = self._arrays[layer_idx]
        key_cache[:, :, self.seq_pos : self.seq_pos + 1, :] = arrays[0]
        value_cache[:, :, self.seq_pos : self.seq_pos + 1, :] = arrays[1]
        self._updated.add(layer_idx)

    def get(self, layer_idx: int) -> tuple[Tensor, Tensor]:
        """The cached ``(keys, values)`` of ``layer_idx``: every position written so far,
        ``(batch, heads, filled, head_dim)``, as views of the buffers."""
        if not 0 <= layer_idx < self.num_layers:
            raise ValueError(f"Layer index {layer_idx} >= num_layers {self.num_layers}")
        filled = self.seq_pos + (1 if layer_idx in self._updated else 0)
        keys, values = self._arrays[layer_idx]
        return Tensor._of_array(keys[:, :, :filled]), Tensor._of_array(values[:, :, :filled])

    def advance(self) -> None:
        """Move to the next position (call once per token, after every layer's update)."""
        self.advance_by(1)

    def reset(self) -> None:
        """Start a new sequence: ``seq_pos = 0`` and every buffer zeroed (in place)."""
        self.seq_pos = 0
        self._updated.clear()
        for keys, values in self._arrays:
            keys.fill(0.0)
            values.fill(0.0)
        for stash in self._stash_arrays:
            stash.fill(0.0)

    def get_memory_usage(self) -> dict[str, float]:
        """Bytes and MB (2**20 bytes) the K/V buffers take: ``2 * L * H * S * D * 4 * B``
        (the book's formula), and separately the layer-input stashes a model's cached
        forward also keeps (``stash_bytes``: ``L * B * S * H * D * 4``, half as much again)."""
        per_layer = 2 * self.batch_size * self.num_heads * self.max_seq_len * self.head_dim
        per_layer *= BYTES_PER_FLOAT
        total = per_layer * self.num_layers
        return {
            "total_bytes": float(total),
            "total_mb": total / 2**20,
            "per_layer_bytes": float(per_layer),
            "per_layer_mb": per_layer / 2**20,
            "stash_bytes": float(sum(a.nbytes for a in self._stash_arrays)),
            "seq_pos": float(self.seq_pos),
            "utilization": self.seq_pos / self.max_seq_len,
        }

    # ------------------------------------------------ what the decoder needs
    def check_room(self, n: int) -> None:
        """Raise the book's ``ValueError`` unless ``n`` more positions fit."""
        if self.seq_pos + n > self.max_seq_len:
            last = self.seq_pos + n - 1
            raise ValueError(
                f"Sequence position {last} >= max_seq_len {self.max_seq_len} (writing {n} "
                f"position(s) at seq_pos {self.seq_pos}; reset() starts a new sequence)"
            )

    def advance_by(self, n: int) -> None:
        """``seq_pos += n`` (``n`` positions were written for every layer)."""
        self.check_room(n)
        self.seq_pos += n
        self._updated.clear()

    def __repr__(self) -> str:
        return (
            f"KVCache(batch_size={self.batch_size}, max_seq_len={self.max_seq_len}, "
            f"num_layers={self.num_layers}, num_heads={self.num_heads}, "
            f"head_dim={self.head_dim}, seq_pos={self.seq_pos})"
        )


def enable_kv_cache(model: Any, batch_size: int = 1) -> KVCache:
    """Give ``model`` (a :class:`~tinytorch.nn.transformer.GPT`) a KV cache sized from it
    and return it (also ``model._kv_cache``). From now on ``model.forward(tokens)`` treats
    ``tokens`` as the next positions of one sequence, and ``model.generate`` resets the
    cache, prefills the prompt and decodes through it. Weights are not touched."""
    if not isinstance(model, GPT):
        what = type(model).__name__
        layers = [model, *_sublayers(model)] if isinstance(model, Layer) else []
        if not any(isinstance(m, MultiHeadAttention) for m in layers):
            raise TypeError(
                f"enable_kv_cache: {what} has no attention layers (MultiHeadAttention): a KV "
                "cache memoizes attention's keys and values, so there is nothing to cache"
            )
        raise TypeError(
            f"enable_kv_cache: {what} has attention, but the KV cache knows how to decode "
            "GPT models (tinytorch.nn.transformer.GPT) only"
        )
    first = model.blocks[0].attention
    cache = KVCache(
        batch_size, model.max_seq_len, model.num_layers, first.num_heads, first.head_dim
    )
    model._kv_cache = cache
    return cache


def disable_kv_cache(model: Any) -> None:
    """Remove the KV cache: ``forward`` and ``generate`` recompute everything again."""
    if getattr(model, "_kv_cache", None) is not None:
        model._kv_cache = None
