"""Dtypes and axes: values a dtype cannot hold are refused (never wrapped), NumPy's integer
types work wherever Python ints do, and wrong axes are typed errors at the user's line."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.checks import user_error
from tinytorch import Tensor
from tinytorch.ir.errors import OutOfRangeError, ShapeError


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("data", [[2**63], [2**64 - 1], [2**70], [-(2**63) - 1]])
def test_integers_beyond_int64_are_refused_not_wrapped(data):
    """Tensor([2**63]) once became -2**63."""
    err = user_error(OutOfRangeError, lambda: Tensor(data), "Tensor", "int64", "(1,)")
    assert isinstance(err, ValueError)  # `except ValueError` catches it


def test_uint64_array_beyond_int64_is_refused():
    big = np.array([1, 2**64 - 1], dtype=np.uint64)
    user_error(OutOfRangeError, lambda: Tensor(big), "Tensor", "(2,)")


def test_uint64_array_within_range_converts_exactly():
    values = np.array([0, 5, 2**62], dtype=np.uint64)
    np.testing.assert_array_equal(Tensor(values).numpy(), values.astype(np.int64))


def test_the_edges_of_int64_are_kept_exactly():
    edges = [-(2**63), 2**63 - 1]
    assert Tensor(edges).numpy().tolist() == edges


def test_an_int_scalar_beyond_the_tensor_dtype_is_refused_naming_op_and_shape():
    x = Tensor([1, 2])
    user_error(OutOfRangeError, lambda: x * 2**70, "mul", "(2,)", "int64")


def test_an_int_scalar_beyond_float32_is_refused():
    x = Tensor([1.0, 2.0])
    user_error(OutOfRangeError, lambda: x + 10**40, "add", "(2,)", "float32")


def test_a_large_int_scalar_that_fits_works():
    x = Tensor([1, 2])
    np.testing.assert_array_equal((x * 2**40).numpy(), np.array([1, 2]) * 2**40)


def test_an_explicit_dtype_too_small_for_the_data_is_refused():
    user_error(OutOfRangeError, lambda: Tensor([300, 1], dtype="uint8"), "uint8", "(2,)")


# -------------------------------------------------------------------- axes
def ones(*shape: int) -> Tensor:
    return Tensor(np.ones(shape, dtype=np.float32))


@pytest.mark.parametrize("axis", [np.int64(1), np.int32(-1), (np.int64(1),), [np.int8(1)]])
def test_numpy_integer_axes_are_accepted(axis):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(Tensor(x).sum(axis=axis).numpy(), x.sum(axis=1))
    np.testing.assert_allclose(Tensor(x).mean(axis=axis).numpy(), x.mean(axis=1))
    np.testing.assert_allclose(Tensor(x).max(axis=axis).numpy(), x.max(axis=1))


def test_numpy_integer_axes_work_for_softmax_argmax_and_transpose():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert Tensor(x).argmax(axis=np.int64(1)).numpy().tolist() == [2, 2]
    assert Tensor(x).transpose(np.int64(0), np.int64(1)).shape == (3, 2)
    np.testing.assert_allclose(Tensor(x).softmax(np.int64(0)).numpy().sum(axis=0), 1, rtol=1e-6)


def test_an_axis_out_of_range_names_the_op_and_shape():
    x = ones(2, 3)
    user_error(ShapeError, lambda: x.sum(axis=2), "sum", "axis 2", "(2, 3)")


def test_a_float_axis_is_a_type_error_naming_the_op_and_shape():
    x = ones(2, 3)
    user_error(TypeError, lambda: x.mean(axis=1.0), "mean", "(2, 3)")


def test_a_string_axis_is_a_type_error_naming_the_op():
    x = ones(2, 3)
    user_error(TypeError, lambda: x.sum(axis="rows"), "sum", "'rows'", "(2, 3)")


def test_a_repeated_axis_is_refused():
    x = ones(2, 3)
    user_error(ShapeError, lambda: x.sum(axis=(1, -1)), "sum", "repeats")


@pytest.mark.parametrize("data", [[float("nan")], [float("inf")], [1e20]])
def test_floats_an_integer_dtype_cannot_hold_are_refused(data):
    user_error(OutOfRangeError, lambda: Tensor(data, dtype="int64"), "Tensor", "int64", "(1,)")


def test_floats_to_an_integer_dtype_still_truncate_like_numpy():
    np.testing.assert_array_equal(Tensor([1.7, -2.2], dtype="int64").numpy(), [1, -2])


def test_a_numpy_unsigned_scalar_beyond_int64_is_refused():
    x = Tensor([1, 2])
    user_error(OutOfRangeError, lambda: x + np.uint64(2**64 - 1), "add", "(2,)", "int64")
