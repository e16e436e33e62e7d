"""Optimizer settings and parameter updates: nonsense hyper-parameters are refused when
given, a parameter keeps its shape, and writing into ``.data`` never changes results that
were built earlier (the library snapshots what pending graphs read)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tests.reliability.checks import user_error
from tinytorch import Tensor
from tinytorch.ir.errors import ShapeError

OPTIMIZERS = {"SGD": tinytorch.SGD, "Adam": tinytorch.Adam, "AdamW": tinytorch.AdamW}


def param() -> Tensor:
    return Tensor(np.ones(3, np.float32), requires_grad=True)


# ---------------------------------------------------------- hyper-parameters
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -0.1])
def test_a_non_finite_or_negative_learning_rate_is_refused(name, lr):
    make = OPTIMIZERS[name]
    p = param()
    user_error(ValueError, lambda: make([p], lr=lr), "lr")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_string_learning_rate_is_a_type_error(name):
    make = OPTIMIZERS[name]
    p = param()
    user_error(TypeError, lambda: make([p], lr="0.1"), "lr", "str")


def test_a_nan_momentum_is_refused():
    p = param()
    user_error(ValueError, lambda: tinytorch.SGD([p], lr=0.1, momentum=float("nan")), "momentum")


# ------------------------------------------------------------- parameters
def test_assigning_a_wrong_shape_to_a_parameter_is_refused_at_the_assignment():
    layer = tinytorch.Linear(3, 2)

    def assign():
        layer.weight.data = np.ones((5, 5), np.float32)

    user_error(ShapeError, assign, "Tensor.data", "(5, 5)", "(3, 2)")
    assert layer.weight.shape == (3, 2)


def test_a_plain_tensor_may_still_be_rebound_to_another_shape():
    t = Tensor([1.0, 2.0])
    t.data = np.zeros((2, 2))
    assert t.shape == (2, 2)


# ------------------------------------------------------------ in-place writes
def test_writing_into_data_does_not_change_a_result_built_before():
    """Eager semantics (the book's): y was 3*x when it was written."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    x.data[0] = 100.0
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), [100.0, 2.0])  # the write reached x
    np.testing.assert_array_equal((x * 3).numpy(), [300.0, 6.0])  # and later ops


def test_writing_into_data_does_not_change_pending_gradients():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    x.data[:] = [10.0, 20.0]
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])  # d(x^2)/dx at the old x
    assert loss.item() == pytest.approx(5.0)


def test_the_books_manual_update_loop_still_trains():
    """``p.data -= lr * p.grad.data`` (the book's loop before optimizers) minimizes
    (w - 3)^2; reference: the same loop in NumPy."""
    w = Tensor([0.0], requires_grad=True)
    expected = np.array([0.0], np.float32)
    for _ in range(20):
        loss = ((w - 3.0) * (w - 3.0)).sum()
        loss.backward()
        w.data -= 0.1 * w.grad.data
        w.grad = None
        expected -= np.float32(0.1) * 2 * (expected - 3)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)


def test_a_write_into_a_realized_read_only_graph_is_visible_to_new_ops_only():
    x = Tensor(np.arange(4, dtype=np.float32))
    before = x + 1
    np.testing.assert_array_equal(before.numpy(), [1, 2, 3, 4])
    x.data[1] = 50
    after = x + 1
    np.testing.assert_array_equal(before.numpy(), [1, 2, 3, 4])
    np.testing.assert_array_equal(after.numpy(), [1, 51, 3, 4])
