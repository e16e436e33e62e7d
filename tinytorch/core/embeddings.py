"""``from tinytorch.core.embeddings import Embedding, EmbeddingLayer`` (book Module 11).

The book's Milestone 05 chapter names the same two pieces ``TokenEmbedding`` and
``PositionalEmbedding``; Module 11 calls them ``Embedding`` and ``PositionalEncoding``
(learned positions). Both spellings are exported: each pair is one class.
"""

from tinytorch.nn.embeddings import (
    Embedding,
    EmbeddingIndexError,
    EmbeddingLayer,
    PositionalEmbedding,
    PositionalEncoding,
    TokenEmbedding,
    create_sinusoidal_embeddings,
)

__all__ = [
    "Embedding",
    "EmbeddingIndexError",
    "EmbeddingLayer",
    "PositionalEmbedding",
    "PositionalEncoding",
    "TokenEmbedding",
    "create_sinusoidal_embeddings",
]
