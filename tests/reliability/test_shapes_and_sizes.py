"""Shapes and sizes a user can get wrong: each is a typed error at the user's line whose
message names the op and the shapes; valid NumPy integers are accepted."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reliability.checks import user_error
from tinytorch import Tensor
from tinytorch.ir.errors import ShapeError


def ones(*shape: int) -> Tensor:
    return Tensor(np.ones(shape, dtype=np.float32))


# ----------------------------------------------------------------- shapes
def test_adding_unbroadcastable_shapes_names_both_shapes():
    a, b = ones(2, 3), ones(4)
    user_error(ShapeError, lambda: a + b, "+", "(2, 3)", "(4,)")


def test_matmul_with_mismatched_inner_dimensions_names_both_shapes():
    a, b = ones(2, 3), ones(2, 2)
    user_error(ShapeError, lambda: a @ b, "matrix multiplication", "(2, 3)", "(2, 2)")


def test_reshape_to_a_different_size_names_the_sizes():
    x = ones(2, 3)
    user_error(ShapeError, lambda: x.reshape(4, 2), "Total elements must match", "6")


def test_expand_to_an_incompatible_shape_names_both_shapes():
    x = ones(2, 3)
    user_error(ShapeError, lambda: x.expand(4, 3), "expand", "(2, 3)")


def test_concat_of_mismatched_shapes_names_every_shape():
    from tinytorch import concat

    a, b = ones(2, 3), ones(2, 4)
    user_error(ShapeError, lambda: concat([a, b], axis=0), "concat", "(2, 3)", "(2, 4)")


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize("sizes", [(2.5, 2), (2.0, 2), (True, 4)])
def test_non_integer_reshape_sizes_are_refused_not_truncated(sizes):
    x = ones(4)
    user_error(TypeError, lambda: x.reshape(*sizes), "reshape", "(4,)", "integers")


def test_non_integer_expand_sizes_are_refused_not_truncated():
    x = ones(1, 3)
    user_error(TypeError, lambda: x.expand(2.7, 3), "expand", "(1, 3)", "2.7")


def test_a_string_size_is_a_type_error_naming_reshape_and_the_shape():
    x = ones(4)
    user_error(TypeError, lambda: x.reshape("a"), "reshape", "'a'", "(4,)")


def test_a_tuple_mixed_with_ints_is_a_type_error_naming_reshape():
    x = ones(6)
    user_error(TypeError, lambda: x.reshape((2, 3), 1), "reshape", "(2, 3)", "(6,)")


def test_numpy_integer_sizes_are_accepted():
    x = ones(2, 3)
    assert x.reshape(np.int64(3), np.int32(2)).shape == (3, 2)
    assert ones(1, 3).expand(np.int64(4), 3).shape == (4, 3)
    assert x.reshape((np.int64(6),)).shape == (6,)


# ---------------------------------------------------------- out of memory
def test_running_out_of_memory_is_a_realize_error_naming_the_op_and_line(backend):
    """A 4 TiB intermediate: both backends raise RealizeError naming the op and the line
    where the op was written (llvm once raised NumPy's raw _ArrayMemoryError)."""
    from tinytorch.ir.errors import RealizeError

    x = Tensor(np.ones((1,), np.float32))
    y = x.expand(2**20, 2**20) * 2 + 1  # the huge op
    line = y._node.src.rsplit(":", 1)[1]
    err = user_error(RealizeError, lambda: y.numpy(), "MemoryError", "(1048576, 1048576)")
    assert err.op in ("mul", "add") and err.src.endswith(f"test_shapes_and_sizes.py:{line}")
