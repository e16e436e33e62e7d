"""Autograd (spec §5): backward(), .grad accumulation, zero_grad, the requires_grad rule,
no_grad, the book's ``*Backward`` names on grad_fn, Function.apply, broadcasting gradients,
and every op's gradient against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
import tinytorch.core.autograd as autograd
from tinytorch import Tensor
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax


# ------------------------------------------------------------------ backward
@pytest.mark.llvm_no_kernel(reason="its gradient folds to a constant")
def test_backward_of_a_scalar_fills_grad_of_the_leaves():
    x = Tensor([2.0], requires_grad=True)
    y = x * 3 + 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0])


@pytest.mark.backend_independent
def test_grad_is_a_tensor_of_the_parameter_shape_and_dtype():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    (w * 2).sum().backward()
    assert isinstance(w.grad, Tensor)
    assert w.grad.shape == (3, 2)
    assert w.grad.dtype == np.float32


def test_gradients_are_lazy_until_read():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad._node.value is None
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert x.grad._node.value is not None


def test_calling_backward_twice_doubles_the_gradient():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    W = Tensor([[3.0], [4.0]], requires_grad=True)
    loss = (x.matmul(W) * x.matmul(W)).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [[132.0, 176.0]])
    np.testing.assert_array_equal(W.grad.data, [[44.0], [88.0]])


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    """y = x*x + x: dy/dx = 2x + 1."""
    x = Tensor([3.0], requires_grad=True)
    (x * x + x).backward()
    np.testing.assert_array_equal(x.grad.data, [7.0])


@pytest.mark.llvm_no_kernel(reason="its gradients fold to constants")
def test_zero_grad_resets_to_none():
    x = Tensor([1.0], requires_grad=True)
    (x * 2).backward()
    assert x.grad is not None
    x.zero_grad()
    assert x.grad is None
    (x * 5).backward()
    np.testing.assert_array_equal(x.grad.data, [5.0])


@pytest.mark.backend_independent
def test_backward_of_a_non_scalar_without_gradient_is_the_books_value_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="backward\\(\\) requires gradient for non-scalar"):
        (x * 2).backward()


def test_backward_with_an_explicit_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(Tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 40.0])
    x.zero_grad()
    (x * x).backward(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0])


@pytest.mark.backend_independent
def test_backward_with_a_gradient_of_the_wrong_shape_is_a_value_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


@pytest.mark.llvm_no_kernel(reason="the gradient is a copy of the seed")
def test_the_gradient_passed_to_backward_is_not_shared_with_grad():
    """x.grad must be its own memory, not the array the user passed in."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = Tensor([1.0, 1.0])
    (x + 1).backward(seed)
    x.grad.data[0] = 100.0
    assert seed.tolist() == [1.0, 1.0]


@pytest.mark.llvm_no_kernel(reason="its gradients fold to constants")
def test_inputs_of_an_add_get_separate_gradient_memory():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    (a + b).backward()
    a.grad.data[0] = 50.0
    assert b.grad.tolist() == [1.0]


def test_an_assigned_grad_takes_the_tensor_dtype_and_keeps_accumulating():
    """Optimizers and clip_grad_norm assign .grad; later backward calls add to it."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = Tensor([1, 1])
    assert x.grad.dtype == np.float32
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    x.grad = np.array([0.5, 0.5])
    assert isinstance(x.grad, Tensor)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.5, 2.5])


@pytest.mark.backend_independent
def test_backward_on_a_tensor_that_needs_no_grad_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).backward()


def test_intermediate_tensors_get_grad_too():
    """The book's backward() stores .grad on every tensor on the path, not only leaves."""
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    z = (h * h).sum()
    z.backward()
    np.testing.assert_array_equal(h.grad.data, [4.0, 8.0])
    np.testing.assert_array_equal(x.grad.data, [8.0, 16.0])
    assert z.grad.item() == 1.0


def test_a_bias_broadcast_over_a_batch_gets_its_gradient_summed_back():
    X = Tensor(np.zeros((4, 3)))
    bias = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    upstream = np.arange(12, dtype=np.float32).reshape(4, 3)
    (X + bias).backward(upstream)
    assert bias.grad.shape == (3,)
    np.testing.assert_array_equal(bias.grad.data, upstream.sum(axis=0))


def test_a_keepdims_broadcast_gets_its_gradient_summed_back():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    col = Tensor(np.ones((2, 1)), requires_grad=True)
    (x * col).sum().backward()
    np.testing.assert_array_equal(col.grad.data, [[3.0], [3.0]])


def test_integer_operands_get_no_gradient_but_pass_one_on():
    a = Tensor([1, 2])
    b = Tensor([1.0, 2.0], requires_grad=True)
    (a * b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])
    assert a.grad is None


# ----------------------------------------------------- requires_grad, no_grad
@pytest.mark.backend_independent
def test_requires_grad_is_on_when_any_input_requires_it():
    a, b = Tensor([1.0]), Tensor([1.0], requires_grad=True)
    assert (a + b).requires_grad
    assert (b * a).requires_grad
    assert not (a + a).requires_grad
    assert (b.reshape(1, 1)).requires_grad


@pytest.mark.backend_independent
def test_integer_results_never_require_grad():
    b = Tensor([1.0, 2.0], requires_grad=True)
    assert not b.argmax().requires_grad
    assert not (b > 1).requires_grad


@pytest.mark.backend_independent
def test_requires_grad_on_integers_is_refused():
    with pytest.raises(TypeError):
        Tensor([1, 2], requires_grad=True)


@pytest.mark.backend_independent
def test_no_grad_builds_results_that_do_not_track():
    w = Tensor([1.0], requires_grad=True)
    with tinytorch.no_grad():
        y = w * 2
    assert not y.requires_grad
    assert y.grad_fn is None
    assert tinytorch.is_grad_enabled()
    assert (w * 2).requires_grad


def test_detach_cuts_the_graph():
    w = Tensor([1.0], requires_grad=True)
    d = (w * 2).detach()
    assert not d.requires_grad
    assert d.item() == 2.0


@pytest.mark.backend_independent
def test_enable_autograd_quiet_prints_nothing(capsys):
    tinytorch.enable_autograd(quiet=True)
    assert capsys.readouterr().out == ""


@pytest.mark.backend_independent
def test_enable_autograd_prints_a_message(capsys):
    tinytorch.enable_autograd(quiet=False)
    assert capsys.readouterr().out.strip() != ""


# ------------------------------------------------------------------ grad_fn
X = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5

GRAD_FN_NAMES = [
    ("AddBackward", lambda x: x + 1),
    ("AddBackward", lambda x: 1 + x),
    ("SubBackward", lambda x: x - x),
    ("SubBackward", lambda x: 2 - x),
    ("MulBackward", lambda x: x * 2),
    ("DivBackward", lambda x: x / 2),
    ("DivBackward", lambda x: 1 / x),
    ("MatmulBackward", lambda x: x @ Tensor(np.ones((3, 2)))),
    ("MatmulBackward", lambda x: x.matmul(Tensor(np.ones(3)))),
    ("MatmulBackward", lambda x: Tensor(np.ones(2)) @ x),
    ("SumBackward", lambda x: x.sum()),
    ("SumBackward", lambda x: x.sum(axis=0)),
    ("MeanBackward", lambda x: x.mean()),
    ("MeanBackward", lambda x: x.mean(axis=1, keepdims=True)),
    ("ReshapeBackward", lambda x: x.reshape(3, 2)),
    ("TransposeBackward", lambda x: x.transpose()),
    ("TransposeBackward", lambda x: x.T),
    ("PermuteBackward", lambda x: x.permute(1, 0)),
    ("ReLUBackward", lambda x: x.relu()),
    ("ReLUBackward", lambda x: ReLU()(x)),
    ("SigmoidBackward", lambda x: Sigmoid()(x)),
    ("SoftmaxBackward", lambda x: Softmax()(x)),
    ("SoftmaxBackward", lambda x: x.softmax(dim=0)),
    ("GELUBackward", lambda x: GELU()(x)),
    ("SliceBackward", lambda x: x[0]),
    ("SliceBackward", lambda x: x[:, 1:]),
    ("EmbeddingBackward", lambda x: x[Tensor([1, 0, 1])]),
    ("EmbeddingBackward", lambda x: x[[1, 1]]),
    ("EmbeddingBackward", lambda x: x[1, None, [0, 2]]),
    ("VarBackward", lambda x: x.var()),
    ("ClipBackward", lambda x: x.clip(-1.0, 1.0)),
    ("ClipBackward", lambda x: x.clip(Tensor([0.0, 0.0, 0.0]), 1.0)),
    ("StackBackward", lambda x: tinytorch.stack([x, x])),
]


@pytest.mark.parametrize("name, build", GRAD_FN_NAMES, ids=[n for n, _ in GRAD_FN_NAMES])
@pytest.mark.backend_independent
def test_grad_fn_carries_the_books_backward_name(name, build):
    y = build(Tensor(X, requires_grad=True))
    assert type(y.grad_fn).__name__ == name
    assert isinstance(y.grad_fn, autograd.function_class(name))
    assert isinstance(y.grad_fn, autograd.Function)
    assert repr(y.grad_fn) == f"<{name}>"


@pytest.mark.backend_independent
def test_the_books_backward_classes_import_from_core_autograd():
    y = Tensor(X, requires_grad=True) + 1
    assert isinstance(y.grad_fn, autograd.AddBackward)
    for name in ("MulBackward", "MatmulBackward", "SoftmaxBackward", "EmbeddingBackward"):
        assert issubclass(getattr(autograd, name), autograd.Function)


@pytest.mark.backend_independent
def test_grad_fn_is_none_for_leaves_and_untracked_results():
    x = Tensor(X, requires_grad=True)
    assert x.grad_fn is None
    assert (Tensor(X) + 1).grad_fn is None


@pytest.mark.backend_independent
def test_grad_fn_saved_tensors_are_the_tensors_passed_to_the_op():
    x = Tensor(X, requires_grad=True)
    b = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    fn = (x + b).grad_fn
    assert fn.saved_tensors[0] is x
    assert fn.saved_tensors[1] is b


@pytest.mark.backend_independent
def test_grad_fn_of_a_composite_op_saves_the_users_input():
    x = Tensor(X, requires_grad=True)
    for y in (x.softmax(), x.mean(axis=0), x.var(), x[Tensor([0, 1])]):
        assert y.grad_fn.saved_tensors[0] is x


def test_a_tensor_used_twice_in_one_op_is_saved_once():
    x = Tensor([3.0], requires_grad=True)
    fn = (x * x).grad_fn
    assert len(fn.saved_tensors) == 1
    np.testing.assert_array_equal(fn.apply(np.ones(1))[0], [6.0])


@pytest.mark.llvm_no_kernel(reason="matmul gradients run on BLAS")
def test_grad_fn_apply_returns_numpy_gradients_for_each_saved_tensor():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    W = Tensor([[3.0], [4.0]], requires_grad=True)
    grad_x, grad_w = x.matmul(W).grad_fn.apply(np.ones((1, 1)))
    assert isinstance(grad_x, np.ndarray) and isinstance(grad_w, np.ndarray)
    np.testing.assert_array_equal(grad_x, [[3.0, 4.0]])
    np.testing.assert_array_equal(grad_w, [[1.0], [2.0]])


def test_grad_fn_apply_gives_the_broadcast_input_its_own_shape():
    x = Tensor(X, requires_grad=True)
    b = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    grad_x, grad_b = (x + b).grad_fn.apply(np.ones((2, 3)))
    assert grad_x.shape == (2, 3)
    np.testing.assert_array_equal(grad_b, [2.0, 2.0, 2.0])


@pytest.mark.backend_independent
def test_grad_fn_apply_returns_separate_arrays_for_each_input():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    grad_a, grad_b = (a + b).grad_fn.apply(np.ones(1))
    grad_a[0] = 9.0
    assert grad_b.tolist() == [1.0]


def test_grad_fn_apply_returns_none_for_an_input_without_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    grad_x, grad_c = (x * c).grad_fn.apply(np.ones(2))
    np.testing.assert_array_equal(grad_x, [3.0, 4.0])
    assert grad_c is None


@pytest.mark.llvm_no_kernel(reason="stack gradients are slices: views")
def test_grad_fn_apply_with_several_inputs_without_grad():
    x = Tensor([1.0], requires_grad=True)
    grads = tinytorch.stack([x, Tensor([2.0]), Tensor([3.0])]).grad_fn.apply(np.ones((3, 1)))
    assert grads[1] is None and grads[2] is None
    np.testing.assert_array_equal(grads[0], [1.0])


def test_grad_fn_apply_of_a_composite_op_reaches_its_input():
    """mean is built from sum and a multiply; its grad_fn still acts on x."""
    x = Tensor(X, requires_grad=True)
    (grad_x,) = x.mean().grad_fn.apply(np.array(1.0))
    np.testing.assert_allclose(grad_x, np.full((2, 3), 1 / 6), rtol=1e-6)


def test_grad_fn_apply_does_not_touch_grad():
    x = Tensor([1.0], requires_grad=True)
    (x * 2).grad_fn.apply(np.ones(1))
    assert x.grad is None


# --------------------------------------------------------------- embeddings
@pytest.mark.llvm_no_kernel(reason="gather and scatter_add run on NumPy by design")
def test_repeated_rows_of_a_gather_accumulate_gradient():
    table = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = table[Tensor([2, 0, 2])]
    rows.sum().backward()
    np.testing.assert_array_equal(table.grad.data, [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]])


# ----------------------------------------------- gradients vs finite differences
RNG = np.random.default_rng(7)
W34 = RNG.standard_normal((3, 4))
V3 = RNG.standard_normal(3)
B242 = RNG.standard_normal((2, 4, 2))


def const(a: np.ndarray) -> Tensor:
    return Tensor(a, dtype="float64")


OPS = {
    "add_bcast": lambda t: t + const(W34[0]),
    "sub": lambda t: const(W34) - t * t,
    "mul": lambda t: t * const(W34),
    "div": lambda t: const(W34) / (t * t + 1),
    "pow": lambda t: t**3,
    "rpow": lambda t: 2.0**t,
    "neg": lambda t: -t,
    "exp": lambda t: t.exp(),
    "log": lambda t: (t * t + 1).log(),
    "sqrt": lambda t: (t * t + 1).sqrt(),
    "abs": lambda t: abs(t),
    "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
    "gelu": lambda t: t.gelu(),
    "softmax": lambda t: t.softmax() * const(W34),
    "softmax_dim0": lambda t: t.softmax(dim=0) * const(W34),
    "sum_axis": lambda t: t.sum(axis=1) * const(V3),
    "mean": lambda t: t.mean(axis=1, keepdims=True) * const(W34),
    "var": lambda t: t.var(axis=0, ddof=1),
    "max": lambda t: t.max(axis=1),
    "min": lambda t: t.min(),
    "maximum": lambda t: t.maximum(0.1),
    "minimum": lambda t: t.minimum(const(W34)),
    "clip": lambda t: t.clip(-0.5, 0.5),
    "where": lambda t: tinytorch.where(t > 0, t * 2, t * t),
    "matmul": lambda t: t.transpose() @ const(W34[:, :2]),
    "vecmat": lambda t: const(V3) @ t,
    "matvec": lambda t: t @ const(W34[0]),
    "batched": lambda t: t.reshape(1, 3, 4) @ const(B242),
    "reshape": lambda t: t.reshape(2, 6) ** 2,
    "permute": lambda t: t[None].permute(2, 0, 1) ** 2,
    "expand": lambda t: t[None].expand(2, 3, 4) ** 2,
    "flatten": lambda t: t.flatten() ** 2,
    "squeeze": lambda t: t[:, :1].squeeze() ** 2,
    "slice": lambda t: t[1:, ::-2] * 3,
    "gather": lambda t: t[Tensor([2, 0, 2])] * const(W34),
    "gather_cols": lambda t: t[:, [3, 3, 0]] ** 2,
    "gather_to_front": lambda t: t[1, None, [3, 0, 3]] ** 2,
    "concat": lambda t: tinytorch.concat([t, t * 2], axis=0) ** 2,
    "stack": lambda t: tinytorch.stack([t, t * t], axis=1),
}


def finite_difference(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(const(up)).data.sum() - f(const(down)).data.sum()) / (2 * eps)
    return grad


# Their gradients are matmuls too: BLAS on llvm, no compiled kernel.
BLAS_ONLY = {"matmul", "vecmat", "matvec"}


@pytest.mark.parametrize("name", list(OPS))
def test_gradient_matches_finite_differences(name, llvm_exempt):
    if name in BLAS_ONLY:
        llvm_exempt.no_kernel("a matmul and its gradient run on BLAS")
    f = OPS[name]
    a = np.random.default_rng(3).standard_normal((3, 4))
    x = Tensor(a, dtype="float64", requires_grad=True)
    y = f(x)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(x.grad.data, finite_difference(f, a), atol=1e-5)


def test_relu_gradient_is_one_for_positive_and_zero_for_negative_input():
    x = Tensor([-2.0, -0.5, 0.5, 3.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0, 1.0])


def test_a_few_steps_of_gradient_descent_match_numpy():
    """The book's update: param.data = param.data - lr * grad, then zero_grad()."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3)).astype(np.float32)
    t = rng.standard_normal((8, 1)).astype(np.float32)
    w0 = rng.standard_normal((3, 1)).astype(np.float32)
    w = Tensor(w0, requires_grad=True)
    ref = w0.copy()
    for _ in range(3):
        loss = ((Tensor(X) @ w - Tensor(t)) ** 2).mean()
        loss.backward()
        w.data = w.data - 0.1 * w.grad.data
        w.zero_grad()
        ref = ref - 0.1 * (2 / 8) * X.T @ (X @ ref - t)
    np.testing.assert_allclose(w.data, ref, rtol=1e-5, atol=1e-6)
    assert w.requires_grad and w.is_leaf
