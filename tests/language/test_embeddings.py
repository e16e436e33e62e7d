"""Module 11: token embeddings (a gather whose gradient is a scatter-add), learned and
sinusoidal positions, and the book's four errors. Runs on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.core.embeddings import (
    Embedding,
    EmbeddingLayer,
    PositionalEncoding,
    create_sinusoidal_embeddings,
)


# ------------------------------------------------------------------ Embedding
@pytest.mark.backend_independent
def test_book_usage_shapes():
    """The book: Embedding(50000, 512) on [[1, 42, 7, 99]] gives (1, 4, 512); 1-D ids
    (no batch dimension) give (3, 512)."""
    np.random.seed(0)
    embed = Embedding(vocab_size=50000, embed_dim=512)
    assert embed(Tensor([[1, 42, 7, 99]])).shape == (1, 4, 512)
    assert embed(Tensor([1, 2, 3])).shape == (3, 512)
    assert embed.weight.shape == (50000, 512) and embed.parameters() == [embed.weight]
    assert embed.vocab_size == 50000 and embed.embed_dim == 512


@pytest.mark.backend_independent
def test_weights_are_xavier_uniform():
    embed = Embedding(300, 100)
    limit = math.sqrt(6.0 / (300 + 100))
    w = embed.weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.9 * limit  # the whole range is used, not a narrower one


@pytest.mark.llvm_no_kernel(
    reason="a lookup and its gradient are gather / scatter-add: NumPy kernels by design"
)
def test_lookup_returns_the_rows_of_the_table(rng):
    embed = Embedding(10, 4)
    ids = rng.integers(0, 10, (3, 5))
    np.testing.assert_array_equal(embed(Tensor(ids)).numpy(), embed.weight.data[ids])


def test_float_ids_are_truncated_as_the_book_does():
    embed = Embedding(10, 4)
    out = embed(Tensor(np.array([1.0, 3.0, 9.0])))
    np.testing.assert_array_equal(out.numpy(), embed.weight.data[[1, 3, 9]])


@pytest.mark.llvm_no_kernel(
    reason="a lookup and its gradient are gather / scatter-add: NumPy kernels by design"
)
def test_gradient_reaches_only_the_rows_that_were_read_and_repeats_accumulate(rng):
    """The book's example: tokens [5, 10, 10, 5] give gradient to rows 5 and 10 only, and
    each of those rows gets the sum over its two occurrences."""
    embed = Embedding(12, 3)
    upstream = rng.standard_normal((4, 3)).astype(np.float32)
    out = embed(Tensor([5, 10, 10, 5]))
    (out * Tensor(upstream)).sum().backward()
    grad = embed.weight.grad.numpy()
    expected = np.zeros((12, 3), dtype=np.float32)
    for position, token in enumerate([5, 10, 10, 5]):  # a loop, not np.add.at
        expected[token] += upstream[position]
    np.testing.assert_allclose(grad, expected, rtol=1e-6)
    assert np.count_nonzero(np.abs(grad).sum(axis=1)) == 2


@pytest.mark.llvm_no_kernel(
    reason="a lookup and its gradient are gather / scatter-add: NumPy kernels by design"
)
def test_gather_gradient_matches_finite_differences(rng, numeric_grad):
    """d/dW sum(W[ids] * R) by central differences of the NumPy lookup, for 2-D ids."""
    table = rng.standard_normal((6, 4))
    ids = np.array([[0, 3, 3], [5, 0, 2]])
    weights = rng.standard_normal((2, 3, 4))

    def loss(w):
        return float((w[ids] * weights).sum())

    w = Tensor(table, requires_grad=True, dtype="float64")
    (w[Tensor(ids)] * Tensor(weights, dtype="float64")).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), numeric_grad(loss, [table], 0), rtol=1e-6)


@pytest.mark.llvm_no_kernel(
    reason="a lookup and its gradient are gather / scatter-add: NumPy kernels by design"
)
def test_scatter_add_gradient_flows_back_as_a_gather(rng):
    """Second order through the lookup: the gradient of the scatter-add is the gather, so
    d/dg sum(scatter_add(g) * R) = R[ids]."""
    from tinytorch.ir.build import make

    ids = np.array([2, 0, 2])
    r = rng.standard_normal((4, 3))
    g = Tensor(rng.standard_normal((3, 3)), requires_grad=True, dtype="float64")
    node = make("scatter_add", (g._node, Tensor(ids)._node), axis=0, size=4)
    scattered = Tensor._from_op(node, [g])
    np.testing.assert_allclose(scattered.numpy(), _scatter_loop(g.numpy(), ids, 4))
    (scattered * Tensor(r, dtype="float64")).sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), r[ids])


def _scatter_loop(values, ids, size):
    out = np.zeros((size, values.shape[1]))
    for i, row in zip(ids, values, strict=True):
        out[i] += row
    return out


@pytest.mark.parametrize("bad", [12, -1])
@pytest.mark.backend_independent
def test_an_id_outside_the_table_is_the_books_value_error(bad):
    """Raised when the layer is called (before anything runs), as ValueError (the book) and
    IndexError (NumPy's kind), naming the id and the table size."""
    embed = Embedding(10, 4)
    with pytest.raises(
        ValueError, match=r"Index out of range\. Expected 0 <= indices < 10"
    ) as info:
        embed(Tensor([[1, bad, 3]]))
    assert isinstance(info.value, IndexError)
    text = str(info.value)
    assert f"min={min(1, bad)}, max={max(3, bad)}" in text
    assert f"token id {bad}" in text and "10 x 4 table" in text


@pytest.mark.backend_independent
def test_the_book_error_numbers():
    np.random.seed(0)
    embed = Embedding(vocab_size=50000, embed_dim=8)
    with pytest.raises(ValueError, match="Expected 0 <= indices < 50000, got min=1, max=50001"):
        embed(Tensor([1, 50001]))


def test_lazy_ids_are_checked_too():
    """Ids that are themselves graph (here computed by an argmax) are checked as well."""
    embed = Embedding(3, 2)
    ids = (Tensor([[0.0, 1.0, 5.0, 2.0]]) * 1.0).argmax(axis=-1) + 1  # 2 + 1 = 3: out of range
    with pytest.raises(ValueError, match="got min=3, max=3"):
        embed(ids)


@pytest.mark.backend_independent
def test_integer_only_ids():
    with pytest.raises(TypeError, match="token ids must be integers"):
        Embedding(4, 2)(Tensor([True, False]))


# --------------------------------------------------------- PositionalEncoding
def test_learned_positions_are_added_per_position_and_broadcast_over_the_batch(rng):
    pe = PositionalEncoding(max_seq_len=8, embed_dim=4)
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    out = pe(Tensor(x))
    np.testing.assert_allclose(out.numpy(), x + pe.position_embeddings.data[None, :5], rtol=1e-6)
    assert pe.parameters() == [pe.position_embeddings]
    limit = math.sqrt(2.0 / 4)
    assert np.abs(pe.position_embeddings.data).max() <= limit


def test_learned_positions_get_gradient_in_the_used_rows_only(rng):
    pe = PositionalEncoding(max_seq_len=6, embed_dim=3)
    x = Tensor(rng.standard_normal((2, 4, 3)).astype(np.float32), requires_grad=True)
    r = rng.standard_normal((2, 4, 3)).astype(np.float32)
    (pe(x) * Tensor(r)).sum().backward()
    grad = pe.position_embeddings.grad.numpy()
    np.testing.assert_allclose(grad[:4], r.sum(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(grad[4:], 0.0)
    np.testing.assert_allclose(x.grad.numpy(), r)


@pytest.mark.backend_independent
def test_the_books_positional_errors():
    """The three messages of the book's positional encoding, with its numbers."""
    pe = PositionalEncoding(max_seq_len=512, embed_dim=512)
    with pytest.raises(ValueError, match=r"^Sequence length 1024 exceeds maximum 512"):
        pe(Tensor(np.zeros((1, 1024, 512), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"^Embedding dimension mismatch: expected 512, got 768"):
        pe(Tensor(np.zeros((1, 4, 768), dtype=np.float32)))
    with pytest.raises(
        ValueError, match=r"^Expected 3D input \(batch, seq, embed\), got shape \(128, 512\)"
    ):
        pe(Tensor(np.zeros((128, 512), dtype=np.float32)))


# ----------------------------------------------------------------- sinusoidal
@pytest.mark.backend_independent
def test_sinusoids_follow_the_formula():
    """PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(...), written as loops."""
    table = create_sinusoidal_embeddings(max_seq_len=20, embed_dim=8)
    pe = table.numpy()
    assert table.shape == (20, 8) and pe.dtype == np.float32 and not table.requires_grad
    for pos in range(20):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            assert pe[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-5)
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-5)


@pytest.mark.backend_independent
def test_sinusoid_landmarks():
    """Row 0 is [0, 1, 0, 1, ...]; dimension 0 turns at frequency 1, the last pair at ~1e-4."""
    pe = create_sinusoidal_embeddings(1024, 512).numpy()
    np.testing.assert_allclose(pe[0], np.tile([0.0, 1.0], 256), atol=1e-7)
    assert pe[1, 0] == pytest.approx(math.sin(1.0), abs=1e-6)
    assert pe[1, 510] == pytest.approx(math.sin(10000 ** (-510 / 512)), abs=1e-6)


# ------------------------------------------------------------- EmbeddingLayer
@pytest.mark.backend_independent
def test_book_usage_of_the_embedding_layer():
    np.random.seed(0)
    layer = EmbeddingLayer(vocab_size=1000, embed_dim=16)
    assert layer(Tensor([[1, 42, 7]])).shape == (1, 3, 16)
    assert len(layer.parameters()) == 2  # token table + learned positions
    assert sum(p.size for p in layer.parameters()) == 1000 * 16 + 512 * 16


@pytest.mark.parametrize("pos_encoding", ["learned", "sinusoidal", None])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_layer_is_token_embedding_plus_position(pos_encoding, scale, rng, llvm_exempt):
    if pos_encoding is None and not scale:
        llvm_exempt.no_kernel("a bare lookup is one gather, which runs its NumPy kernel by design")
    layer = EmbeddingLayer(50, 8, max_seq_len=10, pos_encoding=pos_encoding, scale_embeddings=scale)
    ids = rng.integers(0, 50, (3, 6))
    expected = layer.token_embedding.weight.data[ids] * (math.sqrt(8) if scale else 1.0)
    if pos_encoding == "learned":
        expected = expected + layer.pos_encoding.position_embeddings.data[:6]
    elif pos_encoding == "sinusoidal":
        expected = expected + create_sinusoidal_embeddings(10, 8).numpy()[:6]
    np.testing.assert_allclose(layer(Tensor(ids)).numpy(), expected, rtol=1e-5, atol=1e-6)
    n_params = 1 + (pos_encoding == "learned")
    assert len(layer.parameters()) == n_params


def test_sinusoidal_positions_extend_past_max_seq_len():
    layer = EmbeddingLayer(20, 4, max_seq_len=4, pos_encoding="sinusoidal")
    ids = np.arange(9)[None] % 20
    out = layer(Tensor(ids)).numpy()
    expected = layer.token_embedding.weight.data[ids] + create_sinusoidal_embeddings(9, 4).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_independent
def test_learned_positions_do_not_extend():
    layer = EmbeddingLayer(20, 4, max_seq_len=4)
    with pytest.raises(ValueError, match="Sequence length 5 exceeds maximum 4"):
        layer(Tensor(np.zeros((1, 5), dtype=np.int64)))


@pytest.mark.backend_independent
def test_unknown_position_encoding():
    with pytest.raises(ValueError, match="pos_encoding must be"):
        EmbeddingLayer(10, 4, pos_encoding="rotary")


@pytest.mark.llvm_no_kernel(
    reason="a lookup and its gradient are gather / scatter-add: NumPy kernels by design"
)
def test_embedding_layer_trains_end_to_end():
    """Gradients reach both tables through the layer."""
    layer = EmbeddingLayer(10, 4, max_seq_len=5)
    layer(Tensor([[1, 2, 2]])).sum().backward()
    token_grad = layer.token_embedding.weight.grad.numpy()
    np.testing.assert_allclose(token_grad[2], 2.0)
    np.testing.assert_allclose(token_grad[1], 1.0)
    assert np.count_nonzero(token_grad.sum(axis=1)) == 2
    np.testing.assert_allclose(layer.pos_encoding.position_embeddings.grad.numpy()[:3], 1.0)


@pytest.mark.backend_independent
def test_the_books_import_path_is_the_one_implementation():
    assert Embedding is tinytorch.Embedding and EmbeddingLayer is tinytorch.EmbeddingLayer
