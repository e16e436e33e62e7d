"""Embeddings (book Module 11): token ids become vectors, and positions become vectors too.

* :class:`Embedding` is a lookup table ``weight`` of shape ``(vocab_size, embed_dim)``:
  ``embed(ids)`` is ``weight[ids]``, a ``gather`` node in the IR (shape ``ids.shape +
  (embed_dim,)``). Its gradient is the IR's ``scatter_add``: the row of each id receives
  that position's gradient, repeated ids accumulate, and rows no id touched get exactly
  zero (the book's ``EmbeddingBackward``; tokens ``[5, 10, 10, 5]`` update rows 5 and 10).
* :class:`PositionalEncoding` is a *learned* table ``position_embeddings`` of shape
  ``(max_seq_len, embed_dim)``; ``x + position_embeddings[:seq_len]`` broadcasts it over the
  batch, and the slice keeps the gradient flowing into the rows that were used.
* :func:`create_sinusoidal_embeddings` is the fixed alternative of "Attention Is All You
  Need": ``PE[pos, 2i] = sin(pos / 10000^(2i/D))``, ``PE[pos, 2i+1] = cos(...)``.
* :class:`EmbeddingLayer` puts the two together: token embedding (optionally scaled by
  ``sqrt(embed_dim)``) plus learned, sinusoidal or no positions.

Bad input raises ``ValueError`` with the book's messages, when the layer is called:
an id outside ``0..vocab_size-1`` (:class:`EmbeddingIndexError`, also an ``IndexError``),
a sequence longer than the learned table, a wrong embedding width, a non-3-D input to the
positional encoding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.frontend import tracing
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.nn.module import Layer, positive_int

SINUSOID_BASE = 10000.0
POSITION_ENCODINGS = ("learned", "sinusoidal", None)


class EmbeddingIndexError(ShapeError, IndexError):
    """A token id outside the embedding table. A ``ValueError`` as the book raises it, and
    an ``IndexError`` as NumPy's fancy indexing would."""


def _as_ids(indices: Any) -> Tensor:
    """Token ids as an integer tensor (floats are truncated, as the book's ``astype(int)``)."""
    if not isinstance(indices, Tensor):
        indices = Tensor(np.asarray(indices))
    kind = indices.dtype.kind
    if kind == "f":
        return indices.astype("int64")
    if kind not in "iu":
        raise DTypeError(f"Embedding: token ids must be integers, got dtype {indices.dtype}")
    return indices


def check_ids(ids: Tensor, vocab_size: int, embed_dim: int) -> None:
    """Raise :class:`EmbeddingIndexError` unless every id is in ``0..vocab_size-1``.

    Ids are data, not something a gradient flows through, so reading them to validate does
    not change the graph (under ``tinytorch.compile`` the check runs when the step is traced).
    """
    with tracing.internal_read():
        values = np.asarray(ids.data)
    if values.size == 0:
        return
    lo, hi = values.min(), values.max()
    if lo < 0 or hi >= vocab_size:
        bad = values[(values < 0) | (values >= vocab_size)].flat[0]
        raise EmbeddingIndexError(
            f"Index out of range. Expected 0 <= indices < {vocab_size}, got min={lo}, max={hi} "
            f"(Embedding: token id {bad} is not a row of the {vocab_size} x {embed_dim} table)"
        )


# ------------------------------------------------------------------ Embedding
class Embedding(Layer):
    """A learnable lookup table: ``Embedding(vocab_size, embed_dim)(ids)`` has shape
    ``ids.shape + (embed_dim,)``; any shape of ids works (``(3,)``, ``(batch, seq)``...).

    ``weight`` starts Xavier-uniform, ``U(-sqrt(6/(V+D)), +sqrt(6/(V+D)))`` (the book's
    init, drawn from NumPy's global RNG). ``parameters()`` is ``[weight]``.

    ``dim`` is accepted as another name for ``embed_dim``: the book's API names it
    ``embed_dim``, but its module 10 preview writes ``Embedding(vocab_size=1000, dim=128)``,
    and both should run. Giving both (or neither) is a ``TypeError``.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int | None = None, *, dim: int | None = None
    ) -> None:
        if (embed_dim is None) == (dim is None):
            raise TypeError(
                "Embedding: give the width as embed_dim (or its alias dim), exactly once; "
                f"got embed_dim={embed_dim!r}, dim={dim!r}"
            )
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.embed_dim = positive_int(embed_dim if dim is None else dim, "embed_dim")
        limit = math.sqrt(6.0 / (self.vocab_size + self.embed_dim))
        table = np.random.uniform(-limit, limit, (self.vocab_size, self.embed_dim))
        self.weight = Tensor(table.astype(np.float32), requires_grad=True)

    def forward(self, indices: Any) -> Tensor:
        ids = _as_ids(indices)
        check_ids(ids, self.vocab_size, self.embed_dim)
        return self.weight[ids]  # a gather node; its VJP is scatter_add (EmbeddingBackward)

    def __repr__(self) -> str:
        return f"Embedding(vocab_size={self.vocab_size}, embed_dim={self.embed_dim})"


# -------------------------------------------------------- PositionalEncoding
def _check_3d(x: Tensor, embed_dim: int) -> tuple[int, int, int]:
    if x.ndim != 3:
        raise ShapeError(f"Expected 3D input (batch, seq, embed), got shape {x.shape}")
    batch, seq_len, dim = x.shape
    if dim != embed_dim:
        raise ShapeError(f"Embedding dimension mismatch: expected {embed_dim}, got {dim}")
    return batch, seq_len, dim


class PositionalEncoding(Layer):
    """Learned positions: ``forward(x)`` is ``x + position_embeddings[:seq_len]`` for ``x``
    of shape ``(batch, seq_len, embed_dim)``.

    The table starts uniform in ``±sqrt(2/embed_dim)``, smaller than the token table
    "since these are additive". A learned table has no row past ``max_seq_len``: longer
    sequences are an error (sinusoidal positions have no such limit).
    """

    def __init__(self, max_seq_len: int, embed_dim: int) -> None:
        self.max_seq_len = positive_int(max_seq_len, "max_seq_len")
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        limit = math.sqrt(2.0 / self.embed_dim)
        table = np.random.uniform(-limit, limit, (self.max_seq_len, self.embed_dim))
        self.position_embeddings = Tensor(table.astype(np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        _, seq_len, _ = _check_3d(x, self.embed_dim)
        if seq_len > self.max_seq_len:
            raise ShapeError(f"Sequence length {seq_len} exceeds maximum {self.max_seq_len}")
        return x + self.position_embeddings[:seq_len]  # (seq, D) broadcasts over the batch

    def __repr__(self) -> str:
        return f"PositionalEncoding(max_seq_len={self.max_seq_len}, embed_dim={self.embed_dim})"


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """The fixed ``(max_seq_len, embed_dim)`` float32 table of sines and cosines.

    ``PE[pos, 2i] = sin(pos * w_i)`` and ``PE[pos, 2i+1] = cos(pos * w_i)`` with
    ``w_i = 10000^(-2i/embed_dim)``: dimension 0 turns once per ~6 positions, the last ones
    almost never, so every position gets a distinct code. Row 0 is ``[0, 1, 0, 1, ...]``.
    No parameters (the tensor does not require grad). An odd ``embed_dim`` ends with a sine.
    """
    max_seq_len = positive_int(max_seq_len, "max_seq_len")
    embed_dim = positive_int(embed_dim, "embed_dim")
    position = np.arange(max_seq_len, dtype=np.float32)[:, np.newaxis]
    exponent = np.arange(0, embed_dim, 2, dtype=np.float32) * -(math.log(SINUSOID_BASE) / embed_dim)
    div_term = np.exp(exponent)
    pe = np.zeros((max_seq_len, embed_dim), dtype=np.float32)
    pe[:, 0::2] = np.sin(position * div_term)
    pe[:, 1::2] = np.cos(position * div_term[: embed_dim // 2])
    return Tensor(pe)


# ------------------------------------------------------------ EmbeddingLayer
class EmbeddingLayer(Layer):
    """Tokens ``(batch, seq)`` to vectors ``(batch, seq, embed_dim)``: token embedding plus
    position.

    ``pos_encoding``: ``'learned'`` (a :class:`PositionalEncoding` of ``max_seq_len`` rows),
    ``'sinusoidal'`` (:func:`create_sinusoidal_embeddings`, no parameters; a sequence longer
    than ``max_seq_len`` gets a longer table made on the fly, as the book says sinusoids
    "have no length limit") or ``None`` (token embeddings only, any ids shape).
    ``scale_embeddings=True`` multiplies the token embeddings by ``sqrt(embed_dim)`` (as in
    "Attention Is All You Need") before positions are added.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        max_seq_len: int = 512,
        pos_encoding: str | None = "learned",
        scale_embeddings: bool = False,
    ) -> None:
        if pos_encoding not in POSITION_ENCODINGS:
            raise ValueError(
                f"pos_encoding must be 'learned', 'sinusoidal' or None, got {pos_encoding!r}"
            )
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.max_seq_len = positive_int(max_seq_len, "max_seq_len")
        self.pos_encoding_type = pos_encoding
        self.scale_embeddings = bool(scale_embeddings)
        self.token_embedding = Embedding(self.vocab_size, self.embed_dim)
        self.pos_encoding: PositionalEncoding | Tensor | None = None
        if pos_encoding == "learned":
            self.pos_encoding = PositionalEncoding(self.max_seq_len, self.embed_dim)
        elif pos_encoding == "sinusoidal":
            self.pos_encoding = create_sinusoidal_embeddings(self.max_seq_len, self.embed_dim)

    def forward(self, tokens: Any) -> Tensor:
        x = self.token_embedding(tokens)
        if self.scale_embeddings:
            x = x * math.sqrt(self.embed_dim)
        if self.pos_encoding_type == "learned":
            return self.pos_encoding(x)
        if self.pos_encoding_type == "sinusoidal":
            _, seq_len, _ = _check_3d(x, self.embed_dim)
            table = self.pos_encoding
            if seq_len > table.shape[0]:
                table = create_sinusoidal_embeddings(seq_len, self.embed_dim)
            return x + table[:seq_len]
        return x

    def __repr__(self) -> str:
        return (
            f"EmbeddingLayer(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, "
            f"max_seq_len={self.max_seq_len}, pos_encoding={self.pos_encoding_type!r}, "
            f"scale_embeddings={self.scale_embeddings})"
        )


# The book's Milestone 05 chapter calls Module 11's two tables ``TokenEmbedding`` and
# ``PositionalEmbedding``: the same classes under those names.
TokenEmbedding = Embedding
PositionalEmbedding = PositionalEncoding
