"""Transformers (book Module 13): LayerNorm, the MLP, the pre-norm block and a GPT.

* :func:`create_causal_mask` — ``(1, S, S)`` lower-triangular 1/0: position ``i`` may attend
  to ``j <= i`` only, so a model trained to predict the next token cannot peek at it.
* :class:`LayerNorm` — each position's features normalised to mean 0, variance 1, then scaled
  and shifted by learned ``gamma``/``beta``.
* :class:`MLP` — ``Linear(E, 4E) -> GELU -> Linear(4E, E)`` (then dropout when training).
* :class:`TransformerBlock` — pre-norm: ``x + attention(ln1(x))``, then ``x + mlp(ln2(x))``.
* :class:`GPT` — token + learned position embeddings, ``num_layers`` blocks under a causal
  mask, a final LayerNorm and a projection to vocabulary logits; :meth:`GPT.generate`
  samples continuations.

Dropout: ``MLP`` and ``TransformerBlock`` take the book's ``dropout_prob`` (default 0.1) and
apply it, as GPT-2 does, to the MLP's output and to the attention output before each
residual add — only in training mode (``model.train()``); ``model.eval()`` turns it off.
The book's GPT signature has no dropout and its code applies none, so ``GPT`` defaults to
``dropout_prob=0.0`` (pass a value to get dropout in every block).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.activations import GELU
from tinytorch.nn.attention import MultiHeadAttention
from tinytorch.nn.embeddings import Embedding, PositionalEncoding
from tinytorch.nn.kv_decode import forward_with_cache, generate_cached
from tinytorch.nn.layers import Dropout, Linear
from tinytorch.nn.module import Layer, _sublayers, positive_int

LAYERNORM_EPS = 1e-5
MLP_EXPANSION = 4


def create_causal_mask(seq_len: int) -> Tensor:
    """``(1, seq_len, seq_len)`` float32: 1.0 on and below the diagonal (``j <= i``, may
    attend), 0.0 above it (the future, masked). For 4: ``[[1,0,0,0],[1,1,0,0],[1,1,1,0],
    [1,1,1,1]]``. The leading 1 broadcasts over the batch."""
    seq_len = positive_int(seq_len, "seq_len")
    mask = np.tril(np.ones((seq_len, seq_len), dtype=np.float32))
    return Tensor(mask[np.newaxis, :, :])


# ------------------------------------------------------------------ LayerNorm
class LayerNorm(Layer):
    """``(x - mean) / sqrt(var + eps) * gamma + beta`` over the last axis.

    ``mean`` and the biased (population) ``var`` are per position, over its
    ``normalized_shape`` features; ``eps = 1e-5`` sits inside the square root; ``gamma``
    starts at ones and ``beta`` at zeros, so a new LayerNorm only normalises.

    Unlike the book, the gradient flows through the variance too. The book builds
    ``std = Tensor(np.sqrt(variance.data + eps))``, a constant cut off from the graph, so its
    backward treats the spread as fixed and misses the term ``-xhat * mean(g * xhat)`` of
    the true gradient. Here ``std`` is graph like everything else, so ``backward()`` gives the
    exact derivative (checked against finite differences), as PyTorch's LayerNorm does.
    On llvm the whole forward — two row reductions, the normalisation and the affine map —
    compiles to one kernel.
    """

    def __init__(self, normalized_shape: int | tuple[int], eps: float = LAYERNORM_EPS) -> None:
        if isinstance(normalized_shape, (tuple, list)) and len(normalized_shape) == 1:
            normalized_shape = normalized_shape[0]
        self.normalized_shape = positive_int(normalized_shape, "normalized_shape")
        if not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        self.gamma = Tensor(np.ones(self.normalized_shape, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(self.normalized_shape, dtype=np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm: last dimension of input {x.shape} must be normalized_shape "
                f"{self.normalized_shape}"
            )
        mean = x.mean(axis=-1, keepdims=True)
        diff = x - mean
        variance = (diff * diff).mean(axis=-1, keepdims=True)
        normalized = diff / (variance + self.eps).sqrt()
        return normalized * self.gamma + self.beta

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


# ------------------------------------------------------------------------ MLP
def _rows(x: Tensor) -> Tensor:
    """``(..., E)`` as ``(rows, E)``, so a Linear is one 2-D GEMM (no batched matmul)."""
    return x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x


class MLP(Layer):
    """The position-wise feed-forward network: ``linear2(gelu(linear1(x)))``, then dropout.

    ``hidden_dim`` defaults to ``4 * embed_dim``. Parameters: ``linear1`` (E x H, H) and
    ``linear2`` (H x E, E): 2,099,712 for E = 512. Any leading shape ``(..., E)`` works.
    """

    def __init__(
        self, embed_dim: int, hidden_dim: int | None = None, dropout_prob: float = 0.1
    ) -> None:
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        hidden = MLP_EXPANSION * self.embed_dim if hidden_dim is None else hidden_dim
        self.hidden_dim = positive_int(hidden, "hidden_dim")
        self.linear1 = Linear(self.embed_dim, self.hidden_dim)
        self.gelu = GELU()
        self.linear2 = Linear(self.hidden_dim, self.embed_dim)
        self.dropout = Dropout(dropout_prob)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.embed_dim:
            raise ShapeError(f"MLP: expected input of shape (..., {self.embed_dim}), got {x.shape}")
        hidden = self.gelu(self.linear1(_rows(x)))
        return self.dropout(self.linear2(hidden)).reshape(x.shape)

    def __repr__(self) -> str:
        return f"MLP(embed_dim={self.embed_dim}, hidden_dim={self.hidden_dim})"


# ----------------------------------------------------------- TransformerBlock
class TransformerBlock(Layer):
    """Pre-norm block: ``x = x + dropout(attention(ln1(x), mask))``; ``x + mlp(ln2(x))``.

    Normalising *before* each sub-layer keeps the residual path an identity, which is what
    lets deep stacks train without warm-up tricks. Shape preserving: ``(B, S, E)``.
    Attributes: ``attention`` (:class:`MultiHeadAttention`), ``ln1``, ``ln2``
    (:class:`LayerNorm`), ``mlp`` (:class:`MLP` with ``int(embed_dim * mlp_ratio)`` hidden).
    """

    def __init__(
        self, embed_dim: int, num_heads: int, mlp_ratio: float = 4, dropout_prob: float = 0.1
    ) -> None:
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.attention = MultiHeadAttention(self.embed_dim, num_heads)
        self.ln1 = LayerNorm(self.embed_dim)
        self.ln2 = LayerNorm(self.embed_dim)
        self.mlp = MLP(self.embed_dim, int(self.embed_dim * mlp_ratio), dropout_prob)
        self.dropout = Dropout(dropout_prob)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ShapeError(
                f"TransformerBlock: expected input of shape (batch, seq, {self.embed_dim}), "
                f"got {x.shape}"
            )
        # The norms read ``x`` as rows (batch*seq, E): the projections after them are 2-D
        # GEMMs on rows too, so the reshapes cancel and each LayerNorm stays one kernel.
        batch, seq_len, embed = x.shape
        normed = self.ln1(x.reshape(batch * seq_len, embed)).reshape(batch, seq_len, embed)
        x = x + self.dropout(self.attention(normed, mask))
        update = self.mlp(self.ln2(x.reshape(batch * seq_len, embed)))
        return x + update.reshape(batch, seq_len, embed)

    def forward_cached(
        self,
        x: Tensor,
        key_cache: Tensor,
        value_cache: Tensor,
        stash: Tensor,
        pos: Tensor,
        mask: Tensor,
    ) -> Tensor:
        """:meth:`forward` for new positions only, attending through a KV cache (see
        :meth:`MultiHeadAttention.forward_cached`). Inference only: no dropout."""
        batch, seq_len, embed = x.shape
        normed = self.ln1(x.reshape(batch * seq_len, embed)).reshape(batch, seq_len, embed)
        x = x + self.attention.forward_cached(normed, key_cache, value_cache, stash, pos, mask)
        update = self.mlp.linear2(self.mlp.gelu(self.mlp.linear1(self.ln2(
            x.reshape(batch * seq_len, embed)))))  # fmt: skip
        return x + update.reshape(batch, seq_len, embed)

    def __repr__(self) -> str:
        return f"TransformerBlock(embed_dim={self.embed_dim}, num_heads={self.attention.num_heads})"


# ------------------------------------------------------------------------ GPT
class GPT(Layer):
    """A decoder-only transformer language model.

    ``forward(tokens)``: integer ids ``(batch, seq)`` (or ``(seq,)``) to logits ``(batch, seq,
    vocab_size)`` (or ``(seq, vocab_size)``); position ``t``'s logits predict token ``t+1`` and
    depend only on tokens ``0..t`` (a causal mask is applied inside). ``seq`` may not
    exceed ``max_seq_len`` (the learned position table's length).

    Layout: ``token_embedding`` (:class:`Embedding`), ``position_encoding`` (learned
    :class:`PositionalEncoding`), ``blocks`` (a list of ``num_layers``
    :class:`TransformerBlock`), ``ln_f`` (the final :class:`LayerNorm`) and ``lm_head``
    (``Linear(embed_dim, vocab_size)``, not tied to the token embedding: the book leaves
    tying open).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        num_layers: int,
        num_heads: int,
        max_seq_len: int = 1024,
        dropout_prob: float = 0.0,
    ) -> None:
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.num_layers = positive_int(num_layers, "num_layers")
        self.num_heads = positive_int(num_heads, "num_heads")
        self.max_seq_len = positive_int(max_seq_len, "max_seq_len")
        self.token_embedding = Embedding(self.vocab_size, self.embed_dim)
        self.position_encoding = PositionalEncoding(self.max_seq_len, self.embed_dim)
        self.blocks = [
            TransformerBlock(self.embed_dim, self.num_heads, dropout_prob=dropout_prob)
            for _ in range(self.num_layers)
        ]
        self.ln_f = LayerNorm(self.embed_dim)
        self.lm_head = Linear(self.embed_dim, self.vocab_size)

    def _create_causal_mask(self, seq_len: int) -> Tensor:
        """The book's internal name for :func:`create_causal_mask`."""
        return create_causal_mask(seq_len)

    def forward(self, tokens: Any) -> Tensor:
        cache = getattr(self, "_kv_cache", None)
        if cache is not None:  # enable_kv_cache(model): the next positions, through the cache
            ids = np.asarray(tokens.data if isinstance(tokens, Tensor) else tokens)
            if ids.ndim == 1:
                return forward_with_cache(self, cache, ids[None, :]).reshape(-1, self.vocab_size)
            return forward_with_cache(self, cache, ids)
        if not isinstance(tokens, Tensor):
            tokens = Tensor(np.asarray(tokens))
        if tokens.ndim == 1:
            return self.forward(tokens.reshape(1, -1)).reshape(-1, self.vocab_size)
        if tokens.ndim != 2:
            raise ShapeError(
                f"GPT: tokens must be (batch, seq) integer ids, got shape {tokens.shape}"
            )
        batch, seq_len = tokens.shape
        x = self.position_encoding(self.token_embedding(tokens))
        mask = self._create_causal_mask(seq_len)
        for block in self.blocks:
            x = block(x, mask)
        logits = self.lm_head(self.ln_f(x.reshape(batch * seq_len, self.embed_dim)))
        return logits.reshape(batch, seq_len, self.vocab_size)

    def generate(
        self,
        prompt_tokens: Any,
        max_new_tokens: int = 50,
        temperature: float = 1.0,
        top_k: int | None = None,
        max_length: int | None = None,
    ) -> Tensor:
        """Extend ``prompt_tokens`` by ``max_new_tokens`` tokens, one at a time.

        ``max_length`` is the other form the book uses (Module 17:
        ``model.generate(prompt, max_length=100)``): the total length, prompt included, as
        in Hugging Face's ``generate``. When given it decides, ``max_new_tokens = max_length
        - prompt_len``; a prompt longer than ``max_length`` is an error.

        Returns an int64 Tensor holding the prompt **followed by** the new tokens:
        ``(batch, prompt_len + max_new_tokens)`` for a ``(batch, prompt_len)`` prompt, or
        ``(prompt_len + max_new_tokens,)`` for a 1-D prompt. (Slice off the prompt to get only
        the continuation.)

        Each step reads the logits at the last position, divides them by ``temperature``
        (below 1: sharper, above 1: flatter), keeps the ``top_k`` largest if given, and draws
        from their softmax with NumPy's global RNG (``np.random.seed`` reproduces a run).
        ``temperature=0`` is greedy: always the most likely token, deterministic.

        With a KV cache enabled (``tinytorch.perf.memoization.enable_kv_cache(model)``) the
        cache is reset, the prompt is run once (prefill), and each new token is one replay
        of a compiled decode step that computes only that position's keys and values (see
        :mod:`tinytorch.nn.kv_decode`); the tokens are the same as without it. A cache
        cannot scroll: ``prompt_len + max_new_tokens - 1`` must fit ``max_seq_len``.

        Without a cache it re-runs the whole sequence every step, as the book's does. Two
        details keep that cheap and correct: the context is the last ``max_seq_len`` tokens
        (older ones scroll out of the window), and it is padded on the right with token 0 to
        one fixed length, so every step is the same graph and reuses one compiled plan —
        causal masking guarantees the padding never changes the logits that are read.

        Runs under ``no_grad()`` in eval mode (dropout off); every layer's previous mode is
        restored afterwards.
        """
        max_new_tokens = int(max_new_tokens)
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        if not isinstance(temperature, numbers.Real) or temperature < 0:
            raise ValueError(f"generate: temperature must be a number >= 0, got {temperature!r}")
        if top_k is not None:
            top_k = positive_int(top_k, "top_k")
        prompt = prompt_tokens.data if isinstance(prompt_tokens, Tensor) else prompt_tokens
        prompt = np.asarray(prompt)
        if prompt.dtype.kind not in "iuf" or prompt.ndim not in (1, 2) or prompt.shape[-1] == 0:
            raise ValueError(
                "generate: prompt_tokens must be a non-empty (seq,) or (batch, seq) array of "
                f"token ids, got shape {prompt.shape} dtype {prompt.dtype}"
            )
        squeeze = prompt.ndim == 1
        seq = np.atleast_2d(prompt).astype(np.int64)
        if max_length is not None:
            max_length = positive_int(max_length, "max_length")
            if max_length < seq.shape[1]:
                raise ValueError(
                    f"generate: max_length={max_length} counts the prompt too, which already "
                    f"has {seq.shape[1]} tokens (use max_new_tokens to add tokens to it)"
                )
            max_new_tokens = max_length - seq.shape[1]
        modes = [(layer, layer.training) for layer in (self, *_sublayers(self))]
        window = min(self.max_seq_len, seq.shape[1] + max_new_tokens - 1)
        self.eval()
        try:
            cache = getattr(self, "_kv_cache", None)
            if cache is not None:
                seq = generate_cached(
                    self,
                    cache,
                    seq,
                    max_new_tokens,
                    lambda z: _sample(z, float(temperature), top_k),
                )
            with no_grad():
                for _ in range(max_new_tokens if cache is None else 0):
                    logits = self._last_logits(seq, window)
                    nxt = _sample(logits, float(temperature), top_k)
                    seq = np.concatenate([seq, nxt[:, None]], axis=1)
        finally:
            for layer, mode in modes:
                layer.training = mode
        return Tensor(seq[0] if squeeze else seq)

    def _last_logits(self, seq: np.ndarray, window: int) -> np.ndarray:
        """Logits ``(batch, vocab)`` after the last token of ``seq``, through the last
        ``window`` tokens, right-padded to exactly ``window``."""
        context = seq[:, -window:]
        used = context.shape[1]
        if used < window:
            context = np.pad(context, ((0, 0), (0, window - used)))
        # The row is picked in NumPy: a slice node at ``used - 1`` in the graph would make
        # every step a different graph (a plan compiled per token) instead of one replayed.
        logits = self.forward(Tensor(context)).data
        return np.asarray(logits[:, used - 1, :], dtype=np.float64)

    def __repr__(self) -> str:
        return (
            f"GPT(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, "
            f"num_layers={self.num_layers}, num_heads={self.num_heads}, "
            f"max_seq_len={self.max_seq_len})"
        )


def _sample(logits: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """One token id per row of ``logits`` (batch, vocab): argmax when ``temperature`` is 0,
    else a draw from ``softmax(logits / temperature)`` restricted to the ``top_k`` best."""
    if temperature == 0:
        return logits.argmax(axis=-1)
    scaled = logits / temperature
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = np.sort(scaled, axis=-1)[:, -top_k][:, None]
        scaled = np.where(scaled < kth, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    return np.array([np.random.choice(len(p), p=p) for p in probs], dtype=np.int64)
