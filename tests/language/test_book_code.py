"""The book's own code for modules 10-13, run as written: every call below is a line of the
book (chapter and listing named), and its result is what the book says it is."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.embeddings import Embedding
from tinytorch.core.tensor import Tensor
from tinytorch.core.tokenization import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    analyze_tokenization,
)
from tinytorch.core.transformer import TransformerBlock


# ------------------------------------------------------------------ module 10
@pytest.mark.backend_independent
def test_the_embedding_fix_of_chapter_14_sizes_the_table_from_the_tokenizer():
    """Ch. 14.6.1, "Index Out of Range": ``tokenizer = Tokenizer(vocab_size=50000)`` then
    ``Embedding(vocab_size=tokenizer.vocab_size, embed_dim=512)``."""
    tokenizer = Tokenizer(vocab_size=50000)
    embed = Embedding(vocab_size=tokenizer.vocab_size, embed_dim=512)
    assert tokenizer.vocab_size == 50000
    assert embed.weight.shape == (50000, 512)


@pytest.mark.backend_independent
def test_a_base_tokenizer_without_a_size_has_none_and_bad_sizes_are_refused():
    assert Tokenizer().vocab_size is None
    with pytest.raises(ValueError, match="Tokenizer: vocab_size must be at least 1, got 0"):
        Tokenizer(vocab_size=0)
    with pytest.raises(TypeError, match="Tokenizer: vocab_size must be an int, got float"):
        Tokenizer(vocab_size=5.0)
    with pytest.raises(NotImplementedError):
        Tokenizer(vocab_size=10).encode("abc")  # still abstract


@pytest.mark.backend_independent
def test_a_user_tokenizer_built_on_the_base_class_can_be_analyzed():
    """A subclass that calls ``super().__init__()`` and knows no size reports 0."""

    class Words(Tokenizer):
        def __init__(self) -> None:
            super().__init__()

        def encode(self, text: str) -> list[int]:
            return [len(word) for word in text.split()]

    stats = analyze_tokenization(["a bb ccc"], Words())
    assert stats["vocab_size"] == 0
    assert stats["total_tokens"] == 3 and stats["compression_ratio"] == 8 / 3


@pytest.mark.backend_independent
def test_the_code_comparison_of_chapter_13_round_trips():
    """Ch. 13.6.2, "Your TinyTorch": train on two sentences, encode "hello machine",
    decode it back."""
    corpus = ["hello world", "machine learning"]
    tokenizer = BPETokenizer(vocab_size=1000)
    tokenizer.train(corpus)
    text = "hello machine"
    token_ids = tokenizer.encode(text)
    decoded = tokenizer.decode(token_ids)
    assert decoded == "hello machine"
    assert 0 not in token_ids and len(token_ids) == 2  # every word is one learned token


@pytest.mark.backend_independent
def test_the_text_to_numbers_example_of_chapter_13():
    """Ch. 13.5.1: the vocabulary {'h': 1, 'e': 2, 'l': 3, 'o': 4} encodes "hello" as
    [1, 2, 3, 3, 4] (a vocabulary given in that order; <UNK> is 0)."""
    tok = CharTokenizer(vocab=["h", "e", "l", "o"])
    assert tok.char_to_id == {"<UNK>": 0, "h": 1, "e": 2, "l": 3, "o": 4}
    assert tok.encode("hello") == [1, 2, 3, 3, 4]
    assert tok.decode([1, 2, 3, 3, 4]) == "hello"


# ------------------------------------------------------------------ module 11
@pytest.mark.backend_independent
def test_the_preview_of_chapter_13_names_the_width_dim():
    """Ch. 13.9 previews module 11 as ``Embedding(vocab_size=1000, dim=128)``; the API
    calls the same argument ``embed_dim``. Both spell one layer."""
    np.random.seed(0)
    embedding = Embedding(vocab_size=1000, dim=128)
    np.random.seed(0)
    same = Embedding(vocab_size=1000, embed_dim=128)
    assert embedding.weight.shape == (1000, 128) and embedding.embed_dim == 128
    np.testing.assert_array_equal(embedding.weight.data, same.weight.data)


@pytest.mark.backend_independent
def test_the_width_must_be_given_exactly_once():
    with pytest.raises(TypeError, match=r"embed_dim \(or its alias dim\), exactly once"):
        Embedding(vocab_size=10, embed_dim=4, dim=4)
    with pytest.raises(TypeError, match=r"exactly once; got embed_dim=None, dim=None"):
        Embedding(vocab_size=10)


# ------------------------------------------------------------------ module 12
def test_the_code_comparison_of_chapter_15_is_causal_per_sequence():
    """Ch. 15.7.2, "Your TinyTorch", as written: a 3-D (batch, seq, seq) 0/1 mask. Under it
    the first k outputs are those of the first k inputs alone: nothing reads the future."""
    np.random.seed(0)
    mha = MultiHeadAttention(embed_dim=512, num_heads=8)
    x = Tensor(np.random.randn(2, 10, 512))
    output = mha.forward(x)
    mask = Tensor(np.tril(np.ones((2, 10, 10))))
    output_masked = mha.forward(x, mask)
    assert output.shape == output_masked.shape == (2, 10, 512)

    k = 4
    prefix = mha.forward(Tensor(x.numpy()[:, :k]), Tensor(np.tril(np.ones((2, k, k)))))
    np.testing.assert_allclose(output_masked.numpy()[:, :k], prefix.numpy(), atol=1e-5)
    assert not np.allclose(output.numpy()[:, :k], prefix.numpy(), atol=1e-3)  # unmasked


# ------------------------------------------------------------------ module 13
def test_the_code_comparison_of_chapter_16_is_the_books_pre_norm_forward():
    """Ch. 16.6.2: ``block = TransformerBlock(embed_dim=512, num_heads=8)``,
    ``output = block.forward(x)``, equal (in eval mode: dropout off) to the book's forward
    of ch. 16.5.2 written out with the block's own sub-layers."""
    np.random.seed(1)
    x = Tensor(np.random.randn(2, 10, 512))
    block = TransformerBlock(embed_dim=512, num_heads=8)
    block.eval()
    output = block.forward(x)

    normed1 = block.ln1.forward(x)
    attention_out = block.attention.forward(normed1, None)
    h = x + attention_out
    expected = h + block.mlp.forward(block.ln2.forward(h))
    assert output.shape == (2, 10, 512)
    np.testing.assert_allclose(output.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
