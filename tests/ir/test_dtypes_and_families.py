"""The IR's dtype facts and op families: defined once, and consistent with what they name."""

import numpy as np
import pytest

from tinytorch.ir import all_ops
from tinytorch.ir.dtypes import DTYPES, is_bool, is_float, is_int, itemsize
from tinytorch.ir.families import (
    REDUCTIONS,
    VIEWS,
    is_elementwise,
    is_reduction,
    is_view,
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_itemsize_is_numpys(dtype):
    assert itemsize(dtype) == np.dtype(dtype).itemsize


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_is_exactly_one_of_float_int_bool(dtype):
    assert [is_float(dtype), is_int(dtype), is_bool(dtype)].count(True) == 1
    assert is_float(dtype) == (np.dtype(dtype).kind == "f")
    assert is_int(dtype) == (np.dtype(dtype).kind in "iu")


def test_the_families():
    assert {"reshape", "permute", "slice", "expand"} == VIEWS
    assert {"sum", "max", "min"} == REDUCTIONS
    assert is_view("expand") and not is_view("concat")
    assert is_reduction("sum") and not is_reduction("argmax")
    assert is_elementwise("add") and not is_elementwise("matmul")


def test_every_family_member_is_registered_with_its_kind():
    """Views only move data (injective, or broadcast for expand); reductions are reduce ops."""
    ops = all_ops()
    assert all(ops[op].kind in ("injective", "broadcast") for op in VIEWS)
    assert all(ops[op].kind == "reduce" for op in REDUCTIONS)
    assert not any(ops[op].effectful for op in VIEWS | REDUCTIONS)
