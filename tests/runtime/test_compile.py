"""tinytorch.compile: a step traced once and replayed gives what eager steps give."""

import numpy as np
import pytest

import tinytorch
from tinytorch import SGD, Adam, CrossEntropyLoss, Dropout, Linear, ReLU, Sequential, Tensor


@pytest.fixture(params=["numpy", "llvm"])
def on_backend(request):
    with tinytorch.backend(request.param):
        yield request.param


def _model(seed=0, dropout=0.0):
    np.random.seed(seed)
    layers = [Linear(12, 8), ReLU()] + ([Dropout(dropout)] if dropout else []) + [Linear(8, 3)]
    return Sequential(*layers)


def _data(steps=20, batch=6):
    rng = np.random.default_rng(1)
    return (
        rng.standard_normal((steps, batch, 12)).astype(np.float32),
        rng.integers(0, 3, (steps, batch)),
    )


def _step_fn(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


@pytest.mark.parametrize(
    "make_opt", [lambda p: Adam(p, lr=1e-2), lambda p: SGD(p, lr=0.1, momentum=0.9)]
)
def test_twenty_compiled_steps_equal_twenty_eager_steps(on_backend, make_opt):
    X, Y = _data()
    m1, m2 = _model(), _model()
    o1, o2 = make_opt(m1.parameters()), make_opt(m2.parameters())
    eager = _step_fn(m1, o1, CrossEntropyLoss())
    compiled = tinytorch.compile(_step_fn(m2, o2, CrossEntropyLoss()))
    for i in range(20):
        a = eager(Tensor(X[i]), Tensor(Y[i])).item()
        b = compiled(X[i], Y[i]).item()
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    assert compiled.trace_count == 1 and compiled.replay_count == 19
    assert o1.step_count == o2.step_count == 20
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-5, atol=1e-6)


def test_new_shape_retraces_and_plans_are_bounded(on_backend):
    model = _model()
    step = tinytorch.compile(
        _step_fn(model, SGD(model.parameters(), lr=0.1), CrossEntropyLoss()), max_traces=2
    )
    rng = np.random.default_rng(0)
    for batch in (4, 4, 5, 5):
        step(rng.standard_normal((batch, 12)).astype(np.float32), rng.integers(0, 3, batch))
    assert step.trace_count == 2 and step.replay_count == 2
    with pytest.warns(tinytorch.frontend.compile.CompileWarning, match="runs eagerly"):
        step(rng.standard_normal((7, 12)).astype(np.float32), rng.integers(0, 3, 7))
    loss = step(rng.standard_normal((8, 12)).astype(np.float32), rng.integers(0, 3, 8))
    assert np.isfinite(loss.item())


def test_dropout_masks_differ_per_replayed_step(on_backend):
    drop = Dropout(0.5)

    @tinytorch.compile
    def f(x):
        return drop(x)

    x = np.ones((64,), dtype=np.float32)
    masks = [f(x).data.copy() for _ in range(4)]
    assert f.replay_count == 3
    assert all(set(np.unique(m)) <= {0.0, 2.0} for m in masks)
    assert len({m.tobytes() for m in masks}) == 4


def test_changes_outside_the_function_are_seen(on_backend):
    model = _model()
    opt = SGD(model.parameters(), lr=0.1)
    step = tinytorch.compile(_step_fn(model, opt, CrossEntropyLoss()))
    X, Y = _data(3)
    step(X[0], Y[0])
    w = model.parameters()[0]
    # load_state_dict, and a new learning rate, reach the replay
    state = {k: np.zeros_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    opt.lr = 0.0
    step(X[1], Y[1])
    assert step.trace_count == 1
    np.testing.assert_array_equal(w.data, 0.0)
    # train/eval changes the graph's guard: traced again
    model.eval()
    step(X[2], Y[2])
    assert step.trace_count == 2


def test_reading_a_value_inside_is_refused_with_advice():
    @tinytorch.compile
    def f(x):
        return (x * 2).sum().item()

    with pytest.raises(tinytorch.TraceError, match="Return the tensor"):
        f(np.ones(3, dtype=np.float32))


def test_wrong_arguments_name_the_function():
    @tinytorch.compile
    def my_step(x, y):
        return x + y

    with pytest.raises(TypeError, match="my_step"):
        my_step(np.ones(2))
    with pytest.raises(TypeError, match="my_step"):
        my_step(np.ones(2), [1, 2])


def test_numpy_argument_is_read_afresh(on_backend):
    @tinytorch.compile
    def f(x):
        return x * 3

    a = np.ones(3, dtype=np.float32)
    f(a)
    a[0] = 5.0
    np.testing.assert_array_equal(f(a).data, [15.0, 3.0, 3.0])


def test_a_compiled_cnn_step_equals_eager(on_backend):
    """Convolution, pooling and their gradients (windows/fold) replay like the dense ops."""
    from tinytorch import Conv2d, Flatten, MaxPool2d

    def cnn():
        np.random.seed(3)
        return Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(4 * 3 * 3, 3))

    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 4, 1, 8, 8)).astype(np.float32)
    Y = rng.integers(0, 3, (6, 4))
    m1, m2 = cnn(), cnn()
    o1, o2 = Adam(m1.parameters(), lr=1e-2), Adam(m2.parameters(), lr=1e-2)
    eager = _step_fn(m1, o1, CrossEntropyLoss())
    compiled = tinytorch.compile(_step_fn(m2, o2, CrossEntropyLoss()))
    for i in range(6):
        a = eager(Tensor(X[i]), Tensor(Y[i])).item()
        b = compiled(X[i], Y[i]).item()
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    assert compiled.trace_count == 1
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


def test_gradients_accumulate_across_compiled_calls(on_backend):
    """A step without zero_grad adds to the gradients of the previous call (accumulation
    over micro-batches): the replayed tape reads the live .grad, not the traced one."""
    X, Y = _data(steps=4)
    m1, m2 = _model(), _model()
    loss_fn = CrossEntropyLoss()

    def backward_only(model):
        def step(x, y):
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        return step

    eager, compiled = backward_only(m1), tinytorch.compile(backward_only(m2))
    for i in range(4):
        eager(Tensor(X[i]), Tensor(Y[i]))
        compiled(X[i], Y[i])
    # The first call starts the gradients, later calls add to them: two programs, two traces.
    assert (compiled.trace_count, compiled.replay_count) == (2, 2)
    expected = sum(
        _grad_of_one_batch(_model(), loss_fn, X[i], Y[i]) for i in range(4)
    )  # an independent reference: four separate single-batch gradients, summed
    first = m2.parameters()[0]
    np.testing.assert_allclose(first.grad.data, expected, rtol=1e-4, atol=1e-6)
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-5, atol=1e-6)


def _grad_of_one_batch(model, loss_fn, x, y):
    loss_fn(model(Tensor(x)), Tensor(y)).backward()
    return model.parameters()[0].grad.data.copy()
