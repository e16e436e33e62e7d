"""``from tinytorch.core.embeddings import Embedding, EmbeddingLayer`` (book Module 11).

The book's Milestone 05 chapter names the same two pieces ``TokenEmbedding`` and
``PositionalEmbedding``; Module 11 calls them ``Embedding`` and ``PositionalEncoding``
(learned positions). Both spellings are exported: each pair is one class.
"""

from tinytorch.nn.embeddings import (
    Embedding,
    EmbeddingIndexError,
    EmbeddingLayer,
    PositionalEncoding,
    create_sinusoidal_embeddings,
)

TokenEmbedding = Embedding  # Milestone 05's name for Module 11's Embedding
PositionalEmbedding = PositionalEncoding  # Milestone 05's name for learned positions

__all__ = [
    "Embedding",
    "EmbeddingIndexError",
    "EmbeddingLayer",
    "PositionalEmbedding",
    "PositionalEncoding",
    "TokenEmbedding",
    "create_sinusoidal_embeddings",
]
