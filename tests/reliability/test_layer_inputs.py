"""Layers called the ways a new user tries: every layer and activation accepts a list or an
ndarray as a constant input (the same answer as a Tensor), and wrong shapes are typed
errors at the user's line naming the layer's op and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tests.reliability.checks import user_error
from tinytorch import Tensor
from tinytorch.ir.errors import ShapeError

LAYERS = {
    "Linear": lambda: tinytorch.Linear(3, 2),
    "ReLU": tinytorch.ReLU,
    "Sigmoid": tinytorch.Sigmoid,
    "Tanh": tinytorch.Tanh,
    "GELU": tinytorch.GELU,
    "Softmax": tinytorch.Softmax,
    "Dropout (eval)": lambda: tinytorch.Dropout(0.5).eval(),
    "Sequential": lambda: tinytorch.Sequential(tinytorch.Linear(3, 4), tinytorch.ReLU()),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("kind", ["ndarray", "list"])
def test_every_layer_accepts_array_likes_like_a_tensor(name, kind):
    np.random.seed(0)
    layer = LAYERS[name]()
    values = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    given = values if kind == "ndarray" else values.tolist()
    got = layer(given)
    assert isinstance(got, Tensor)
    np.testing.assert_allclose(got.numpy(), layer(Tensor(values)).numpy(), rtol=1e-6)


def test_conv2d_and_pooling_accept_an_ndarray_too():
    np.random.seed(0)
    conv, pool = tinytorch.Conv2d(1, 2, kernel_size=3), tinytorch.MaxPool2d(2)
    image = np.random.default_rng(0).standard_normal((1, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(conv(image).numpy(), conv(Tensor(image)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(pool(image).numpy(), pool(Tensor(image)).numpy())


def test_an_array_input_has_no_gradient_but_the_weights_do():
    layer = tinytorch.Linear(3, 2)
    layer(np.ones((2, 3))).sum().backward()
    assert layer.weight.grad is not None
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.full((3, 2), 2.0))


def test_linear_with_the_wrong_input_width_names_both_shapes():
    layer = tinytorch.Linear(3, 2)
    x = Tensor(np.ones((4, 5), np.float32))
    user_error(ShapeError, lambda: layer(x), "matrix multiplication", "(4, 5)", "(3, 2)")


def test_conv2d_with_a_3d_input_names_the_layer_and_shape():
    conv = tinytorch.Conv2d(1, 2, kernel_size=3)
    x = Tensor(np.ones((1, 6, 6), np.float32))
    user_error(ShapeError, lambda: conv(x), "Conv2d", "(1, 6, 6)")


def test_conv2d_with_a_string_is_a_type_error_naming_the_layer():
    conv = tinytorch.Conv2d(1, 2, kernel_size=3)
    user_error(TypeError, lambda: conv("image"), "Conv2d", "str")
