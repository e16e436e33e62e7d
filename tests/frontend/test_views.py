"""Views vs copies (spec §1.3): reshape, transpose and slicing of a realized tensor share its
memory; arithmetic always makes new memory, even when the compiler removes the op."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_writing_into_a_reshape_changes_the_original():
    x = Tensor([1, 2, 3, 4])
    y = x.reshape(2, 2)
    y.data[0, 0] = 99
    assert x.tolist() == [99, 2, 3, 4]


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_writing_into_the_original_changes_a_realized_reshape():
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    y = x.reshape(2, 2)
    _ = y.data  # realize the view first
    x.data[3] = -1.0
    assert y.tolist() == [[1.0, 2.0], [3.0, -1.0]]


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_writing_into_a_transpose_changes_the_original():
    x = Tensor([[1, 2], [3, 4]])
    y = x.transpose()
    y.data[0, 1] = 99
    assert x.tolist() == [[1, 2], [99, 4]]


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_writing_into_a_slice_changes_the_original():
    x = Tensor([1, 2, 3, 4])
    y = x[1:3]
    y.data[0] = 99
    assert x.tolist() == [1, 99, 3, 4]


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_writing_into_a_strided_row_slice_changes_the_original():
    x = Tensor(np.arange(12.0).reshape(3, 4))
    y = x[::2, 1]
    y.data[:] = 0.0
    np.testing.assert_array_equal(x.data[:, 1], [0.0, 5.0, 0.0])


@pytest.mark.llvm_no_kernel(reason="views are NumPy views")
def test_a_view_shares_memory_with_its_base():
    x = Tensor(np.arange(6.0))
    assert np.shares_memory(x.reshape(2, 3).data, x.data)
    assert np.shares_memory(x.reshape(2, 3).transpose().data, x.data)


def test_x_plus_zero_does_not_alias_x():
    """The algebraic pass turns x + 0 into x; the result must still be new memory."""
    x = Tensor([1.0, 2.0])
    y = x + 0
    y.data[0] = 99.0
    assert x.tolist() == [1.0, 2.0]
    assert not np.shares_memory(y.data, x.data)


@pytest.mark.llvm_no_kernel(reason="x * 1 simplifies to a copy of x")
def test_x_times_one_does_not_alias_x():
    x = Tensor([1.0, 2.0])
    y = x * 1
    y.data[1] = 77.0
    assert x.tolist() == [1.0, 2.0]


def test_x_minus_zero_and_x_over_one_do_not_alias_x():
    x = Tensor([[1.0, 2.0]])
    for y in (x - 0, x / 1, x + 0.0):
        y.data[0, 0] = 5.0
        assert x.tolist() == [[1.0, 2.0]]


def test_two_equal_results_do_not_share_memory():
    """CSE merges two equal computations; the two tensors still own their values."""
    x = Tensor([1.0, 2.0])
    a, b = x * 2, x * 2
    a.data[0] = 0.0
    assert b.tolist() == [2.0, 4.0]


def test_arithmetic_on_a_view_makes_a_copy():
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    y = x.reshape(2, 2) * 2
    y.data[0, 0] = 0.0
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
