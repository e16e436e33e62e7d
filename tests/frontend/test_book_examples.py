"""The examples the book states for Modules 01, 02 and 05, written as the book writes them
(spec §1, §2, §5), with the results the book gives or that follow from its formulas."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.core.activations import ReLU, Sigmoid, Softmax
from tinytorch.core.tensor import Tensor as CoreTensor


@pytest.mark.backend_independent
def test_the_book_import_paths_give_the_one_tensor_class():
    assert CoreTensor is Tensor is tinytorch.Tensor


# ---------------------------------------------------------------- Module 01
def test_sums_of_the_2x3_example():
    """§1.4: [[1,2,3],[4,5,6]] sums to [5,7,9] over axis 0 and [6,15] over axis 1."""
    x = Tensor([[1, 2, 3], [4, 5, 6]])
    assert x.sum(axis=0).tolist() == [5, 7, 9]
    assert x.sum(axis=1).tolist() == [6, 15]
    assert x.sum().item() == 21


@pytest.mark.backend_independent
def test_sum_of_a_32x768_tensor_over_each_axis():
    x = Tensor(np.ones((32, 768)))
    assert x.sum(axis=0).shape == (768,)
    assert x.sum(axis=1).shape == (32,)


@pytest.mark.parametrize(
    "a, b, result",
    [
        ((3, 4), (4,), (3, 4)),
        ((3, 4), (3, 1), (3, 4)),
        ((2, 3, 4), (3, 4), (2, 3, 4)),
        ((32, 1, 768), (512, 768), (32, 512, 768)),
    ],
)
@pytest.mark.backend_independent
def test_broadcasting_table_shapes(a, b, result):
    """§1.2's table; the (32,1,768) row is checked for its shape only (it is 50 MB)."""
    out = Tensor(np.zeros(a, dtype=np.float32)) + Tensor(np.zeros(b, dtype=np.float32))
    assert out.shape == result


@pytest.mark.parametrize(
    "a, b",
    [((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 4)), ((3, 1, 4), (5, 4))],
)
def test_broadcasting_values_match_numpy(a, b):
    """The same rules on small shapes, (3,1,4)+(5,4) standing in for (32,1,768)+(512,768)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(a).astype(np.float32), rng.standard_normal(b).astype(np.float32)
    np.testing.assert_allclose((Tensor(x) + Tensor(y)).data, x + y, rtol=1e-6)
    np.testing.assert_allclose((Tensor(x) * Tensor(y)).data, x * y, rtol=1e-6)


@pytest.mark.parametrize("a, b", [((3, 4), (3,)), ((2, 3), (2,))])
@pytest.mark.backend_independent
def test_incompatible_broadcast_is_a_value_error(a, b):
    """§1.2: (3,4)+(3,) and (2,3)+(2,) fail: operands could not be broadcast together."""
    with pytest.raises(ValueError, match="broadcast"):
        Tensor(np.zeros(a)) + Tensor(np.zeros(b))


@pytest.mark.backend_independent
def test_matmul_with_a_non_tensor_is_the_books_type_error():
    with pytest.raises(TypeError, match="Expected Tensor for matrix multiplication"):
        Tensor([[1.0, 2.0]]).matmul([[1.0], [2.0]])


@pytest.mark.backend_independent
def test_matmul_with_mismatched_inner_dims_is_the_books_value_error():
    """L2599: Cannot perform matrix multiplication: (32, 128) @ (256, 10). Inner dimensions
    must match: 128 ≠ 256."""
    with pytest.raises(ValueError) as info:
        Tensor(np.zeros((32, 128))).matmul(Tensor(np.zeros((256, 10))))
    message = str(info.value)
    assert "Cannot perform matrix multiplication: (32, 128) @ (256, 10)" in message
    assert "Inner dimensions must match: 128 ≠ 256" in message


@pytest.mark.backend_independent
def test_reshape_to_a_different_size_is_the_books_value_error():
    """12 elements can become (3,4), (2,6) or (2,2,3) but not (5,5)."""
    x = Tensor(np.arange(12))
    for shape in [(3, 4), (2, 6), (2, 2, 3)]:
        assert x.reshape(*shape).shape == shape
    with pytest.raises(ValueError, match="Total elements must match"):
        x.reshape(5, 5)


@pytest.mark.llvm_no_kernel(reason="a reshape is a NumPy view")
def test_reshape_view_example_writes_through():
    """§1.3 / Q5: y = x.reshape(2, 2); y.data[0, 0] = 99 changes x too."""
    x = Tensor([1, 2, 3, 4])
    y = x.reshape(2, 2)
    y.data[0, 0] = 99
    assert x.tolist() == [99, 2, 3, 4]


# ---------------------------------------------------------------- Module 02
def test_relu_example():
    assert ReLU()(Tensor([[-1, 0, 1, 2]])).tolist() == [[0, 0, 1, 2]]


def test_softmax_example():
    out = Softmax()(Tensor([[1, 2, 3]]))
    np.testing.assert_allclose(out.data, [[0.09003057, 0.24472847, 0.66524096]], rtol=1e-6)
    assert out.data.sum() == pytest.approx(1.0)


def test_softmax_of_large_logits_does_not_overflow():
    """softmax([1000, 1001, 1002]) is softmax([0, 1, 2]), not NaN."""
    out = Softmax()(Tensor([1000.0, 1001.0, 1002.0]))
    np.testing.assert_allclose(out.data, Softmax()(Tensor([0.0, 1.0, 2.0])).data, rtol=1e-6)


def test_sigmoid_outputs_lie_between_zero_and_one():
    out = Sigmoid()(Tensor(np.linspace(-10, 10, 41))).data
    assert np.all((out > 0) & (out < 1))


def test_relu_on_normal_input_zeroes_about_half():
    x = Tensor(np.random.default_rng(0).standard_normal((128, 1024)))
    zeros = int((ReLU()(x).data == 0).sum())
    assert abs(zeros - 65_536) < 1_500


# ---------------------------------------------------------------- Module 05
@pytest.mark.llvm_no_kernel(reason="its gradient folds to a constant")
def test_autograd_first_example():
    """x = Tensor([2.0], requires_grad=True); y = x * 3 + 1; y.backward(); x.grad -> [3.0]."""
    x = Tensor([2.0], requires_grad=True)
    y = x * 3 + 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0])


def test_autograd_matmul_example():
    """y = x.matmul(W) = [[11]], loss = 121, x.grad = [[66, 88]], W.grad = [[22], [44]]."""
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    W = Tensor([[3.0], [4.0]], requires_grad=True)
    y = x.matmul(W)
    loss = (y * y).sum()
    loss.backward()
    assert y.tolist() == [[11.0]]
    assert loss.item() == 121.0
    np.testing.assert_array_equal(x.grad.data, [[66.0, 88.0]])
    np.testing.assert_array_equal(W.grad.data, [[22.0], [44.0]])


@pytest.mark.llvm_no_kernel(reason="its gradients fold to constants")
def test_forgetting_zero_grad_for_ten_steps_sums_ten_gradients():
    x = Tensor([1.0, -2.0], requires_grad=True)
    for _ in range(10):
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [30.0, 30.0])
