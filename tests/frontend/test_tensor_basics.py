"""Module 01 (spec §1): the Tensor's constructor, attributes, arithmetic, matmul, shape
changes, reductions and the ways to get values out. Results are checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor

RNG = np.random.default_rng(0)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------ constructor
@pytest.mark.backend_independent
def test_constructor_accepts_a_nested_list():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3)
    np.testing.assert_array_equal(t.data, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.backend_independent
def test_constructor_accepts_an_ndarray_and_copies_it():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a)
    a[0, 0] = 100.0
    assert t.data[0, 0] == 0.0


@pytest.mark.backend_independent
def test_constructor_accepts_a_python_scalar_as_a_0d_tensor():
    t = Tensor(3.5)
    assert t.shape == ()
    assert t.size == 1
    assert t.item() == 3.5


def test_constructor_accepts_another_tensor():
    t = Tensor(Tensor([1.0, 2.0]) * 2)
    np.testing.assert_array_equal(t.data, [2.0, 4.0])
    assert t.is_leaf


@pytest.mark.parametrize(
    "data, dtype",
    [
        ([1.0, 2.0], np.float32),
        (np.array([1.0, 2.0], dtype=np.float64), np.float32),
        (2.5, np.float32),
        ([1, 2], np.int64),
        (7, np.int64),
        ([1, 2.5], np.float32),
        ([True, False], np.bool_),
        (np.array([1, 0], dtype=bool), np.bool_),
    ],
)
@pytest.mark.backend_independent
def test_float_data_becomes_float32_int_data_int64_and_bool_stays_bool(data, dtype):
    assert Tensor(data).dtype == dtype


@pytest.mark.backend_independent
def test_an_explicit_dtype_is_kept():
    assert Tensor([1, 2], dtype="float64").dtype == np.float64
    assert Tensor([1.0], dtype=np.float16).dtype == np.float16


@pytest.mark.backend_independent
def test_attributes_of_a_new_tensor():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert isinstance(t.data, np.ndarray)
    assert t.shape == (2, 3)
    assert t.size == 6
    assert t.ndim == 2
    assert t.dtype == np.float32
    assert t.grad is None
    assert t.requires_grad is False
    assert Tensor([1.0], requires_grad=True).requires_grad is True


# ------------------------------------------------------------------- arithmetic
A = np.array([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]], dtype=np.float32)
B = np.array([[2.0, 4.0, -1.0], [0.25, 8.0, 3.0]], dtype=np.float32)


@pytest.mark.parametrize(
    "name, tensor_op, numpy_op",
    [
        ("add", lambda a, b: a + b, np.add),
        ("sub", lambda a, b: a - b, np.subtract),
        ("mul", lambda a, b: a * b, np.multiply),
        ("div", lambda a, b: a / b, np.divide),
    ],
)
def test_elementwise_arithmetic_between_tensors_matches_numpy(name, tensor_op, numpy_op):
    out = tensor_op(Tensor(A), Tensor(B))
    np.testing.assert_allclose(out.data, numpy_op(A, B), rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "expr, expected",
    [
        (lambda x: x + 2, A + 2),
        (lambda x: 2 + x, 2 + A),
        (lambda x: x - 2, A - 2),
        (lambda x: 2 - x, 2 - A),
        (lambda x: x * 3, A * 3),
        (lambda x: 3 * x, 3 * A),
        (lambda x: x / 4, A / 4),
        (lambda x: 1 / x, 1 / A),
        (lambda x: -x, -A),
        (lambda x: x**2, A**2),
        (lambda x: 2**x, 2**A),
        (lambda x: x * 3 + 1, A * 3 + 1),
    ],
)
def test_python_scalars_work_on_either_side(expr, expected):
    out = expr(Tensor(A))
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_arithmetic_returns_a_new_tensor_and_leaves_inputs_alone():
    x = Tensor([1.0, 2.0])
    y = x + 1
    assert y is not x
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(y.data, [2.0, 3.0])


# ----------------------------------------------------------------------- matmul
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((2, 3), (3, 4)),
        ((1, 1), (1, 1)),
        ((5, 3, 4), (5, 4, 2)),
        ((5, 3, 4), (4, 2)),
        ((3, 4), (5, 4, 2)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4,)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
        ((2, 3, 4), (4,)),
        ((4,), (2, 4, 3)),
    ],
)
@pytest.mark.llvm_no_kernel(reason="matmul runs on BLAS")
def test_matmul_and_the_at_operator_match_numpy(shape_a, shape_b):
    a, b = randn(*shape_a), randn(*shape_b)
    expected = np.matmul(a, b)
    for out in (Tensor(a).matmul(Tensor(b)), Tensor(a) @ Tensor(b)):
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.llvm_no_kernel(reason="matmul runs on NumPy's matmul")
def test_matmul_of_integer_tensors_stays_integer():
    out = Tensor([[1, 2], [3, 4]]) @ Tensor([[5], [6]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, [[17], [39]])


# ----------------------------------------------------------------------- reshape
@pytest.mark.parametrize(
    "args, shape",
    [
        ((3, 4), (3, 4)),
        (((3, 4),), (3, 4)),
        (([2, 6],), (2, 6)),
        ((2, 2, 3), (2, 2, 3)),
        ((-1,), (12,)),
        ((3, -1), (3, 4)),
        (((-1, 6),), (2, 6)),
        ((2, -1, 3), (2, 2, 3)),
    ],
)
def test_reshape_takes_dims_or_a_tuple_and_infers_minus_one(args, shape):
    x = Tensor(np.arange(12))
    out = x.reshape(*args)
    assert out.shape == shape
    np.testing.assert_array_equal((x.reshape(*args) * 3).data, np.arange(12).reshape(shape) * 3)
    np.testing.assert_array_equal(out.data, np.arange(12).reshape(shape))


# --------------------------------------------------------------------- transpose
@pytest.mark.llvm_no_kernel(reason="a transpose is a NumPy view")
def test_transpose_defaults_to_swapping_the_last_two_axes():
    a = randn(2, 3, 4)
    out = Tensor(a).transpose()
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out.data, np.swapaxes(a, -2, -1))


@pytest.mark.llvm_no_kernel(reason="a transpose is a NumPy view")
def test_transpose_swaps_the_two_axes_given():
    a = randn(2, 3, 4)
    out = Tensor(a).transpose(0, 2)
    assert out.shape == (4, 3, 2)
    np.testing.assert_array_equal(out.data, np.swapaxes(a, 0, 2))


@pytest.mark.llvm_no_kernel(reason="a transpose is a NumPy view")
def test_transpose_of_a_1d_tensor_is_unchanged_and_T_is_transpose():
    np.testing.assert_array_equal(Tensor([1.0, 2.0]).transpose().data, [1.0, 2.0])
    a = randn(2, 3)
    np.testing.assert_array_equal(Tensor(a).T.data, a.T)


# -------------------------------------------------------------------- reductions
R = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10.0


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, -2), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_mean_max_match_numpy_for_every_axis_form(op, axis, keepdims):
    out = getattr(Tensor(R), op)(axis=axis, keepdims=keepdims)
    expected = getattr(np, op)(R, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_sum_without_axis_collapses_to_a_scalar():
    out = Tensor([[1, 2, 3], [4, 5, 6]]).sum()
    assert out.shape == ()
    assert out.item() == 21


@pytest.mark.backend_independent
def test_reductions_accept_positional_axis_and_keepdims():
    out = Tensor(R).sum(1, True)
    assert out.shape == (2, 1, 4)


def test_mean_of_integers_is_float():
    out = Tensor([1, 2, 4]).mean()
    assert out.dtype == np.float32
    assert out.item() == pytest.approx(7 / 3)


# ---------------------------------------------------------------- getting values
def test_numpy_returns_the_values_as_an_ndarray():
    out = (Tensor([1.0, 2.0]) * 2).numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [2.0, 4.0])


def test_item_returns_a_python_number():
    assert Tensor([[3.0]]).item() == 3.0
    assert isinstance(Tensor([2]).sum().item(), int)
    assert isinstance(Tensor(2.0).item(), float)


@pytest.mark.backend_independent
def test_item_of_many_elements_is_a_value_error():
    with pytest.raises(ValueError, match="one element"):
        Tensor([1.0, 2.0]).item()


@pytest.mark.backend_independent
def test_tolist_gives_nested_python_lists():
    assert Tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]


def test_np_asarray_realizes_a_lazy_tensor():
    out = np.asarray(Tensor([1.0, 2.0]) + 1)
    np.testing.assert_array_equal(out, [2.0, 3.0])
    assert np.asarray(Tensor([1.0]), dtype=np.float64).dtype == np.float64


@pytest.mark.backend_independent
def test_np_array_with_copy_does_not_alias_the_tensor():
    t = Tensor([1.0, 2.0])
    a = np.array(t, copy=True)
    a[0] = 5.0
    assert t.tolist() == [1.0, 2.0]


@pytest.mark.llvm_no_kernel(reason="reads leaves and views only")
def test_float_int_and_len_and_iteration():
    assert float(Tensor([2.5])) == 2.5
    assert int(Tensor(3)) == 3
    t = Tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    assert [row.tolist() for row in t] == [[1, 2], [3, 4], [5, 6]]


def test_repr_shows_the_values():
    text = repr(Tensor([1.0, 2.0]) * 2)
    assert text.startswith("Tensor(") and "2." in text and "4." in text
    assert "grad_fn=<MulBackward>" in repr(Tensor([1.0], requires_grad=True) * 2)
