"""``from tinytorch.core.embeddings import Embedding, EmbeddingLayer`` (book Module 11)."""

from tinytorch.nn.embeddings import (
    Embedding,
    EmbeddingIndexError,
    EmbeddingLayer,
    PositionalEncoding,
    create_sinusoidal_embeddings,
)

__all__ = [
    "Embedding",
    "EmbeddingIndexError",
    "EmbeddingLayer",
    "PositionalEncoding",
    "create_sinusoidal_embeddings",
]
