"""The book's worked numbers and numerical-stability promises, through the public API."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch import GELU, Sigmoid, Softmax, Tensor


def test_softmax_of_1_2_3() -> None:
    """softmax([1, 2, 3]) = [0.09003057, 0.24472847, 0.66524096] (the book's example)."""
    got = Tensor([1.0, 2.0, 3.0]).softmax().numpy()
    np.testing.assert_allclose(got, [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)
    assert got.sum() == pytest.approx(1.0, abs=1e-6)


def test_softmax_activation_class_matches_the_method() -> None:
    """``Softmax()(x)`` is ``x.softmax()``: the same three numbers."""
    got = Softmax()(Tensor([1.0, 2.0, 3.0])).numpy()
    np.testing.assert_allclose(got, [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)


def test_softmax_of_large_inputs_has_no_nan() -> None:
    """softmax([1000, 1001, 1002]) is softmax([0, 1, 2]): the max is subtracted first."""
    got = Tensor([1000.0, 1001.0, 1002.0]).softmax().numpy()
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, Tensor([0.0, 1.0, 2.0]).softmax().numpy(), rtol=1e-6)


def test_softmax_gradient_of_large_inputs_is_finite() -> None:
    """Backward through the stable softmax stays finite too, and right: d s_0 / d x is
    s_0 (e_0 - s), with s = softmax([0, 1, 2]) (float64, by hand)."""
    x = Tensor([1000.0, 1001.0, 1002.0], requires_grad=True)
    (x.softmax() * Tensor([1.0, 0.0, 0.0])).sum().backward()
    s = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(x.grad.numpy(), s[0] * (np.eye(3)[0] - s), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_of_huge_inputs_stays_finite(dtype: str) -> None:
    """sigmoid(+-1000) and beyond: finite, in [0, 1] (exactly 0 and 1 allowed at the ends)."""
    x = Tensor([-1e30, -1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0, 1e30], dtype=dtype)
    got = Sigmoid()(x).numpy()
    assert np.all(np.isfinite(got))
    assert np.all((got >= 0) & (got <= 1))
    assert got[4] == 0.5
    assert got[-1] == 1.0 and got[0] == 0.0
    assert np.all(np.diff(got) >= 0), "sigmoid must be monotonic"
    v = x.numpy().astype(np.float64)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(v))
    exact = np.where(v >= 0, 1 / (1 + e), e / (1 + e)).astype(dtype)
    # Accurate far out too (float64 sigmoid(-1000) underflows to 0, not to e^-500); below
    # the smallest normal number, float32 subnormals may round differently.
    np.testing.assert_allclose(got, exact, rtol=1e-6, atol=np.finfo(dtype).tiny)


def test_sigmoid_gradient_of_huge_inputs_is_finite() -> None:
    """sigmoid'(x) = s (1 - s) is 0, not NaN, far out on both sides."""
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    x.sigmoid().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.25, 0.0], atol=1e-30)


def test_gelu_uses_the_tanh_approximation() -> None:
    """GELU(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), not the erf form."""
    xs = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    got = GELU()(Tensor(xs, dtype="float64")).numpy()
    tanh_form = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs**3)))
    np.testing.assert_allclose(got, tanh_form, rtol=1e-12, atol=1e-15)
    erf_form = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs])
    assert abs(got[5] - erf_form[5]) > 1e-4, "at x=1 the two forms differ by ~1.5e-4"


def test_sum_over_axes_of_the_book_matrix() -> None:
    """[[1,2,3],[4,5,6]].sum(axis=0) -> [5,7,9]; sum(axis=1) -> [6,15]."""
    m = Tensor([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(m.sum(axis=0).numpy(), [5, 7, 9])
    np.testing.assert_array_equal(m.sum(axis=1).numpy(), [6, 15])
    assert m.sum().item() == 21


def test_nan_and_inf_flow_through_exp_log_div_as_values() -> None:
    """No exceptions: exp/log/div of NaN, inf, 0 and negatives give IEEE values."""
    x = Tensor([np.nan, np.inf, -np.inf, 0.0, -1.0, 1.0])
    np.testing.assert_allclose(
        x.exp().numpy(), [np.nan, np.inf, 0.0, 1.0, np.exp(-1.0), np.e], rtol=1e-6
    )
    np.testing.assert_array_equal(x.log().numpy(), [np.nan, np.inf, np.nan, -np.inf, np.nan, 0])
    np.testing.assert_array_equal(
        (x / 0.0).numpy(), [np.nan, np.inf, -np.inf, np.nan, -np.inf, np.inf]
    )
    np.testing.assert_array_equal(
        (Tensor([1.0, 2.0]) / Tensor([np.inf, 0.0])).numpy(), [0.0, np.inf]
    )


def test_nan_and_inf_flow_through_gradients_as_values() -> None:
    """log'(0) is inf and a NaN input gives a NaN gradient, without raising."""
    x = Tensor([0.0, np.nan, 1.0], requires_grad=True)
    x.log().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.nan, 1.0])
