"""Module 12: scaled dot-product attention and multi-head attention, against the formula
written in NumPy and against finite differences. Runs on every backend."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.attention import MASK_VALUE, MultiHeadAttention, scaled_dot_product_attention
from tinytorch.ir.errors import ShapeError


def np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d) + (1 - mask) * -1e9) v, and the weights."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + (1.0 - mask) * -1e9
    w = np_softmax(scores)
    return w @ v, w


def causal(n: int) -> np.ndarray:
    return np.tril(np.ones((n, n), dtype=np.float32))


# ------------------------------------------------------ scaled dot product
@pytest.mark.backend_independent
def test_mask_value_is_the_books():
    assert MASK_VALUE == -1e9


def test_attention_matches_the_formula(rng):
    q, k, v = (rng.standard_normal((2, 5, 8)).astype(np.float32) for _ in range(3))
    out, weights = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v))
    ref_out, ref_w = np_attention(q, k, v)
    assert out.shape == (2, 5, 8) and weights.shape == (2, 5, 5)
    np.testing.assert_allclose(weights.numpy(), ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1.0, rtol=1e-6)


def test_the_scale_is_one_over_sqrt_of_qs_last_dim():
    """Q = K = e0 * 4 in width 16: the score of a key with itself is 16 / sqrt(16) = 4, the
    others 0, so the weight on itself is e^4 / (e^4 + n - 1)."""
    n, d = 3, 16
    q = np.zeros((1, n, d), dtype=np.float32)
    q[0, :, 0] = 4.0
    k = np.eye(n, d, dtype=np.float32)[None] * 4.0
    _, w = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(k))
    scores = np.array([16.0 / 4.0, 0.0, 0.0])
    np.testing.assert_allclose(w.numpy()[0, 0], np_softmax(scores), rtol=1e-6)


def test_causal_mask_zeroes_the_future(rng):
    q, k, v = (rng.standard_normal((2, 4, 3)).astype(np.float32) for _ in range(3))
    mask = np.broadcast_to(causal(4), (2, 4, 4)).copy()
    out, w = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), mask=Tensor(mask))
    weights = w.numpy()
    assert np.all(weights[:, np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0.0)
    np.testing.assert_allclose(weights[:, 0, 0], 1.0)  # the first query sees only itself
    ref_out, ref_w = np_attention(q, k, v, mask)
    np.testing.assert_allclose(weights, ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-5, atol=1e-5)


def test_four_d_heads_and_a_broadcast_mask(rng):
    """MHA calls it with (batch, heads, seq, head_dim) and a (batch, 1, seq, seq) mask."""
    q, k, v = (rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(3))
    mask = causal(4)[None, None]
    out, w = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), Tensor(mask))
    ref_out, ref_w = np_attention(q, k, v, mask)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-5, atol=1e-5)
    assert w.shape == (2, 3, 4, 4)


def test_attention_gradients_match_finite_differences(rng, numeric_grad):
    """d/dQ, d/dK, d/dV of sum(out * R) under a causal mask, float64."""
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    mask = causal(4).astype(np.float64)
    r = rng.standard_normal((2, 4, 3))

    def loss(q, k, v):
        return float((np_attention(q, k, v, mask)[0] * r).sum())

    tensors = [Tensor(a, requires_grad=True, dtype="float64") for a in (q, k, v)]
    out, _ = scaled_dot_product_attention(*tensors, mask=Tensor(mask, dtype="float64"))
    (out * Tensor(r, dtype="float64")).sum().backward()
    for i, t in enumerate(tensors):
        expected = numeric_grad(loss, [q, k, v], i)
        np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-5, atol=1e-8)


@pytest.mark.backend_independent
def test_a_mask_that_does_not_fit_names_both_shapes():
    x = Tensor(np.zeros((2, 4, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"mask of shape \(2, 3, 3\).*scores of shape \(2, 4, 4\)"):
        scaled_dot_product_attention(x, x, x, mask=Tensor(np.ones((2, 3, 3))))


@pytest.mark.backend_independent
def test_forgetting_the_transpose_is_the_books_matmul_error():
    q = Tensor(np.zeros((2, 4, 64), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(2, 4, 64\) @ \(2, 4, 64\)\. Inner dimensions must"):
        q.matmul(q)


# ---------------------------------------------------------- multi-head
def np_mha(mha: MultiHeadAttention, x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Multi-head attention with explicit loops over batch and heads."""
    b, s, e = x.shape
    h, d = mha.num_heads, mha.head_dim

    def proj(layer, a):
        return a @ layer.weight.data + layer.bias.data

    q, k, v = (proj(p, x) for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    out = np.zeros((b, s, e))
    for i in range(b):
        m = None if mask is None else mask[min(i, mask.shape[0] - 1)]
        for j in range(h):
            cols = slice(j * d, (j + 1) * d)
            out[i, :, cols] = np_attention(q[i, :, cols], k[i, :, cols], v[i, :, cols], m)[0]
    return proj(mha.out_proj, out)


@pytest.mark.backend_independent
def test_book_attributes_and_parameter_count():
    mha = MultiHeadAttention(embed_dim=512, num_heads=8)
    assert (mha.embed_dim, mha.num_heads, mha.head_dim) == (512, 8, 64)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        proj = getattr(mha, name)
        assert (proj.in_features, proj.out_features) == (512, 512)
    assert sum(p.size for p in mha.parameters()) == 1_050_624  # 4 * (512*512 + 512)


@pytest.mark.backend_independent
def test_embed_dim_must_divide_into_heads():
    with pytest.raises(
        ValueError, match=r"^embed_dim \(512\) must be divisible by num_heads \(7\)"
    ):
        MultiHeadAttention(512, 7)


@pytest.mark.parametrize("mask_kind", [None, "batch", "one", "square"])
def test_multi_head_attention_matches_loops_over_heads(mask_kind, rng):
    mha = MultiHeadAttention(embed_dim=12, num_heads=3)
    x = rng.standard_normal((2, 5, 12)).astype(np.float32)
    mask = {
        None: None,
        "batch": np.stack([causal(5), np.ones((5, 5), dtype=np.float32)]),  # (B, S, S)
        "one": causal(5)[None],  # (1, S, S), as create_causal_mask makes
        "square": causal(5),  # (S, S)
    }[mask_kind]
    out = mha(Tensor(x), None if mask is None else Tensor(mask))
    assert out.shape == (2, 5, 12)
    ref_mask = None if mask is None else (mask if mask.ndim == 3 else mask[None])
    np.testing.assert_allclose(out.numpy(), np_mha(mha, x, ref_mask), rtol=1e-4, atol=1e-5)


def test_multi_head_attention_gradient_reaches_every_projection(rng):
    mha = MultiHeadAttention(8, 2)
    x = Tensor(rng.standard_normal((2, 3, 8)).astype(np.float32), requires_grad=True)
    (mha(x, Tensor(causal(3)[None])) ** 2).sum().backward()
    for p in [x, *mha.parameters()]:
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0


def test_multi_head_input_gradient_matches_finite_differences(rng, numeric_grad):
    mha = MultiHeadAttention(4, 2)
    x = rng.standard_normal((1, 3, 4))
    r = rng.standard_normal((1, 3, 4))
    mask = causal(3)[None]

    def loss(x):
        return float((np_mha(mha, x, mask) * r).sum())

    t = Tensor(x, requires_grad=True, dtype="float64")
    (mha(t, Tensor(mask)) * Tensor(r, dtype="float64")).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), numeric_grad(loss, [x], 0), rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 5, 5), (2, 4, 4), (2, 2, 5, 5, 1), (5,)])
@pytest.mark.backend_independent
def test_a_mask_of_the_wrong_shape_is_an_error_naming_the_shapes(shape):
    mha = MultiHeadAttention(8, 2)
    x = Tensor(np.zeros((2, 5, 8), dtype=np.float32))
    with pytest.raises(ShapeError, match=rf"mask of shape {re_shape(shape)} does not fit input"):
        mha(x, Tensor(np.ones(shape, dtype=np.float32)))


def re_shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.backend_independent
def test_input_of_the_wrong_width():
    with pytest.raises(
        ShapeError, match=r"expected input of shape \(batch, seq, 8\), got \(2, 5, 6\)"
    ):
        MultiHeadAttention(8, 2)(Tensor(np.zeros((2, 5, 6), dtype=np.float32)))
