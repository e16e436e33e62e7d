"""Optimizers (book Module 06, spec §6): SGD, momentum, Adam and AdamW against the book's
equations in NumPy, their state, and the one-graph step that compiles once."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.core.layers import Linear
from tinytorch.core.losses import MSELoss
from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
G = np.array([[0.1, -0.2], [0.3, 0.4]], dtype=np.float32)


def param_with_grad(value=W0, grad=G) -> Tensor:
    p = Tensor(value, requires_grad=True)
    p.grad = np.array(grad)
    return p


def quadratic_loss(p: Tensor) -> Tensor:
    """0.5 * sum((p - 1)²), so the gradient is p - 1."""
    return ((p - 1.0) * (p - 1.0)).sum() * 0.5


def numpy_adam(w, grads, lr, b1, b2, eps, wd=0.0, decoupled=False):
    """The book's Adam/AdamW equations (spec §6.3, §6.4), step by step, in float64."""
    w, m, v = w.astype(np.float64), np.zeros_like(w, np.float64), np.zeros_like(w, np.float64)
    for t, g in enumerate(grads, start=1):
        g = g(w) if callable(g) else g
        if wd and not decoupled:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        if wd and decoupled:
            w = w * (1 - lr * wd)
    return w


# ----------------------------------------------------------------------- SGD
def test_sgd_single_step_is_w_minus_lr_g():
    """param = param - lr * grad."""
    p = param_with_grad()
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, W0 - 0.1 * G, rtol=1e-6)


def test_sgd_weight_decay_is_coupled_l2():
    """g = grad + wd * param before the update."""
    p = param_with_grad()
    SGD([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, W0 - 0.1 * (G + 0.5 * W0), rtol=1e-6)


def test_sgd_momentum_adds_the_full_gradient():
    """buf = β·buf + g (no dampening, spec §8.17): after two equal grads buf = (1 + β)·g."""
    p = param_with_grad()
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    np.testing.assert_allclose(opt.momentum_buffers[0].data, G)
    opt.step()
    np.testing.assert_allclose(opt.momentum_buffers[0].data, 1.9 * G, rtol=1e-6)
    np.testing.assert_allclose(p.data, W0 - 0.1 * G - 0.1 * 1.9 * G, rtol=1e-6)
    assert opt.step_count == 2 and opt.has_momentum()


def test_sgd_momentum_state_round_trip():
    """get_momentum_state() / set_momentum_state() copy the velocity buffers."""
    p = param_with_grad()
    opt = SGD([p], lr=0.1, momentum=0.9)
    assert opt.get_momentum_state() == [None]
    opt.step()
    state = opt.get_momentum_state()
    np.testing.assert_allclose(state[0], G)
    other = SGD([param_with_grad()], lr=0.1, momentum=0.9)
    other.set_momentum_state(state)
    np.testing.assert_allclose(other.momentum_buffers[0].data, G)
    assert SGD([p]).get_momentum_state() is None and not SGD([p]).has_momentum()


def test_sgd_loop_matches_numpy():
    """Ten momentum steps on 0.5·|w - 1|² equal the book's equations in NumPy."""
    p = Tensor(W0, requires_grad=True)
    opt = SGD([p], lr=0.05, momentum=0.8, weight_decay=0.01)
    w, buf = W0.astype(np.float64), np.zeros((2, 2))
    for _ in range(10):
        quadratic_loss(p).backward()
        opt.step()
        opt.zero_grad()
        g = (w - 1.0) + 0.01 * w
        buf = 0.8 * buf + g
        w = w - 0.05 * buf
    np.testing.assert_allclose(p.data, w, rtol=1e-5)


# ---------------------------------------------------------------------- Adam
def test_adam_first_step_moves_each_weight_by_about_lr():
    """After bias correction, step 1 is lr * g / (|g| + eps) ≈ lr * sign(g)."""
    p = param_with_grad()
    opt = Adam([p], lr=0.01)
    opt.step()
    np.testing.assert_allclose(p.data, numpy_adam(W0, [G], 0.01, 0.9, 0.999, 1e-8), rtol=1e-6)
    np.testing.assert_allclose(p.data, W0 - 0.01 * np.sign(G), rtol=1e-5)
    np.testing.assert_allclose(opt.m_buffers[0].data, 0.1 * G, rtol=1e-6)
    np.testing.assert_allclose(opt.v_buffers[0].data, 0.001 * G**2, rtol=1e-5)
    assert opt.step_count == 1


@pytest.mark.backend_independent
def test_adam_bias_correction_divisors():
    """§6.3: 1 - 0.9^t is 0.1, 0.19, 0.651 at steps 1, 2, 10 and ≈ 0.99997 at 100."""
    opt = Adam([param_with_grad()])
    expected = {1: 0.1, 2: 0.19, 10: 0.6513216, 100: 0.99997344}
    for t, divisor in expected.items():
        opt.step_count = t
        assert opt.bias_corrections()[0] == pytest.approx(divisor)


def test_adam_loop_matches_numpy():
    """Twenty Adam steps (with coupled weight decay) equal the equations in NumPy."""
    p = Tensor(W0, requires_grad=True)
    opt = Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    for _ in range(20):
        quadratic_loss(p).backward()
        opt.step()
        opt.zero_grad()
    expected = numpy_adam(W0, [lambda w: w - 1.0] * 20, 0.05, 0.8, 0.99, 1e-6, wd=0.1)
    np.testing.assert_allclose(p.data, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.backend_independent
def test_adam_increments_step_count_even_when_no_parameter_has_a_grad():
    """The book counts before its loop: a step with no gradients still counts."""
    opt = Adam([Tensor(W0, requires_grad=True)])
    opt.step()
    assert opt.step_count == 1 and opt.m_buffers == [None]


# --------------------------------------------------------------------- AdamW
def test_adamw_shrinks_weights_by_one_minus_lr_wd():
    """§6.4: lr = 0.1, wd = 0.01 multiplies the weights by 0.999 after the Adam step."""
    p = param_with_grad(grad=np.zeros((2, 2), np.float32))
    AdamW([p], lr=0.1, weight_decay=0.01).step()
    np.testing.assert_allclose(p.data, W0 * 0.999, rtol=1e-6)


def test_adamw_moments_see_the_pure_gradient():
    """Unlike Adam(weight_decay=...), AdamW's m is built from the gradient alone."""
    p = param_with_grad()
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()
    np.testing.assert_allclose(opt.m_buffers[0].data, 0.1 * G, rtol=1e-6)
    expected = numpy_adam(W0, [G], 0.1, 0.9, 0.999, 1e-8, wd=0.5, decoupled=True)
    np.testing.assert_allclose(p.data, expected, rtol=1e-6)
    assert AdamW([p]).weight_decay == 0.01


def test_adamw_loop_matches_numpy():
    p = Tensor(W0, requires_grad=True)
    opt = AdamW([p], lr=0.02, weight_decay=0.05)
    for _ in range(15):
        quadratic_loss(p).backward()
        opt.step()
        opt.zero_grad()
    expected = numpy_adam(
        W0, [lambda w: w - 1.0] * 15, 0.02, 0.9, 0.999, 1e-8, wd=0.05, decoupled=True
    )
    np.testing.assert_allclose(p.data, expected, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------- behaviour
@pytest.mark.backend_independent
def test_zero_grad_sets_every_grad_to_none():
    p = param_with_grad()
    opt = SGD([p])
    opt.zero_grad()
    assert p.grad is None


def test_parameters_without_grad_are_skipped():
    """A parameter whose grad is None keeps its value and gets no state."""
    a, b = param_with_grad(), Tensor(W0, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    opt.step()
    np.testing.assert_array_equal(b.data, W0)
    assert opt.momentum_buffers[1] is None


def test_step_rebinds_parameters_and_keeps_their_grad():
    """After step() a parameter is a fresh leaf with the new values; .grad stays readable."""
    p = param_with_grad()
    old = p * 1.0  # built from the old value
    SGD([p], lr=1.0).step()
    assert p.is_leaf and p.requires_grad
    np.testing.assert_allclose(p.grad.data, G)
    np.testing.assert_allclose(old.data, W0)  # graphs built earlier keep the old values


def test_lr_is_a_plain_writable_attribute():
    p = param_with_grad()
    opt = SGD([p], lr=0.1)
    opt.lr = 0.5
    opt.step()
    np.testing.assert_allclose(p.data, W0 - 0.5 * G, rtol=1e-6)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda p: SGD([], lr=0.1), ValueError),
        (lambda p: SGD([p], lr=-1.0), ValueError),
        (lambda p: SGD([np.zeros(2)]), TypeError),
        (lambda p: Adam([p], betas=(1.0, 0.999)), ValueError),
        (lambda p: Adam([p], betas=0.9), TypeError),
        (lambda p: SGD([p, p]), ValueError),
    ],
)
@pytest.mark.backend_independent
def test_bad_optimizer_settings_are_refused(make, error):
    with pytest.raises(error):
        make(Tensor(W0, requires_grad=True))


@pytest.mark.backend_independent
def test_a_failed_step_changes_nothing():
    """A gradient that cannot be applied raises, and neither the step count nor the
    parameter moves."""
    p = param_with_grad()
    opt = Adam([p])
    p._grad = Tensor(np.ones((3, 3), np.float32))  # sneak in a gradient of the wrong shape
    with pytest.raises(ValueError):
        opt.step()
    assert opt.step_count == 0
    np.testing.assert_array_equal(p.data, W0)


@pytest.mark.backend_independent
def test_base_optimizer_needs_a_subclass_step():
    with pytest.raises(NotImplementedError):
        Optimizer([param_with_grad()]).step()


# ------------------------------------------------------- one graph per step
@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.01),
        lambda ps: AdamW(ps, lr=0.01),
    ],
)
def test_training_steps_reuse_one_compiled_plan(make):
    """Forward, backward and update run as one graph per step; from step 2 on the plan
    comes from the cache even though lr and Adam's bias corrections change every step."""
    np.random.seed(0)
    layer = Linear(3, 2)
    opt = make(layer.parameters())
    x = Tensor(np.random.randn(4, 3).astype(np.float32))
    y = Tensor(np.random.randn(4, 2).astype(np.float32))
    cache = tinytorch.runtime.plan_cache
    losses = []
    for step in range(5):
        loss = MSELoss()(layer(x), y)
        loss.backward()
        runs = cache.hits + cache.misses
        misses = cache.misses
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())  # computed by the step's graph: no extra run
        assert cache.hits + cache.misses == runs + 1, "one realization per step"
        if step > 0:
            assert cache.misses == misses, f"step {step} recompiled"
        opt.lr *= 0.9
    assert losses[-1] < losses[0]
