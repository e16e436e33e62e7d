"""Tokenization (book Module 10): text to token ids and back.

The tokenizers live in two small files — :mod:`tinytorch.data.tokenizer` (the contract and
``CharTokenizer``) and :mod:`tinytorch.data.bpe` (``BPETokenizer``) — and this module gathers
them with the book's three utility functions:

* ``create_tokenizer(strategy, vocab_size, corpus)``: ``"char"`` or ``"bpe"``, built from the
  corpus when one is given;
* ``tokenize_dataset(texts, tokenizer, max_length)``: one id list per text, cut to at most
  ``max_length`` ids (the first ones are kept; nothing is padded: padding belongs to
  batching, where the pad id is chosen);
* ``analyze_tokenization(texts, tokenizer)``: sequence lengths, compression and unknown rate.

The book's import path is ``tinytorch.core.tokenization``.
"""

from __future__ import annotations

from tinytorch.data.bpe import END_OF_WORD, BPETokenizer
from tinytorch.data.tokenizer import (
    UNK,
    UNK_ID,
    CharTokenizer,
    Tokenizer,
    check_corpus,
    check_vocab_size,
)

STRATEGIES = ("char", "bpe")


def create_tokenizer(
    strategy: str = "char", vocab_size: int = 1000, corpus: list[str] | None = None
) -> Tokenizer:
    """A tokenizer for ``strategy`` (``"char"`` or ``"bpe"``, any case), built from ``corpus``
    when one is given (``build_vocab`` / ``train``), untrained otherwise.

    ``vocab_size`` is the BPE target; a character vocabulary's size is decided by the corpus,
    so ``"char"`` ignores it.
    """
    if not isinstance(strategy, str) or strategy.lower() not in STRATEGIES:
        raise ValueError(
            f"create_tokenizer: unknown strategy {strategy!r}; expected one of "
            f"{', '.join(repr(s) for s in STRATEGIES)}"
        )
    vocab_size = check_vocab_size(vocab_size, "create_tokenizer")
    if strategy.lower() == "char":
        tokenizer: Tokenizer = CharTokenizer()
        if corpus is not None:
            tokenizer.build_vocab(corpus)
    else:
        tokenizer = BPETokenizer(vocab_size=vocab_size)
        if corpus is not None:
            tokenizer.train(corpus, vocab_size)
    return tokenizer


def _check_tokenizer(tokenizer: object, op: str) -> Tokenizer:
    """A tokenizer is anything with ``encode(text) -> list[int]`` (not a string, whose
    ``encode`` means something else)."""
    if isinstance(tokenizer, (str, bytes)) or not callable(getattr(tokenizer, "encode", None)):
        raise TypeError(f"{op}: tokenizer must have an encode() method, got "
                        f"{type(tokenizer).__name__}")  # fmt: skip
    return tokenizer  # type: ignore[return-value]


def tokenize_dataset(
    texts: list[str], tokenizer: Tokenizer, max_length: int | None = None
) -> list[list[int]]:
    """``[tokenizer.encode(t)[:max_length] for t in texts]``; ``max_length=None``: no limit.

    Sequences keep their own lengths (no padding), and an empty text gives ``[]``.
    """
    texts = check_corpus(texts, "tokenize_dataset")
    tokenizer = _check_tokenizer(tokenizer, "tokenize_dataset")
    if max_length is not None:
        if isinstance(max_length, bool) or not hasattr(max_length, "__index__"):
            raise TypeError(
                f"tokenize_dataset: max_length must be an int or None, got "
                f"{type(max_length).__name__}"
            )
        max_length = max_length.__index__()
        if max_length < 0:
            raise ValueError(f"tokenize_dataset: max_length must be >= 0, got {max_length}")
    return [tokenizer.encode(text)[:max_length] for text in texts]


def analyze_tokenization(texts: list[str], tokenizer: Tokenizer) -> dict[str, float]:
    """Statistics of ``tokenizer`` on ``texts``:

    ``vocab_size``; ``total_characters`` and ``total_tokens``; ``avg_sequence_length``,
    ``max_sequence_length`` and ``min_sequence_length`` (tokens per text);
    ``compression_ratio`` = characters / tokens (the book's measure: 10,000 characters in
    2,500 BPE tokens is 4.0; a character tokenizer scores 1.0); ``unique_tokens`` (distinct
    ids used); ``unk_rate`` (fraction of tokens that are ``<UNK>``, id 0).

    Counts are ints, ratios floats. Empty input (no texts, or no tokens) gives zeros rather
    than a division by zero.
    """
    texts = check_corpus(texts, "analyze_tokenization")
    tokenizer = _check_tokenizer(tokenizer, "analyze_tokenization")
    sequences = [tokenizer.encode(text) for text in texts]
    lengths = [len(ids) for ids in sequences]
    total_tokens = sum(lengths)
    total_chars = sum(len(text) for text in texts)
    unknown = sum(ids.count(UNK_ID) for ids in sequences)
    return {
        "vocab_size": int(getattr(tokenizer, "vocab_size", None) or 0),
        "total_characters": total_chars,
        "total_tokens": total_tokens,
        "avg_sequence_length": total_tokens / len(texts) if texts else 0.0,
        "max_sequence_length": max(lengths, default=0),
        "min_sequence_length": min(lengths, default=0),
        "compression_ratio": total_chars / total_tokens if total_tokens else 0.0,
        "unique_tokens": len({i for ids in sequences for i in ids}),
        "unk_rate": unknown / total_tokens if total_tokens else 0.0,
    }


__all__ = [
    "END_OF_WORD",
    "STRATEGIES",
    "UNK",
    "UNK_ID",
    "BPETokenizer",
    "CharTokenizer",
    "Tokenizer",
    "analyze_tokenization",
    "create_tokenizer",
    "tokenize_dataset",
]
