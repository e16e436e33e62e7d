"""Activations (spec §2): ReLU, Sigmoid, Tanh, GELU and Softmax as callable classes with no
parameters, and as Tensor methods."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch import GELU, ReLU, Sigmoid, Softmax, Tanh, Tensor

X = np.array([[-3.0, -1.0, -0.25, 0.0], [0.25, 1.0, 2.0, 5.0]], dtype=np.float32)


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def test_relu_zeroes_negatives():
    assert ReLU()(Tensor([[-1, 0, 1, 2]])).tolist() == [[0, 0, 1, 2]]
    np.testing.assert_array_equal(ReLU()(Tensor(X)).data, np.maximum(X, 0))


@pytest.mark.backend_independent
def test_relu_keeps_the_input_dtype():
    assert ReLU()(Tensor([-1, 2])).dtype == np.int64
    assert ReLU()(Tensor([-1.0, 2.0])).dtype == np.float32


def test_softmax_of_the_books_example():
    out = Softmax()(Tensor([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(out.data, [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-6)


def test_softmax_rows_sum_to_one():
    out = Softmax()(Tensor(X))
    np.testing.assert_allclose(out.data.sum(axis=-1), [1.0, 1.0], rtol=1e-6)
    assert np.all(out.data > 0)


def test_softmax_dim_argument_in_the_constructor_and_the_call():
    e = np.exp(X - X.max(axis=0))
    expected = e / e.sum(axis=0)
    np.testing.assert_allclose(Softmax(dim=0)(Tensor(X)).data, expected, rtol=1e-6)
    np.testing.assert_allclose(Softmax()(Tensor(X), dim=0).data, expected, rtol=1e-6)
    np.testing.assert_allclose(Tensor(X).softmax(dim=0).data, expected, rtol=1e-6)


def test_softmax_of_integers_is_float():
    out = Softmax()(Tensor([1, 2, 3]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, [0.09003057, 0.24472847, 0.66524096], rtol=1e-6)


@pytest.mark.backend_independent
def test_softmax_with_a_bad_dim_is_a_value_error():
    with pytest.raises(ValueError, match="axis"):
        Softmax(dim=2)(Tensor(X))


def test_sigmoid_values_and_range():
    out = Sigmoid()(Tensor(X)).data
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-X.astype(np.float64))), rtol=1e-6)
    assert np.all((out > 0) & (out < 1))
    assert Sigmoid()(Tensor([0.0])).item() == 0.5


def test_sigmoid_is_stable_at_plus_and_minus_1000():
    out = Sigmoid()(Tensor([-1000.0, 1000.0])).data
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [0.0, 1.0], atol=1e-7)


def test_tanh_values_and_range():
    out = Tanh()(Tensor(X)).data
    np.testing.assert_allclose(out, np.tanh(X), rtol=1e-6)
    assert np.all((out >= -1) & (out <= 1))


def test_gelu_uses_the_tanh_approximation():
    np.testing.assert_allclose(GELU()(Tensor(X)).data, gelu_tanh(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(GELU()(Tensor([1.0])).data, [0.8411920], rtol=1e-6)


@pytest.mark.parametrize("cls", [ReLU, Sigmoid, Tanh, GELU, Softmax])
def test_activations_are_callable_and_have_no_parameters(cls):
    act = cls()
    out = act(Tensor(X))
    assert isinstance(out, Tensor) and out.shape == X.shape
    np.testing.assert_array_equal(act.forward(Tensor(X)).data, out.data)
    assert act.parameters() == []


@pytest.mark.parametrize(
    "method, cls",
    [("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh), ("gelu", GELU), ("softmax", Softmax)],
)
def test_activations_are_also_tensor_methods(method, cls):
    np.testing.assert_array_equal(getattr(Tensor(X), method)().data, cls()(Tensor(X)).data)


@pytest.mark.backend_independent
def test_the_module_02_backward_stub_points_to_autograd():
    with pytest.raises(NotImplementedError, match="autograd"):
        ReLU().backward(Tensor([1.0]))
