"""Attention (book Module 12): every position looks at every other and takes a weighted
average of what it finds.

``scaled_dot_product_attention(Q, K, V, mask)`` is the whole idea in four lines:

    scores  = Q @ K^T / sqrt(d_k)               (batch..., queries, keys)
    scores += (1 - mask) * -1e9                 mask: 1.0 = may attend, 0.0 = masked
    weights = softmax(scores, over the keys)    each row sums to 1
    output  = weights @ V

The ``1/sqrt(d_k)`` keeps the dot products' spread independent of the width, so softmax
does not saturate. Masking is additive with a large finite value (``MASK_VALUE = -1e9``, the
book's choice, not ``-inf``): ``exp(-1e9 - max)`` is exactly 0 in float32, and a fully
masked row stays finite (uniform) instead of becoming NaN.

Nothing here computes: it is graph. After fusion the two matmuls run on BLAS, and the
scale, the mask and the whole softmax (max, exp, sum, divide) are **one** kernel on llvm.

:class:`MultiHeadAttention` projects ``x`` to ``Q``, ``K``, ``V`` with ``Linear(E, E)``
layers, splits the width into ``num_heads`` heads of ``head_dim = E // num_heads``
(``(B, S, E) -> (B, H, S, head_dim)``), attends in every head at once (so the scale is
``1/sqrt(head_dim)``), joins the heads back and projects with ``out_proj``.
"""

from __future__ import annotations

import math
from typing import Any

from tinytorch.frontend import functional as F
from tinytorch.frontend.cache_ops import first_row, kv_cache_write
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.shapes import broadcast_shapes
from tinytorch.nn.layers import Linear
from tinytorch.nn.module import Layer, positive_int

MASK_VALUE = -1e9  # added to the scores of masked positions (the book's constant)


def _as_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a Tensor, got {type(x).__name__}") from exc


def _fits(mask_shape: tuple[int, ...], scores_shape: tuple[int, ...]) -> bool:
    try:
        return broadcast_shapes(mask_shape, scores_shape) == scores_shape
    except ValueError:
        return False


def scaled_dot_product_attention(
    Q: Tensor, K: Tensor, V: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """``(output, attention_weights)`` for queries ``Q (..., Sq, d)``, keys ``K (..., Sk, d)``
    and values ``V (..., Sk, dv)``; leading (batch, head) dimensions broadcast.

    ``output`` has shape ``(..., Sq, dv)``; ``attention_weights`` ``(..., Sq, Sk)``, each row a
    probability distribution over the keys. ``mask`` (optional) holds 1.0 where a query may
    attend to a key and 0.0 where it may not, and must broadcast to ``(..., Sq, Sk)``
    (``(Sq, Sk)``, ``(B, Sq, Sk)``, ``(B, 1, Sq, Sk)``...); otherwise a ``ShapeError`` (a
    ``ValueError``) names both shapes. Mismatched widths raise the matmul's error.
    """
    Q, K, V = (_as_tensor(t, name) for t, name in ((Q, "Q"), (K, "K"), (V, "V")))
    for name, t in (("Q", Q), ("K", K), ("V", V)):
        if t.ndim < 2:
            raise ShapeError(
                f"scaled_dot_product_attention: {name} must be at least 2-D "
                f"(..., seq_len, dim), got shape {t.shape}"
            )
    d_k = Q.shape[-1]
    scores = Q.matmul(K.transpose(-2, -1)) * (1.0 / math.sqrt(d_k))
    if mask is not None:
        mask = _as_tensor(mask, "mask")
        if not _fits(mask.shape, scores.shape):
            raise ShapeError(
                f"scaled_dot_product_attention: mask of shape {mask.shape} does not broadcast "
                f"to the attention scores of shape {scores.shape} (..., queries, keys); "
                f"Q {Q.shape}, K {K.shape}"
            )
        scores = scores + (1.0 - mask) * MASK_VALUE
    weights = F.softmax(scores, -1)
    return weights.matmul(V), weights


class MultiHeadAttention(Layer):
    """Self-attention with ``num_heads`` heads: ``(B, S, E) -> (B, S, E)``.

    Attributes (the book's): ``embed_dim``, ``num_heads``, ``head_dim``, and the four
    projections ``q_proj``, ``k_proj``, ``v_proj``, ``out_proj`` (each ``Linear(E, E)``, so
    ``4 * (E*E + E)`` parameters: 1,050,624 for E = 512, however many heads).

    ``forward(x, mask=None)``: ``mask`` is 0/1 of shape ``(S, S)``, ``(1, S, S)`` (one mask
    for the batch, as :func:`~tinytorch.nn.transformer.create_causal_mask` makes) or
    ``(B, S, S)`` (one per sequence); it is reshaped to ``(B|1, 1, S, S)`` so every head uses
    it. A 4-D mask that already broadcasts to ``(B, H, S, S)`` is used as is. Anything else
    raises a ``ShapeError`` naming the mask's and the input's shapes.
    """

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        embed_dim = positive_int(embed_dim, "embed_dim")
        num_heads = positive_int(num_heads, "num_heads")
        if embed_dim % num_heads != 0:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = Linear(embed_dim, embed_dim)
        self.k_proj = Linear(embed_dim, embed_dim)
        self.v_proj = Linear(embed_dim, embed_dim)
        self.out_proj = Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = _as_tensor(x, "MultiHeadAttention input")
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"MultiHeadAttention: expected input of shape (batch, seq, {self.embed_dim}), "
                f"got {x.shape}"
            )
        batch, seq_len, _ = x.shape
        heads = self._heads_mask(mask, x.shape)
        rows = x.reshape(batch * seq_len, self.embed_dim)  # 2-D: each projection is one GEMM

        def split(proj: Linear) -> Tensor:
            y = proj(rows).reshape(batch, seq_len, self.num_heads, self.head_dim)
            return y.transpose(1, 2)  # (batch, heads, seq, head_dim)

        attended, _ = scaled_dot_product_attention(
            split(self.q_proj), split(self.k_proj), split(self.v_proj), mask=heads
        )
        joined = attended.transpose(1, 2).reshape(batch * seq_len, self.embed_dim)
        return self.out_proj(joined).reshape(batch, seq_len, self.embed_dim)

    def forward_cached(
        self,
        x: Tensor,
        key_cache: Tensor,
        value_cache: Tensor,
        stash: Tensor,
        pos: Tensor,
        mask: Tensor,
    ) -> Tensor:
        """Attention for ``n`` new positions ``pos .. pos + n - 1`` (``x``: ``(B, n, E)``)
        through a KV cache (book Module 17).

        Written the simple way: the new inputs are appended to ``stash`` (``(B, 1,
        max_seq_len, E)``, every input this layer has seen), K and V are recomputed for
        **every** position from it and stored in ``key_cache``/``value_cache`` (``(B, H,
        max_seq_len, head_dim)``) marked ``memoized``; the new queries attend over the cache
        under ``mask`` ``(1, 1, n, max_seq_len)`` (1.0 = attend: rows not written yet are
        hidden, new positions stay causal). The KV-cache rewrite pass
        (:mod:`tinytorch.passes.kv_cache`) then turns the recomputation into "compute the
        new rows' K and V, write them": the compiled step projects ``n`` rows, not
        ``max_seq_len`` (without the pass the result is the same, only slower).
        """
        batch, seq_len, _ = x.shape
        rows = stash.shape[2]

        def split(proj: Linear, inputs: Tensor, n: int) -> Tensor:
            y = proj(inputs).reshape(batch, n, self.num_heads, self.head_dim)
            return y.transpose(1, 2)  # (batch, heads, n, head_dim)

        queries = split(self.q_proj, x.reshape(batch * seq_len, self.embed_dim), seq_len)
        seen = kv_cache_write(stash, x.reshape(batch, 1, seq_len, self.embed_dim), pos)
        seen = seen.reshape(batch * rows, self.embed_dim)  # every input so far, as rows
        start = first_row()
        keys = kv_cache_write(key_cache, split(self.k_proj, seen, rows), start, memoized=True)
        values = kv_cache_write(value_cache, split(self.v_proj, seen, rows), start, memoized=True)
        attended, _ = scaled_dot_product_attention(queries, keys, values, mask=mask)
        joined = attended.transpose(1, 2).reshape(batch * seq_len, self.embed_dim)
        return self.out_proj(joined).reshape(batch, seq_len, self.embed_dim)

    def _heads_mask(self, mask: Any, x_shape: tuple[int, ...]) -> Tensor | None:
        """The mask as ``(B|1, 1, S, S)`` (or a given 4-D mask), checked against ``x``."""
        if mask is None:
            return None
        mask = _as_tensor(mask, "mask")
        batch, seq_len, _ = x_shape
        scores = (batch, self.num_heads, seq_len, seq_len)
        if mask.ndim == 2 and mask.shape == (seq_len, seq_len):
            return mask.reshape(1, 1, seq_len, seq_len)
        if mask.ndim == 3 and mask.shape[0] in (1, batch) and mask.shape[1:] == scores[2:]:
            return mask.reshape(mask.shape[0], 1, seq_len, seq_len)
        if mask.ndim == 4 and _fits(mask.shape, scores):
            return mask
        raise ShapeError(
            f"MultiHeadAttention: mask of shape {mask.shape} does not fit input {x_shape}: "
            f"expected ({seq_len}, {seq_len}), (1, {seq_len}, {seq_len}) or "
            f"({batch}, {seq_len}, {seq_len}) (1.0 = attend, 0.0 = masked)"
        )

    def __repr__(self) -> str:
        return f"MultiHeadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"
