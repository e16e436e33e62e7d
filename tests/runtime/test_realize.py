"""realize(): laziness, the plan cache, aliasing rules, errors during a run."""

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.runtime import plan_cache


def test_nothing_is_computed_until_a_value_is_read():
    """``y = x @ w + b`` only builds nodes; reading ``y.data`` runs them."""
    x, w, b = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4))), Tensor(np.ones(4))
    with tinytorch.profile() as prof:
        y = x @ w + b
    assert prof.records == [] and y._node.value is None
    with tinytorch.profile() as prof:
        data = y.data
    np.testing.assert_allclose(data, np.full((2, 4), 4.0))
    assert {r.op for r in prof.records} >= {"matmul", "add"}


def test_a_repeated_graph_reuses_its_compiled_plan():
    """The second run of the same program on new data is a cache hit: no passes run."""

    def step(seed):
        rng = np.random.default_rng(seed)
        x = Tensor(rng.standard_normal((5, 7)))
        return ((x * 2.0).exp().sum(axis=1)).numpy(), x.numpy()

    step(0)
    hits = plan_cache.hits
    got, x = step(1)
    assert plan_cache.hits == hits + 1
    np.testing.assert_allclose(got, np.exp(x * 2.0).sum(axis=1), rtol=1e-5)


def test_plans_differ_by_shape():
    """A new shape is a new plan (the signature includes shapes)."""
    before = len(plan_cache)
    for n in (3, 4):
        (Tensor(np.ones(n)) * 3.0 + 17.5).numpy()
    assert len(plan_cache) >= min(before + 1, plan_cache.capacity)


def test_plan_cache_is_bounded():
    """Thousands of distinct shapes do not grow the cache past its capacity."""
    for n in range(1, 40):
        (Tensor(np.ones((n, 2))) + 1.25).numpy()
    assert len(plan_cache) <= plan_cache.capacity


def test_results_shared_between_tensors_are_copies():
    """CSE merges equal expressions, but the two results do not alias each other."""
    x = Tensor([1.0, 2.0])
    a, b = x + 1, x + 1
    tinytorch.runtime.realize([a._node, b._node])
    a.data[0] = 100.0
    assert b.data[0] == 2.0


def test_identity_ops_do_not_alias_their_input():
    """``x * 1`` simplifies to ``x`` in the IR, yet its result is new memory."""
    x = Tensor([1.0, 2.0])
    assert x.data is not None  # a leaf: its data already exists
    y = x * 1
    y.data[0] = 50.0
    assert x.data[0] == 1.0


def test_view_ops_share_memory_with_a_realized_input():
    """The book's views: reshape of a realized tensor writes through."""
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    y = x.reshape(2, 2)
    y.data[0, 0] = 99.0
    assert x.data[0] == 99.0


def test_nan_and_inf_stay_values():
    """No exception and no warning turns into an error: IEEE values flow through."""
    x = Tensor([0.0, -1.0, np.inf])
    out = (x.log() / x).numpy()
    assert np.isnan(out[1]) and np.isnan(out[2]) and out[0] == -np.inf


def test_an_error_inside_a_kernel_names_the_op_and_the_user_line():
    """An index that is only known at run time fails in the backend, but the message points
    at the line that wrote the gather."""
    x = Tensor(np.arange(6.0).reshape(3, 2))
    idx = Tensor([7]) * 1  # lazy: cannot be checked when written
    y = x[idx]  # the line the error must name
    line = y._node.src
    with pytest.raises(tinytorch.RealizeError) as info:
        y.numpy()
    assert "gather" in str(info.value) and line in str(info.value)
    assert info.value.op == "gather" and "test_realize.py" in info.value.src


def test_the_pipeline_can_be_changed_and_results_do_not():
    """Turning every pass off changes the plan, never the values."""
    rng = np.random.default_rng(3)
    data = rng.standard_normal((4, 4)).astype(np.float32)

    def program():
        x = Tensor(data)
        return ((x * 1.0 + 0.0).transpose().transpose() - x.sum()).numpy()

    optimized = program()
    tinytorch.set_pipeline([])
    try:
        assert tinytorch.get_pipeline() == []
        plain = program()
    finally:
        tinytorch.set_pipeline(None)
    np.testing.assert_allclose(optimized, plain, rtol=1e-6)
    assert len(tinytorch.get_pipeline()) > 0


def test_eager_check_realizes_each_op_as_it_is_written():
    with tinytorch.eager_check():
        y = Tensor([1.0, 2.0]) * 3
        assert y._node.value is not None
    z = Tensor([1.0]) * 3
    assert z._node.value is None


def test_pending_tensors_in_the_same_graph_are_realized_together():
    """Realizing the updated weight also computes the loss the loop still holds, so reading
    the loss afterwards runs nothing (DESIGN: realize pending tensors together)."""
    w = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = Tensor([[1.0, 1.0]])
    loss = ((x @ w) ** 2).sum()
    loss.backward()
    new_w = w - w.grad * 0.1
    new_w.numpy()
    assert loss._node.value is not None and w.grad._node.value is not None
    with tinytorch.profile() as prof:
        value = loss.item()
    assert prof.records == [] and value == 16.0 + 36.0
