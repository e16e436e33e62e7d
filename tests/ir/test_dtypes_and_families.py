"""The IR's dtype facts: defined once, and consistent with NumPy's."""

import numpy as np
import pytest

from tinytorch.ir.dtypes import DTYPES, is_bool, is_float, is_int, itemsize


@pytest.mark.parametrize("dtype", DTYPES)
def test_itemsize_is_numpys(dtype):
    assert itemsize(dtype) == np.dtype(dtype).itemsize


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_is_exactly_one_of_float_int_bool(dtype):
    assert [is_float(dtype), is_int(dtype), is_bool(dtype)].count(True) == 1
    assert is_float(dtype) == (np.dtype(dtype).kind == "f")
    assert is_int(dtype) == (np.dtype(dtype).kind in "iu")
