"""``from tinytorch.core.tokenization import BPETokenizer`` (book Module 10)."""

from tinytorch.data.tokenization import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    analyze_tokenization,
    create_tokenizer,
    tokenize_dataset,
)

__all__ = [
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "analyze_tokenization",
    "create_tokenizer",
    "tokenize_dataset",
]
