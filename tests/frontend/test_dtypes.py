"""dtypes: the constructor's defaults and the promotion rules (float beats int, the wider of
two floats wins, a Python scalar never widens a tensor)."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.frontend.dtypes import normalize_dtype, promote


@pytest.mark.parametrize(
    "data, dtype",
    [
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.array([1, 2], dtype=np.int64), np.int64),
        (np.array([1, 2], dtype=np.uint64), np.int64),
        (np.array([1.0], dtype=np.float16), np.float16),
        (np.float64(2.0), np.float32),
        (np.int32(2), np.int64),
        ([], np.float32),
    ],
)
@pytest.mark.backend_independent
def test_constructor_dtype_defaults(data, dtype):
    assert Tensor(data).dtype == dtype


@pytest.mark.parametrize(
    "left, right, result",
    [
        (Tensor([1, 2]), Tensor([0.5, 0.5]), np.float32),
        (Tensor([1.0], dtype="float16"), Tensor([1.0]), np.float32),
        (Tensor([1.0]), Tensor([1.0], dtype="float64"), np.float64),
        (Tensor([1], dtype="int32"), Tensor([1]), np.int64),
        (Tensor([True]), Tensor([True]), np.int64),
    ],
)
@pytest.mark.backend_independent
def test_tensor_tensor_promotion(left, right, result):
    assert (left + right).dtype == result
    assert (right * left).dtype == result


@pytest.mark.parametrize(
    "tensor, scalar, result",
    [
        (Tensor([1, 2]), 2, np.int64),
        (Tensor([1, 2]), 2.5, np.float32),
        (Tensor([1.0], dtype="float16"), 2.0, np.float16),
        (Tensor([1.0], dtype="float64"), 2, np.float64),
        (Tensor([True]), 1, np.int64),
    ],
)
@pytest.mark.backend_independent
def test_a_python_scalar_never_widens_a_tensor(tensor, scalar, result):
    assert (tensor * scalar).dtype == result
    assert (scalar + tensor).dtype == result


def test_true_division_of_integers_is_float32():
    out = Tensor([1, 2]) / Tensor([2, 4])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [0.5, 0.5])
    assert (1 / Tensor([4])).dtype == np.float32


def test_integer_power_with_a_negative_exponent_is_float():
    out = Tensor([2, 4]) ** -1
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [0.5, 0.25])


def test_unary_math_on_integers_is_float32():
    assert Tensor([1, 4]).sqrt().dtype == np.float32
    assert Tensor([0]).exp().item() == 1.0


def test_sum_of_bools_counts_them():
    out = (Tensor([1.0, -1.0, 2.0]) > 0).sum()
    assert out.dtype == np.int64
    assert out.item() == 2


@pytest.mark.parametrize("spec", ["float32", np.float32, np.dtype("float32"), float])
@pytest.mark.backend_independent
def test_dtype_names_are_normalized(spec):
    assert normalize_dtype(spec) == "float32"


@pytest.mark.backend_independent
def test_int_and_bool_python_types_name_dtypes():
    assert normalize_dtype(int) == "int64"
    assert normalize_dtype(bool) == "bool"


@pytest.mark.backend_independent
def test_an_unsupported_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="unsupported dtype"):
        Tensor([1.0], dtype="complex64")


@pytest.mark.backend_independent
def test_promote_is_symmetric():
    names = ["bool", "int32", "int64", "float16", "float32", "float64"]
    for a in names:
        for b in names:
            assert promote(a, b) == promote(b, a)


@pytest.mark.backend_independent
def test_setting_data_keeps_the_tensor_dtype():
    t = Tensor([1.0, 2.0])
    t.data = np.array([3.0, 4.0], dtype=np.float64)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, [3.0, 4.0])
