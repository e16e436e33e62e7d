"""Laziness: ops build a graph and compute nothing until a value is read; ``eager_check()``
computes after every op (to find the op that fails)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor


def linear():
    x = Tensor([[1.0, 2.0]])
    w = Tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    b = Tensor([0.5, 0.5, 0.5])
    return x, w, b


def test_nothing_is_computed_until_data_is_read():
    x, w, b = linear()
    y = x @ w + b
    assert y._node.value is None
    np.testing.assert_array_equal(y.data, [[1.5, 2.5, 8.5]])
    assert y._node.value is not None


def test_the_profiler_records_no_node_before_the_read():
    x, w, b = linear()
    with tinytorch.profile() as prof:
        y = x @ w + b
        assert prof.records == []
        _ = y.data
        ops = {r.op for r in prof.records}
    assert "matmul" in ops


@pytest.mark.backend_independent
def test_shape_and_dtype_are_known_without_computing():
    x, w, b = linear()
    y = (x @ w + b).relu().sum(axis=0)
    assert y.shape == (3,)
    assert y.dtype == np.float32
    assert y._node.value is None


def test_reading_one_result_computes_what_it_needs_and_keeps_it():
    x, w, b = linear()
    h = x @ w
    y = h + b
    _ = y.data
    assert y._node.value is not None
    with tinytorch.profile() as prof:
        _ = y.data
    assert prof.records == []


def test_print_tolist_and_numpy_realize_the_tensor():
    for read in (repr, str, lambda t: t.tolist(), lambda t: t.numpy(), np.asarray):
        y = Tensor([1.0, 2.0]) * 3
        read(y)
        assert y._node.value is not None


def test_item_and_bool_realize_the_tensor():
    for read in (lambda t: t.item(), bool, float):
        y = Tensor([2.0]) * 3
        read(y)
        assert y._node.value is not None


def test_backward_computes_nothing_until_a_gradient_is_read():
    w = Tensor([[1.0, 2.0]], requires_grad=True)
    with tinytorch.profile() as prof:
        loss = (w * w).sum()
        loss.backward()
        assert prof.records == []
        _ = w.grad.data
    assert prof.records


def test_eager_check_computes_every_result_at_once():
    x = Tensor([1.0, 2.0])
    with tinytorch.eager_check():
        y = x + 1
        assert y._node.value is not None
        z = y.exp().sum()
        assert z._node.value is not None
    lazy = x + 1
    assert lazy._node.value is None


@pytest.mark.llvm_no_kernel(reason="the failing gather runs on NumPy by design")
def test_eager_check_raises_a_realize_error_at_the_failing_line():
    x = Tensor(np.zeros((3, 2)))
    idx = Tensor([7]) * 1
    with tinytorch.eager_check():
        try:
            x[idx]
        except tinytorch.RealizeError as err:
            assert err.op == "gather"
        else:
            raise AssertionError("eager_check did not compute the gather")
