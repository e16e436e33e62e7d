"""Convolution and pooling on the llvm backend, where ``windows`` is index arithmetic inside
the kernels that read it and ``fold`` (its gradient) is a kernel of its own.

* values: conv2d, max_pool2d and avg_pool2d, forward and backward, equal the NumPy
  backend (the reference interpreter, which runs ``windows``/``fold`` as NumPy copies) over
  strides, padding, kernel sizes, non-square shapes, batch 1 and odd sizes;
* structure: a CNN step's plan on llvm has no NumPy ``windows`` or ``fold`` step left;
  pooling reads the conv output directly (no kernel writes a windows array), and the conv's
  im2col matrix is written by one kernel;
* reshapes inside kernels split an index without division (``reshape_runs``), checked
  against NumPy's own reshape;
* ``fold`` and max pooling split the batch over two threads: the same bits as one;
* BLAS threads: ``TINYTORCH_THREADS`` caps NumPy's OpenBLAS (skipped without OpenBLAS).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import blas
from tinytorch.backends.llvm import executable as llvm_executable
from tinytorch.backends.llvm.indexing import reshape_runs
from tinytorch.ir.graph import Capture
from tinytorch.nn.spatial import avg_pool2d, conv2d, max_pool2d, windows
from tinytorch.runtime import compile_plan

# (input shape N, C, H, W), kernel, stride, padding
GEOMETRIES = [
    pytest.param((2, 3, 8, 8), (3, 3), (1, 1), (0, 0), id="3x3"),
    pytest.param((2, 3, 8, 8), (3, 3), (1, 1), (1, 1), id="3x3-pad1"),
    pytest.param((1, 2, 9, 7), (3, 2), (2, 1), (1, 0), id="batch1-nonsquare"),
    pytest.param((3, 1, 7, 11), (2, 3), (2, 3), (0, 1), id="odd-strides"),
    pytest.param((2, 2, 5, 6), (5, 3), (1, 2), (2, 1), id="5x3-pad2"),
    pytest.param((1, 2, 1, 3), (5, 3), (1, 1), (2, 1), id="kernel-rows-all-padding"),
    pytest.param((1, 2, 1, 3), (5, 3), (3, 1), (2, 1), id="kernel-rows-all-padding-stride3"),
    pytest.param((2, 4, 13, 13), (2, 2), (2, 2), (0, 0), id="2x2-stride2-odd"),
    pytest.param((1, 1, 6, 6), (3, 3), (4, 4), (0, 0), id="stride-gt-kernel"),
    pytest.param((2, 2, 7, 10), (2, 3), (2, 3), (0, 0), id="tiles-2x3-leftover-row"),
]


def _conv(stride, padding):
    return lambda x, w, b: conv2d(x, w, b, stride, padding)


def _maxpool(kernel, stride, padding):
    return lambda x: max_pool2d(x, kernel, stride, padding)


def _avgpool(kernel, stride, padding):
    return lambda x: avg_pool2d(x, kernel, stride, padding)


def forward_and_grads(backend: str, fn, arrays: list[np.ndarray], seed: int):
    """``fn``'s output and the gradients of ``sum(out * r)`` (r random) on ``backend``."""
    with tinytorch.backend(backend):
        leaves = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(*leaves)
        r = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32)
        (out * Tensor(r)).sum().backward()
        return [out.numpy(), *(t.grad.numpy() for t in leaves)]


def assert_same(backend: str, fn, arrays: list[np.ndarray]) -> None:
    ours = forward_and_grads(backend, fn, arrays, seed=7)
    reference = forward_and_grads("numpy", fn, arrays, seed=7)
    for got, want in zip(ours, reference, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------- values
@pytest.mark.parametrize("backend", ["llvm"])
@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_conv2d_forward_and_backward_equal_numpy(backend, shape, kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((5, shape[1], *kernel)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    assert_same(backend, _conv(stride, padding), [x, w, b])


@pytest.mark.parametrize("backend", ["llvm"])
@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_max_pool_forward_and_backward_equal_numpy(backend, shape, kernel, stride, padding):
    # all negative: a padded position that won the max would show as 0 or -inf
    x = -np.random.default_rng(2).random(shape).astype(np.float32) - 0.5
    assert_same(backend, _maxpool(kernel, stride, padding), [x])


@pytest.mark.parametrize("backend", ["llvm"])
@pytest.mark.parametrize("shape, kernel, stride, padding", GEOMETRIES)
def test_avg_pool_forward_and_backward_equal_numpy(backend, shape, kernel, stride, padding):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    assert_same(backend, _avgpool(kernel, stride, padding), [x])


@pytest.mark.parametrize("backend", ["llvm"])
def test_max_pool_with_ties_shares_the_gradient_as_numpy_does(backend):
    x = np.zeros((1, 1, 4, 4), np.float32)  # every window is a four-way tie
    assert_same(backend, _maxpool((2, 2), (1, 1), (1, 1)), [x])


@pytest.mark.parametrize("backend", ["llvm"])
@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_windows_of_integers_and_bools_equal_numpy(backend, dtype):
    x = np.random.default_rng(12).integers(-5, 5, (2, 3, 6, 7)).astype(dtype)

    def ops(t: Tensor) -> list[Tensor]:
        w = windows(t, (2, 3), (1, 2), (1, 1), 0.0)
        return [w.max(axis=(0, 1)), w.min(axis=(0, 1)), w.permute(3, 0, 1, 2, 4, 5)]

    results = {}
    for name in (backend, "numpy"):
        with tinytorch.backend(name):
            results[name] = [t.numpy() for t in ops(Tensor(x))]
    for got, want in zip(results[backend], results["numpy"], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["llvm"])
def test_a_small_cnn_trains_to_the_same_weights(backend):
    """Three SGD steps of conv-relu-pool-conv-relu-avgpool-linear give the same weights."""
    x = np.random.default_rng(4).random((4, 2, 12, 12)).astype(np.float32)
    y = np.array([0, 1, 2, 1])

    def train(name: str) -> list[np.ndarray]:
        np.random.seed(0)
        model = tinytorch.Sequential(
            tinytorch.Conv2d(2, 4, 3, padding=1), tinytorch.ReLU(), tinytorch.MaxPool2d(2),
            tinytorch.Conv2d(4, 6, 3, stride=2), tinytorch.ReLU(), tinytorch.AvgPool2d(2),
            tinytorch.Flatten(), tinytorch.Linear(6, 3),
        )  # fmt: skip
        opt = tinytorch.SGD(model.parameters(), lr=0.1)
        loss_fn = tinytorch.CrossEntropyLoss()
        with tinytorch.backend(name):
            for _ in range(3):
                loss = loss_fn(model(Tensor(x)), Tensor(y))
                loss.backward()
                opt.step()
                opt.zero_grad()
            return [p.numpy() for p in model.parameters()]

    for got, want in zip(train(backend), train("numpy"), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- structure
def cnn_gradients() -> list[Tensor]:
    """The W2 benchmark's layers (conv-relu-maxpool twice), backward included."""
    rng = np.random.default_rng(5)
    x = Tensor(rng.random((4, 1, 12, 12)).astype(np.float32), requires_grad=True)
    w1 = Tensor(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), requires_grad=True)
    w2 = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    h = max_pool2d(conv2d(x, w1).relu(), (2, 2), (2, 2), (0, 0))
    out = max_pool2d(conv2d(h, w2).relu(), (2, 2), (2, 2), (0, 0))
    out.sum().backward()
    return [x.grad, w1.grad, w2.grad]


def test_a_cnn_step_on_llvm_runs_no_numpy_windows_or_fold():
    capture = Capture([t._node for t in cnn_gradients()])
    steps = compile_plan(capture, "llvm").executable.steps
    numpy_ops = [step[1].op for step in steps if step[0] == "numpy"]
    assert "windows" not in numpy_ops and "fold" not in numpy_ops
    kernels = [[m.op for m in step[4]] for step in steps if step[0] == "kernel"]
    # two conv input gradients and two max-pool gradients, each fold a kernel of its own
    assert sum(ops == ["fold"] for ops in kernels) == 4


def test_pooling_reads_the_conv_output_and_im2col_is_one_kernel():
    x = Tensor(np.random.default_rng(6).random((2, 3, 10, 10)).astype(np.float32))
    w = Tensor(np.random.default_rng(7).random((4, 3, 3, 3)).astype(np.float32))
    pooled = max_pool2d(conv2d(x, w).relu(), (2, 2), (2, 2), (0, 0))
    capture = Capture([pooled._node])
    plan = compile_plan(capture, "llvm")
    steps = plan.executable.steps
    kinds = [(s[0], " ".join(m.op for m in s[4]) if s[0] == "kernel" else s[1].op)
             for s in steps]  # fmt: skip
    # im2col: one kernel writes the (C*kh*kw, N*OH*OW) matrix the matmul reads
    matmul = kinds.index(("numpy", "matmul"))
    assert kinds[matmul - 1] == ("kernel", "reshape")
    # no kernel's output has the shape of a windows array: the max reads the conv output
    assert all(s[1].op != "windows" for s in steps if s[0] == "numpy")
    assert not any(len(s[5]) == 6 for s in steps if s[0] == "kernel")
    with tinytorch.backend("numpy"):
        want = pooled.numpy()
    inputs = [source.meta["value"] for source in capture.sources]
    np.testing.assert_allclose(plan.executable.run(inputs, None)[0], want, rtol=1e-5)


def test_the_fusion_report_on_llvm_says_what_became_of_windows_and_fold():
    x = Tensor(np.random.default_rng(6).random((2, 3, 8, 8)).astype(np.float32),
               requires_grad=True)  # fmt: skip
    pooled = max_pool2d(x, (2, 2), (2, 2), (0, 0))
    pooled.sum().backward()
    with tinytorch.backend("llvm"):
        report = tinytorch.fusion_report(x.grad)
    rows = [line for line in report.splitlines() if line.lstrip().startswith("%")]
    (windows_row,) = [line for line in rows if line.split()[1] == "windows"]
    assert "llvm: index arithmetic in the kernels that read it" in windows_row
    (fold_row,) = [line for line in rows if line.split()[1] == "fold"]
    assert "llvm: a kernel of its own" in fold_row


@pytest.mark.parametrize(
    "shape, axes",
    [((2, 2, 3, 40), (0, 1)), ((3, 50), (0,)), ((4, 5, 33), (1,)), ((2, 8, 17), (0, 1))],
)
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_few_element_reductions_off_the_last_axis_equal_numpy(shape, axes, op):
    """Up to 16 reduced elements per row, none on the last axis: the reduced loops are
    unrolled and the kernel vectorizes across rows (max pooling's case)."""
    x = np.random.default_rng(10).standard_normal(shape).astype(np.float32)
    with tinytorch.backend("llvm"):
        got = getattr(Tensor(x) * 1.0, op)(axis=axes).numpy()
    np.testing.assert_allclose(got, getattr(np, op)(x, axis=axes), rtol=1e-5, atol=1e-6)


def test_max_pooling_forward_and_backward_kernels_are_vector_code():
    x = Tensor(np.random.default_rng(11).random((4, 8, 26, 26)).astype(np.float32),
               requires_grad=True)  # fmt: skip
    max_pool2d(x, (2, 2), (2, 2), (0, 0)).sum().backward()
    steps = compile_plan(Capture([x.grad._node]), "llvm").executable.steps
    kernels = [s[1] for s in steps if s[0] == "kernel"]
    assert kernels and all(re.search(r"<(8|16) x float>", k.optimized_ir()) for k in kernels)


# ---------------------------------------------------------------------- reshapes
@pytest.mark.parametrize(
    "src, dst",
    [((6, 4), (2, 3, 4)), ((2, 3, 4), (6, 4)), ((4, 6), (2, 12)), ((1, 6, 1), (3, 1, 2)),
     ((2, 3, 5), (5, 6)), ((7,), (1, 7, 1))],
)  # fmt: skip
def test_reshapes_read_inside_a_kernel_equal_numpy(src, dst):
    x = np.arange(np.prod(src), dtype=np.float32).reshape(src)
    with tinytorch.backend("llvm"):
        got = (Tensor(x).reshape(*dst) * 2.0 + 1.0).numpy()
    np.testing.assert_array_equal(got, x.reshape(dst) * 2 + 1)


def test_reshape_runs_pair_axes_of_equal_size():
    assert reshape_runs((8, 43264), (8, 64, 26, 26)) == [([0], [0]), ([1], [1, 2, 3])]
    assert reshape_runs((1, 3, 3, 64), (9, 64)) == [([1, 2], [0]), ([3], [1])]
    assert reshape_runs((4, 6), (2, 12)) == [([0, 1], [0, 1])]
    assert reshape_runs((0, 3), (3, 0)) is None


# ------------------------------------------------------------------------ threads
def test_conv_and_pooling_split_over_two_threads_give_identical_bits(monkeypatch):
    """fold and pooling's max over the window axes split the batch axis among threads."""
    monkeypatch.setattr(llvm_executable, "PARALLEL_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)

    def layer(x, w, b):
        return max_pool2d(conv2d(x, w, b, (1, 1), (1, 1)), (2, 2), (2, 2), (0, 0))

    pooled = layer(*(Tensor(a) for a in (x, w, w[:, 0, 0, 0])))
    steps = compile_plan(Capture([pooled._node]), "llvm").executable.steps
    (pool,) = [s[1] for s in steps if s[0] == "kernel" and s[4][-1].op == "max"]
    assert pool.source.outer == 4  # the batch: threads get whole images
    results = {}
    for threads in (1, 2):
        monkeypatch.setenv("TINYTORCH_THREADS", str(threads))
        results[threads] = forward_and_grads("llvm", layer, [x, w, w[:, 0, 0, 0]], seed=9)
    for one, two in zip(results[1], results[2], strict=True):
        np.testing.assert_array_equal(one, two)


needs_openblas = pytest.mark.skipif(blas.blas_threads() is None, reason="NumPy has no OpenBLAS")


@needs_openblas
def test_blas_threads_can_be_set_and_restored():
    before = blas.blas_threads()
    try:
        assert blas.set_blas_threads(1) == before
        assert blas.blas_threads() == 1
        blas.set_blas_threads(2)
        with blas.limited_blas_threads(1):
            assert blas.blas_threads() == 1
        assert blas.blas_threads() == 2
    finally:
        blas.set_blas_threads(before)


@needs_openblas
def test_the_threads_flag_caps_blas_when_set(monkeypatch):
    before = blas.blas_threads()
    try:
        blas.set_blas_threads(2)
        monkeypatch.delenv("TINYTORCH_THREADS", raising=False)
        assert blas.apply_thread_flag() is None
        assert blas.blas_threads() == 2  # unset: BLAS is left alone
        monkeypatch.setenv("TINYTORCH_THREADS", "1")
        assert blas.apply_thread_flag() == 1
        assert blas.blas_threads() == 1
    finally:
        blas.set_blas_threads(before)
