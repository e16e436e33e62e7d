"""``x[key]``: integers, slices, ``None``, ``...`` and one integer array (the gather that
embeddings use), checked against NumPy (including where NumPy moves the array's dimensions
to the front, and reversed slices that are empty); and the errors for keys that cannot
work."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor

A = np.arange(60, dtype=np.float32).reshape(3, 4, 5)

KEYS = [
    1,
    -1,
    (0, 2),
    (-1, -1, -1),
    slice(1, 3),
    slice(None, None, 2),
    slice(None, None, -1),
    slice(-2, None),
    slice(5, 10),
    (slice(None), slice(1, 3)),
    (slice(None), slice(None, None, -2), 0),
    (Ellipsis, 0),
    (0, Ellipsis),
    (Ellipsis, slice(1, 4), None),
    None,
    (None, 1, None),
    (slice(None), None, 2),
    [2, 0, 2],
    np.array([[0, 1], [1, 0]]),
    np.array([], dtype=np.int64),
    (slice(None), [3, 0]),
    (slice(None), 1, [0, 4]),
    (1, [3, 0]),
    (Ellipsis, [4, 4, 0]),
    ([1], slice(None, 2)),
    (slice(0, 2), [-1, 0], slice(None, None, 2)),
    (None, [0, 2]),
    ([0, 1], 0),
    ([[2], [0]], Ellipsis, None),
    np.array(1),
    (1, slice(None), [3, 0]),
    (-2, None, [-1, 2, -1]),
    (0, slice(1, 3), [[0], [4]]),
    (0, None, [[0], [3]], slice(1, 3)),
    slice(-4, None, -2),
    (slice(None), slice(-5, None, -1)),
    (Ellipsis, slice(-6, -7, -1)),
    slice(3, 0),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_indexing_matches_numpy(key):
    """The indexed tensor, and arithmetic reading it (a kernel indexing through the view, on
    llvm), match NumPy."""
    out = Tensor(A)[key]
    expected = A[key]
    assert out.shape == expected.shape
    np.testing.assert_array_equal((Tensor(A)[key] * 2 + 1).data, expected * 2 + 1)
    np.testing.assert_array_equal(out.data, expected)


@pytest.mark.llvm_no_kernel(reason="indexing with an int is a view")
def test_indexing_a_1d_tensor_with_an_int_gives_a_0d_tensor():
    x = Tensor([10, 20, 30])
    assert x[1].shape == ()
    assert x[1].item() == 20
    assert x[-1].item() == 30


@pytest.mark.llvm_no_kernel(reason="a gather runs on NumPy by design")
def test_indexing_with_an_integer_tensor_gathers_rows():
    """Embedding-style lookup: x[Tensor([2, 0, 2])] takes rows 2, 0 and 2."""
    table = Tensor(np.arange(8.0).reshape(4, 2))
    out = table[Tensor([2, 0, 2])]
    np.testing.assert_array_equal(out.data, [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]])


@pytest.mark.llvm_no_kernel(reason="a gather runs on NumPy by design")
def test_indexing_with_a_0d_integer_tensor_is_like_an_int():
    x = Tensor(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x[Tensor(2)].data, [4.0, 5.0])


def test_indexing_with_a_lazy_integer_tensor_gathers_rows():
    table = Tensor(np.arange(8.0).reshape(4, 2))
    idx = Tensor([1, 3]) - 1
    np.testing.assert_array_equal(table[idx].data, [[0.0, 1.0], [4.0, 5.0]])


@pytest.mark.llvm_no_kernel(reason="a gather runs on NumPy by design")
def test_indexing_columns_with_a_list():
    x = Tensor(np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(x[:, [3, 1]].data, np.arange(12).reshape(3, 4)[:, [3, 1]])


@pytest.mark.llvm_no_kernel(reason="a gather runs on NumPy by design")
def test_indexing_with_a_2d_index_tensor_gives_a_batch_of_rows():
    table = Tensor(np.arange(10.0).reshape(5, 2))
    tokens = Tensor([[0, 4], [2, 2]])
    assert table[tokens].shape == (2, 2, 2)
    np.testing.assert_array_equal(
        table[tokens].data, np.arange(10.0).reshape(5, 2)[[[0, 4], [2, 2]]]
    )


@pytest.mark.llvm_no_kernel(reason="a gather runs on NumPy by design")
def test_indexing_with_a_tensor_key_does_not_compare_it_with_ellipsis():
    """Looking for ``...`` in the key must not call Tensor.__eq__ on a tensor key."""
    x = Tensor(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x[Tensor([1]), 0].data, [2.0])
    np.testing.assert_array_equal(x[..., Tensor([1, 0])].data, [[1, 0], [3, 2], [5, 4]])


@pytest.mark.parametrize("key", [3, -4, (0, 2), (slice(None), 5)])
@pytest.mark.backend_independent
def test_an_out_of_range_integer_is_an_index_error(key):
    x = Tensor(np.zeros((3, 2)))
    with pytest.raises(IndexError, match="out of bounds"):
        x[key]


@pytest.mark.parametrize("key", [[0, 3], np.array([-4]), Tensor([0, 7])])
@pytest.mark.backend_independent
def test_an_out_of_range_index_array_is_an_index_error(key):
    x = Tensor(np.zeros((3, 2)))
    with pytest.raises(IndexError, match="out of bounds"):
        x[key]


@pytest.mark.parametrize(
    "mask", [[True, False, True], np.array([True, False, True]), Tensor([True, False, True])]
)
@pytest.mark.backend_independent
def test_a_boolean_mask_is_an_index_error_that_suggests_where(mask):
    x = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match="boolean mask") as info:
        x[mask]
    assert "where" in str(info.value)


@pytest.mark.backend_independent
def test_a_mask_built_by_a_comparison_is_refused_too():
    x = Tensor([1.0, -2.0, 3.0])
    with pytest.raises(IndexError, match="boolean"):
        x[x > 0]


@pytest.mark.backend_independent
def test_float_indices_are_refused():
    x = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(IndexError):
        x[1.0]
    with pytest.raises(IndexError):
        x[[0.0, 1.0]]


@pytest.mark.backend_independent
def test_too_many_indices_are_refused():
    with pytest.raises(IndexError, match="too many indices"):
        Tensor([1.0, 2.0])[0, 0]


@pytest.mark.backend_independent
def test_two_ellipses_are_refused():
    with pytest.raises(IndexError, match="ellipsis"):
        Tensor(np.zeros((2, 2)))[..., ...]


@pytest.mark.backend_independent
def test_two_index_arrays_are_refused_with_a_hint():
    with pytest.raises(IndexError, match="two steps"):
        Tensor(np.zeros((3, 3)))[[0, 1], [1, 2]]
