"""Losses (book Module 04, spec §4): log_softmax, MSE, cross-entropy and binary
cross-entropy — their book values, their gradients through autograd, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax


def numpy_log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------- log_softmax
def test_log_softmax_of_large_logits_is_stable():
    """§4.1: [100, 200, 300] gives [-200, -100, 0] (no overflow)."""
    np.testing.assert_allclose(log_softmax(Tensor([100.0, 200.0, 300.0])).data, [-200, -100, 0])


def test_log_softmax_of_50_100_150():
    """§4.1: logits [50, 100, 150] -> ≈ [-100, -50, 0]."""
    np.testing.assert_allclose(log_softmax(Tensor([50.0, 100.0, 150.0])).data, [-100, -50, 0])


def test_log_softmax_matches_numpy_on_rows_and_other_dims():
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(log_softmax(Tensor(x)).data, numpy_log_softmax(x), atol=1e-5)
    expected = np.moveaxis(numpy_log_softmax(np.moveaxis(x, 1, -1)), -1, 1)
    np.testing.assert_allclose(log_softmax(Tensor(x), dim=1).data, expected, atol=1e-5)


def test_log_softmax_gradient_is_one_hot_minus_softmax():
    """d(log_softmax(x)[k])/dx = onehot(k) - softmax(x)."""
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    log_softmax(x)[2].backward()
    softmax = np.exp(numpy_log_softmax(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(x.grad.data, np.array([0, 0, 1]) - softmax, rtol=1e-5)


# ------------------------------------------------------------------------ MSE
def test_mse_book_example_is_75():
    """§4.2: predictions [200, 250, 300] vs targets [195, 260, 290] give 75.0."""
    loss = MSELoss()(Tensor([200.0, 250.0, 300.0]), Tensor([195.0, 260.0, 290.0]))
    assert loss.shape == () and loss.item() == pytest.approx(75.0)


def test_mse_gradient_is_2_diff_over_n_and_named_mse_backward():
    """d/dp mean((p - t)²) = 2(p - t)/N; grad_fn is <MSEBackward>."""
    p = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = MSELoss()(p, Tensor([[0.0, 0.0], [0.0, 8.0]]))
    assert type(loss.grad_fn).__name__ == "MSEBackward"
    loss.backward()
    np.testing.assert_allclose(p.grad.data, 2 * np.array([[1, 2], [3, -4]]) / 4)


@pytest.mark.backend_independent
def test_mse_shape_mismatch_is_an_error_not_a_broadcast():
    """(N, 1) against (N,) would broadcast to (N, N) in NumPy: here it is a ValueError."""
    with pytest.raises(ValueError, match=r"predictions shape \(3, 1\) and targets shape \(3,\)"):
        MSELoss()(Tensor(np.zeros((3, 1))), Tensor(np.zeros(3)))


# -------------------------------------------------------------- cross-entropy
def test_cross_entropy_book_example():
    """§4.2: logits [[2.0,0.5,0.1],[0.3,1.8,0.2]], labels [0,1] give ≈ 0.335485."""
    logits = Tensor([[2.0, 0.5, 0.1], [0.3, 1.8, 0.2]])
    loss = CrossEntropyLoss()(logits, Tensor([0, 1]))
    assert loss.item() == pytest.approx(0.335485, abs=1e-6)


def test_cross_entropy_matches_numpy_and_its_gradient_is_softmax_minus_onehot():
    """loss = -mean(log_softmax[i, y_i]); dloss/dlogits = (softmax - onehot)/N."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = rng.integers(0, 4, 6)
    logits = Tensor(x, requires_grad=True)
    loss = CrossEntropyLoss()(logits, Tensor(y))
    logp = numpy_log_softmax(x)
    assert loss.item() == pytest.approx(-logp[np.arange(6), y].mean(), rel=1e-5)
    assert type(loss.grad_fn).__name__ == "CrossEntropyBackward"
    loss.backward()
    expected = (np.exp(logp) - np.eye(4)[y]) / 6
    np.testing.assert_allclose(logits.grad.data, expected, atol=1e-6)


def test_cross_entropy_is_stable_for_huge_logits():
    """Logits in the thousands give a finite loss (log-sum-exp inside)."""
    loss = CrossEntropyLoss()(Tensor([[1000.0, 2000.0, 3000.0]]), Tensor([0]))
    assert loss.item() == pytest.approx(2000.0)


@pytest.mark.backend_independent
def test_cross_entropy_class_index_out_of_range_is_the_books_index_error():
    """§4.2 Common Errors: target 5 with 3 classes names the index and the class count."""
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 3"):
        CrossEntropyLoss()(Tensor([[1.0, 2.0, 3.0]]), Tensor([5]))


@pytest.mark.backend_independent
def test_cross_entropy_negative_class_index_is_refused():
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        CrossEntropyLoss()(Tensor([[1.0, 2.0, 3.0]]), Tensor([-1]))


@pytest.mark.backend_independent
def test_cross_entropy_float_labels_are_a_type_error():
    """A label tensor of the wrong dtype (float32) is a TypeError saying how to fix it."""
    with pytest.raises(TypeError, match="integer class indices, got float32"):
        CrossEntropyLoss()(Tensor([[1.0, 2.0]]), Tensor([1.0]))


@pytest.mark.parametrize(
    "logits_shape, targets_shape, match",
    [((2, 3), (3,), "expected \\(2,\\)"), ((2, 3), (2, 1), "expected"), ((3,), (1,), "2-D")],
)
@pytest.mark.backend_independent
def test_cross_entropy_shape_errors(logits_shape, targets_shape, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss()(Tensor(np.zeros(logits_shape)), Tensor(np.zeros(targets_shape, int)))


def test_cross_entropy_checks_lazy_targets_too():
    """Targets computed lazily (here y + 4) are evaluated and checked at the loss."""
    with pytest.raises(IndexError, match="index 4"):
        CrossEntropyLoss()(Tensor([[1.0, 2.0]]), Tensor([0]) + 4)


# ------------------------------------------------------- binary cross-entropy
def test_bce_matches_the_formula():
    """-mean(t log p + (1 - t) log(1 - p))."""
    p, t = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])
    loss = BinaryCrossEntropyLoss()(Tensor(p), Tensor(t))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_bce_book_numbers_for_confident_predictions():
    """§4.2: -log(0.99) ≈ 0.01 (right and sure), -log(0.01) ≈ 4.6 (wrong and sure)."""
    assert BinaryCrossEntropyLoss()(Tensor([0.99]), Tensor([1.0])).item() == pytest.approx(
        0.01005, abs=1e-4
    )
    assert BinaryCrossEntropyLoss()(Tensor([0.01]), Tensor([1.0])).item() == pytest.approx(
        4.605, abs=1e-3
    )


def test_bce_clamps_probabilities_of_exactly_0_and_1():
    """p = 0 or 1 gives a finite loss (the 1e-7 clamp), not NaN or inf: exactly the loss of
    p clamped to [1e-7, 1 - 1e-7] in float32 (about 16, where a clamp of 1e-6 gives 13.8)."""
    loss = BinaryCrossEntropyLoss()(Tensor([0.0, 1.0]), Tensor([1.0, 0.0]))
    p = np.clip(np.array([0.0, 1.0], dtype=np.float32), np.float32(1e-7), np.float32(1 - 1e-7))
    want = -np.mean([np.log(p[0], dtype=np.float64), np.log1p(-np.float64(p[1]))])
    assert loss.item() == pytest.approx(want, rel=1e-5)


def test_bce_takes_any_matching_shape_and_integer_targets():
    """The book's multi-label example: (B, 5) probabilities against (B, 5) 0/1 labels."""
    p = np.full((4, 5), 0.25, dtype=np.float32)
    loss = BinaryCrossEntropyLoss()(Tensor(p), Tensor(np.zeros((4, 5), dtype=np.int64)))
    assert loss.item() == pytest.approx(-np.log(0.75), rel=1e-6)


def test_bce_gradient_and_name():
    """d/dp = (p - t) / (p (1 - p) N); grad_fn is <BCEBackward>."""
    p = Tensor([0.8, 0.3], requires_grad=True)
    loss = BinaryCrossEntropyLoss()(p, Tensor([1.0, 0.0]))
    assert type(loss.grad_fn).__name__ == "BCEBackward"
    loss.backward()
    pv, t = np.array([0.8, 0.3]), np.array([1.0, 0.0])
    np.testing.assert_allclose(p.grad.data, (pv - t) / (pv * (1 - pv)) / 2, rtol=1e-5)


@pytest.mark.backend_independent
def test_bce_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="must match"):
        BinaryCrossEntropyLoss()(Tensor([0.5, 0.5]), Tensor([[1.0, 0.0]]))


def test_losses_are_lazy_scalar_tensors():
    """A loss is a graph until read: no value exists before .item()."""
    loss = MSELoss()(Tensor([1.0, 2.0]), Tensor([1.0, 1.0]))
    assert loss.shape == () and "value" not in loss._node.meta
    assert loss.item() == pytest.approx(0.5)
