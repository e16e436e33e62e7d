"""Module 13 parts: the causal mask, LayerNorm (with its full gradient), the MLP and the
pre-norm TransformerBlock, with dropout on in training and off in eval. Every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.transformer import MLP, LayerNorm, TransformerBlock, create_causal_mask
from tinytorch.ir.errors import ShapeError


def np_layernorm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def np_gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# ---------------------------------------------------------------- causal mask
@pytest.mark.backend_independent
def test_causal_mask_is_the_books_lower_triangle():
    mask = create_causal_mask(4)
    assert mask.shape == (1, 4, 4) and mask.dtype == np.float32
    expected = [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]
    np.testing.assert_array_equal(mask.numpy()[0], expected)


# ------------------------------------------------------------------ LayerNorm
def test_layernorm_starts_as_pure_normalisation(rng):
    ln = LayerNorm(6)
    assert (ln.normalized_shape, ln.eps) == (6, 1e-5)
    np.testing.assert_array_equal(ln.gamma.data, 1.0)
    np.testing.assert_array_equal(ln.beta.data, 0.0)
    assert ln.parameters() == [ln.gamma, ln.beta]
    x = rng.standard_normal((3, 10, 6)).astype(np.float32) * 5 + 2
    out = ln(Tensor(x)).numpy()
    np.testing.assert_allclose(out.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=-1), 1.0, rtol=1e-3)  # var/(var+eps) ~ 1


def test_layernorm_matches_the_formula_with_learned_scale_and_shift(rng):
    ln = LayerNorm(5)
    ln.gamma.data = rng.standard_normal(5)
    ln.beta.data = rng.standard_normal(5)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    expected = np_layernorm(x.astype(np.float64), ln.gamma.data, ln.beta.data)
    np.testing.assert_allclose(ln(Tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_layernorm_gradient_is_exact_through_the_variance(rng, numeric_grad):
    """d/dx, d/dgamma, d/dbeta of sum(LN(x) * R) against finite differences of the formula.
    (The book's detached std would give a different d/dx; see the next test.)"""
    x, gamma, beta = rng.standard_normal((3, 6)), rng.standard_normal(6), rng.standard_normal(6)
    r = rng.standard_normal((3, 6))

    def loss(x, gamma, beta):
        return float((np_layernorm(x, gamma, beta) * r).sum())

    ln = LayerNorm(6)
    ln.gamma = Tensor(gamma, requires_grad=True, dtype="float64")
    ln.beta = Tensor(beta, requires_grad=True, dtype="float64")
    t = Tensor(x, requires_grad=True, dtype="float64")
    (ln(t) * Tensor(r, dtype="float64")).sum().backward()
    for k, got in enumerate([t.grad, ln.gamma.grad, ln.beta.grad]):
        expected = numeric_grad(loss, [x, gamma, beta], k)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_the_books_detached_std_would_miss_part_of_the_gradient(rng, numeric_grad):
    """Why we differ from the book: treating std as a constant drops a term, and the
    difference is not small."""
    x, r = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    exact = numeric_grad(lambda x: float((np_layernorm(x, 1.0, 0.0) * r).sum()), [x], 0)
    std = np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    detached = (r - r.mean(axis=-1, keepdims=True)) / std  # d/dx of (x - mean)/const
    assert not np.allclose(exact, detached, rtol=1e-2)
    t = Tensor(x, requires_grad=True, dtype="float64")
    ln = LayerNorm(5)
    (ln(t) * Tensor(r, dtype="float64")).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), exact, rtol=1e-4, atol=1e-6)


@pytest.mark.backend_independent
def test_layernorm_errors():
    with pytest.raises(ShapeError, match=r"last dimension of input \(2, 3\) must be"):
        LayerNorm(4)(Tensor(np.zeros((2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="eps must be a positive number"):
        LayerNorm(4, eps=0.0)


# ------------------------------------------------------------------------ MLP
def test_mlp_is_linear_gelu_linear(rng):
    mlp = MLP(embed_dim=4, dropout_prob=0.0)
    assert mlp.hidden_dim == 16 and isinstance(mlp.linear1.weight, Tensor)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    h = np_gelu(x @ mlp.linear1.weight.data + mlp.linear1.bias.data)
    expected = h @ mlp.linear2.weight.data + mlp.linear2.bias.data
    np.testing.assert_allclose(mlp(Tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.backend_independent
def test_mlp_parameter_count_from_the_book():
    """E = 512, H = 2048: 512*2048 + 2048 + 2048*512 + 512 = 2,099,712."""
    mlp = MLP(512)
    assert sum(p.size for p in mlp.parameters()) == 2_099_712
    assert len(mlp.parameters()) == 4


def test_dropout_is_on_in_training_and_off_in_eval(rng):
    mlp = MLP(8, dropout_prob=0.5)
    x = Tensor(rng.standard_normal((4, 8)).astype(np.float32))
    np.random.seed(1)
    a = mlp(x).numpy()
    b = mlp(x).numpy()
    assert not np.array_equal(a, b)  # two different masks
    assert np.mean(a == 0.0) > 0.2  # about half the outputs are dropped
    mlp.eval()
    c, d = mlp(x).numpy(), mlp(x).numpy()
    np.testing.assert_array_equal(c, d)
    mlp.dropout.p = 0.0
    np.testing.assert_allclose(mlp(x).numpy(), c)  # eval == no dropout at all


# ----------------------------------------------------------- TransformerBlock
@pytest.mark.backend_independent
def test_block_parameter_count_and_attributes():
    """Attention 1,050,624 + two LayerNorms 2,048 + MLP 2,099,712 = 3,152,384 for E=512
    (the book's "~3.6M" overcounts; spec §6.4)."""
    block = TransformerBlock(embed_dim=512, num_heads=8)
    assert block.attention.num_heads == 8 and block.mlp.hidden_dim == 2048
    assert block.ln1.normalized_shape == block.ln2.normalized_shape == 512
    assert sum(p.size for p in block.parameters()) == 3_152_384


def test_block_is_pre_norm_with_residuals(rng):
    """Zero the output projections of attention and MLP: both sub-layers then add exactly
    their bias, so the block is the identity plus the two biases (the residual path)."""
    block = TransformerBlock(8, 2, dropout_prob=0.0)
    for proj in (block.attention.out_proj, block.mlp.linear2):
        proj.weight.data = np.zeros_like(proj.weight.data)
    block.attention.out_proj.bias.data = np.full(8, 0.5, dtype=np.float32)
    block.mlp.linear2.bias.data = np.full(8, -2.0, dtype=np.float32)
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    np.testing.assert_allclose(block(Tensor(x)).numpy(), x + 0.5 - 2.0, rtol=1e-6, atol=1e-6)


def test_block_preserves_shape_and_is_causal_under_a_mask(rng):
    block = TransformerBlock(8, 2, dropout_prob=0.0)
    x = rng.standard_normal((1, 5, 8)).astype(np.float32)
    y = x.copy()
    y[0, 4] += 1.0  # change only the last position
    mask = create_causal_mask(5)
    a, b = block(Tensor(x), mask).numpy(), block(Tensor(y), mask).numpy()
    assert a.shape == (1, 5, 8)
    np.testing.assert_allclose(a[0, :4], b[0, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[0, 4], b[0, 4])


def test_block_dropout_follows_the_mode(rng):
    block = TransformerBlock(8, 2, dropout_prob=0.3)
    x = Tensor(rng.standard_normal((2, 3, 8)).astype(np.float32))
    np.random.seed(0)
    assert not np.array_equal(block(x).numpy(), block(x).numpy())
    block.eval()
    np.testing.assert_array_equal(block(x).numpy(), block(x).numpy())
