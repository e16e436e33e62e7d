"""The other ops a Tensor offers (math, comparisons, shape changes, joining), each checked
against NumPy for values, shape and dtype."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)
P = np.abs(A) + 0.5
C = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

CASES = {
    "exp": (lambda: Tensor(A).exp(), np.exp(A)),
    "log": (lambda: Tensor(P).log(), np.log(P)),
    "sqrt": (lambda: Tensor(P).sqrt(), np.sqrt(P)),
    "abs": (lambda: Tensor(A).abs(), np.abs(A)),
    "abs_builtin": (lambda: abs(Tensor(A)), np.abs(A)),
    "maximum_scalar": (lambda: Tensor(A).maximum(0.5), np.maximum(A, 0.5)),
    "maximum_tensor": (
        lambda: Tensor(A).maximum(Tensor([0.0, 0.0, 5.0])),
        np.maximum(A, [0.0, 0.0, 5.0]),
    ),
    "minimum_tensor": (
        lambda: Tensor(A).minimum(Tensor([[0.0], [1.0]])),
        np.minimum(A, [[0.0], [1.0]]),
    ),
    "clip": (lambda: Tensor(A).clip(-1.0, 1.0), np.clip(A, -1.0, 1.0)),
    "clip_min_only": (lambda: Tensor(A).clip(min=0.0), np.clip(A, 0.0, None)),
    "clip_max_only": (lambda: Tensor(A).clip(max=0.0), np.clip(A, None, 0.0)),
    "clip_tensor_bounds": (
        lambda: Tensor(A).clip(Tensor([0.0, -1.0, 0.0]), 2.0),
        np.clip(A, [0.0, -1.0, 0.0], 2.0),
    ),
    "where": (lambda: tinytorch.where(Tensor(A) > 0, Tensor(A), 0.0), np.where(A > 0, A, 0.0)),
    "where_tensors": (
        lambda: tinytorch.where(Tensor([True, False, True]), Tensor(A), -Tensor(A)),
        np.where([True, False, True], A, -A),
    ),
    "argmax": (lambda: Tensor(A).argmax(), np.argmax(A)),
    "argmax_axis": (lambda: Tensor(A).argmax(axis=1), np.argmax(A, axis=1)),
    "argmax_keepdims": (
        lambda: Tensor(A).argmax(axis=0, keepdims=True),
        np.argmax(A, axis=0, keepdims=True),
    ),
    "min": (lambda: Tensor(A).min(), np.min(A)),
    "min_axis": (lambda: Tensor(A).min(axis=0), np.min(A, axis=0)),
    "var": (lambda: Tensor(A).var(), np.var(A)),
    "var_axis_ddof1": (lambda: Tensor(A).var(axis=1, ddof=1), np.var(A, axis=1, ddof=1)),
    "var_keepdims": (
        lambda: Tensor(A).var(axis=0, keepdims=True),
        np.var(A, axis=0, keepdims=True),
    ),
    "permute": (lambda: Tensor(C).permute(2, 0, 1), np.transpose(C, (2, 0, 1))),
    "permute_tuple": (lambda: Tensor(C).permute((1, 2, 0)), np.transpose(C, (1, 2, 0))),
    "expand": (
        lambda: Tensor([[1.0], [2.0]]).expand(2, 3),
        np.broadcast_to(np.array([[1.0], [2.0]], dtype=np.float32), (2, 3)),
    ),
    "expand_minus_one": (
        lambda: Tensor([[1.0], [2.0]]).expand(4, -1, 3),
        np.broadcast_to(np.array([[1.0], [2.0]], dtype=np.float32), (4, 2, 3)),
    ),
    "broadcast_to": (
        lambda: Tensor([1.0, 2.0, 3.0]).broadcast_to((2, 3)),
        np.broadcast_to(np.array([1.0, 2.0, 3.0], dtype=np.float32), (2, 3)),
    ),
    "squeeze": (lambda: Tensor(np.zeros((1, 3, 1))).squeeze(), np.zeros(3)),
    "squeeze_axis": (lambda: Tensor(np.zeros((1, 3, 1))).squeeze(0), np.zeros((3, 1))),
    "unsqueeze": (lambda: Tensor(A).unsqueeze(1), A[:, None]),
    "unsqueeze_last": (lambda: Tensor(A).unsqueeze(-1), A[..., None]),
    "flatten": (lambda: Tensor(C).flatten(), C.reshape(-1)),
    "flatten_from_1": (lambda: Tensor(C).flatten(1), C.reshape(2, 12)),
    "concat": (
        lambda: tinytorch.concat([Tensor(A), Tensor(A * 2)], axis=1),
        np.concatenate([A, A * 2], axis=1),
    ),
    "cat_alias": (lambda: tinytorch.cat([Tensor(A), Tensor(A)]), np.concatenate([A, A])),
    "stack": (lambda: tinytorch.stack([Tensor(A), Tensor(-A)], axis=1), np.stack([A, -A], 1)),
    "stack_last": (lambda: tinytorch.stack([Tensor(A), Tensor(A)], axis=-1), np.stack([A, A], -1)),
    "astype_int": (lambda: Tensor(A).astype("int64"), A.astype(np.int64)),
    "astype_np": (lambda: Tensor([1, 2]).astype(np.float32), np.array([1.0, 2.0], np.float32)),
    "float": (lambda: Tensor([1, 2]).float(), np.array([1.0, 2.0], np.float32)),
    "long": (lambda: Tensor([1.7, -2.2]).long(), np.array([1, -2])),
    "lt": (lambda: Tensor(A) < 1, A < 1),
    "le": (lambda: Tensor(A) <= 0.5, A <= 0.5),
    "gt": (lambda: Tensor(A) > Tensor([1.0, 0.0, 3.0]), A > [1.0, 0.0, 3.0]),
    "ge": (lambda: Tensor(A) >= 3, A >= 3),
    "eq": (lambda: Tensor(A) == 4, A == 4),
    "ne": (lambda: Tensor(A) != Tensor(A), A != A),
    "reflected_compare": (lambda: 1 < Tensor(A), 1 < A),  # noqa: SIM300
}


# Views (NumPy views when realized alone) and ops that run alone: no compiled kernel on llvm.
KERNEL_FREE = {"argmax", "argmax_axis", "argmax_keepdims", "permute", "permute_tuple", "expand",
               "expand_minus_one", "broadcast_to", "squeeze", "squeeze_axis", "unsqueeze",
               "unsqueeze_last", "flatten", "flatten_from_1", "concat", "cat_alias", "stack",
               "stack_last"}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_op_matches_numpy(name, llvm_exempt):
    if name in KERNEL_FREE:
        llvm_exempt.no_kernel(f"{name} is a view or an op that runs alone")
    build, expected = CASES[name]
    out = build()
    expected = np.asarray(expected)
    assert out.shape == expected.shape
    if expected.dtype.kind == "f":
        assert out.dtype.kind == "f"
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    else:
        assert out.dtype == expected.dtype
        np.testing.assert_array_equal(out.data, expected)


def test_comparisons_give_bool_tensors():
    out = Tensor([1.0, 2.0]) > 1.5
    assert out.dtype == np.bool_
    assert out.tolist() == [False, True]


def test_bool_of_a_one_element_tensor():
    assert bool(Tensor([1.0])) is True
    assert bool(Tensor([[0]])) is False
    assert bool(Tensor(2.0) > 1)


@pytest.mark.backend_independent
def test_bool_of_many_elements_is_a_value_error():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))
    with pytest.raises(ValueError):
        if Tensor([1.0, 2.0]) > 0:
            pass


@pytest.mark.backend_independent
def test_comparing_with_none_is_false_not_an_error():
    t = Tensor([1.0])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711


@pytest.mark.backend_independent
def test_squeeze_of_an_axis_that_is_not_one_leaves_it():
    assert Tensor(np.zeros((2, 3))).squeeze(0).shape == (2, 3)


def test_concat_promotes_dtypes():
    out = tinytorch.concat([Tensor([1, 2]), Tensor([0.5])])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 0.5])


def test_clip_of_an_integer_tensor_with_float_bounds_is_float():
    out = Tensor([-3, 0, 3]).clip(-1.5, 1.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [-1.5, 0.0, 1.5])


def test_nan_and_inf_flow_through_as_values():
    out = Tensor([np.nan, np.inf, -np.inf]) * 2
    data = out.data
    assert np.isnan(data[0])
    assert data[1] == np.inf and data[2] == -np.inf


def test_division_by_zero_gives_inf_not_an_error():
    np.testing.assert_array_equal((Tensor([1.0, -1.0]) / 0.0).data, [np.inf, -np.inf])


def test_log_of_zero_is_minus_inf():
    assert Tensor([0.0]).log().item() == -np.inf
