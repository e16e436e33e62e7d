"""Module 18 on every backend: the matmuls equal NumPy's, the two GELUs equal each other and
a float64 NumPy GELU, and the unfused one really materializes its temporaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.perf.acceleration import (
    fused_gelu,
    roofline_report,
    tiled_matmul,
    unfused_gelu,
    vectorized_matmul,
)
from tinytorch.perf.machine import Machine, measure_machine
from tinytorch.runtime.realize import set_realize_listener


@pytest.fixture(params=tinytorch.available_backends())
def backend(request):
    with tinytorch.backend(request.param):
        yield request.param


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def numpy_gelu(x: np.ndarray) -> np.ndarray:
    """The book's tanh-approximation GELU in float64, written independently."""
    x = x.astype(np.float64)
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# ------------------------------------------------------------------ vectorized
def test_vectorized_matmul_equals_numpy(backend):
    a, b = rand(128, 512), rand(512, 256, seed=1)
    np.testing.assert_allclose(vectorized_matmul(Tensor(a), Tensor(b)).numpy(), a @ b,
                               rtol=1e-5, atol=1e-4)  # fmt: skip


def test_vectorized_matmul_is_differentiable(backend):
    a = Tensor(rand(3, 4), requires_grad=True)
    b = Tensor(rand(4, 2, seed=1))
    vectorized_matmul(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.ones((3, 2)) @ b.numpy().T, rtol=1e-6)


def test_vectorized_matmul_mismatch_uses_the_books_message():
    a, b = Tensor(np.zeros((128, 256))), Tensor(np.zeros((128, 512)))
    expected = (
        "Matrix multiplication shape mismatch: (128, 256) @ (128, 512). "
        "Inner dimensions must match: a.shape[-1]=256 != b.shape[-2]=128"
    )
    with pytest.raises(ValueError) as err:
        vectorized_matmul(a, b)
    assert str(err.value) == expected


# ------------------------------------------------------------------------ GELU
def test_fused_equals_unfused_equals_numpy(backend):
    x = rand(4096) * 4
    fused = fused_gelu(Tensor(x)).numpy()
    unfused = unfused_gelu(Tensor(x)).numpy()
    np.testing.assert_allclose(fused, numpy_gelu(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(unfused, numpy_gelu(x), rtol=1e-5, atol=1e-6)
    if backend == "numpy":  # same ops in the same order, each rounded to float32
        np.testing.assert_array_equal(fused, unfused)
    else:  # a fused kernel may contract a multiply and an add into one FMA
        np.testing.assert_allclose(fused, unfused, rtol=1e-6, atol=1e-6)


def test_unfused_gelu_materializes_seven_temporaries_and_a_result(backend):
    x = Tensor(rand(1000))
    realized = []
    previous = set_realize_listener(lambda plan, *rest: realized.append(plan))
    try:
        with tinytorch.profile() as unfused:
            unfused_gelu(x).numpy()
    finally:
        set_realize_listener(previous)
    assert len(realized) == 8  # each temporary computed, into memory, before the next
    computing = [k for k in unfused.kernels if k.flops > 0]
    assert all(k.bytes >= 1000 * 4 * 2 for k in computing)  # reads and writes memory
    if backend == "llvm":
        assert len(computing) == 8
    with tinytorch.profile() as fused:
        fused_gelu(x).numpy()
    fused_kernels = [k for k in fused.kernels if k.flops > 0]
    fused_traffic = sum(k.bytes for k in fused_kernels)
    if backend == "llvm":  # one kernel: read x once, write the result once
        assert len(fused_kernels) == 1 and fused_traffic == 2 * 1000 * 4
    else:  # the reference interpreter never fuses: both write every temporary
        assert fused_traffic == sum(k.bytes for k in computing)


def test_gelu_book_constants_agree_with_the_gelu_layer(backend):
    x = rand(64)
    np.testing.assert_allclose(
        fused_gelu(Tensor(x)).numpy(), Tensor(x).gelu().numpy(), rtol=1e-5, atol=1e-6
    )


# ----------------------------------------------------------------------- tiled
@pytest.mark.parametrize(
    "m, k, n, tile",
    [(1, 1, 1, 1), (5, 7, 3, 2), (33, 17, 65, 8), (64, 64, 64, 64), (100, 3, 70, 128),
     (37, 129, 31, 16)],
)  # fmt: skip
def test_tiled_matmul_equals_matmul_for_odd_sizes(backend, m, k, n, tile):
    a, b = rand(m, k), rand(k, n, seed=1)
    out = tiled_matmul(Tensor(a), Tensor(b), tile_size=tile)
    assert out.shape == (m, n)
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_tiled_matmul_broadcasts_batch_dimensions(backend):
    a, b = rand(2, 3, 9, 5), rand(5, 6, seed=1)
    out = tiled_matmul(Tensor(a), Tensor(b), tile_size=4)
    np.testing.assert_allclose(out.numpy(), a @ b, rtol=1e-5, atol=1e-5)


def test_tiled_matmul_default_tile_is_64():
    a, b = rand(70, 70), rand(70, 70, seed=1)
    np.testing.assert_allclose(tiled_matmul(Tensor(a), Tensor(b)).numpy(), a @ b,
                               rtol=1e-4, atol=1e-4)  # fmt: skip


def test_tiled_matmul_errors():
    with pytest.raises(ValueError) as err:
        tiled_matmul(Tensor(np.zeros((2, 3))), Tensor(np.zeros((4, 5))))
    assert str(err.value) == "Shape mismatch: (2, 3) @ (4, 5)"
    with pytest.raises(ValueError, match="tile_size must be >= 1"):
        tiled_matmul(Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 5))), tile_size=0)
    with pytest.raises(TypeError, match="tile_size must be an int"):
        tiled_matmul(Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 5))), tile_size=2.5)


# -------------------------------------------------------------------- roofline
def test_machine_measurement_gives_positive_ceilings():
    machine = measure_machine()
    assert machine.peak_gflops > 0 and machine.bandwidth_gbs > 0
    assert machine.ridge_point == pytest.approx(machine.peak_gflops / machine.bandwidth_gbs)


def test_roofline_report_of_gelu_and_matmul(backend, tmp_path):
    machine = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)
    x, w = Tensor(rand(256, 256)), Tensor(rand(256, 256, seed=1))
    with tinytorch.profile() as prof:
        fused_gelu(vectorized_matmul(x, w)).numpy()
    report = roofline_report(prof.kernels, machine)
    bounds = {"matmul" in p.ops: p.bound for p in report.points}
    assert bounds == {True: "compute", False: "memory"}
    assert "roofline of this machine" in report.text()
    png = report.plot(tmp_path / "roofline.png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert png is None
    else:
        assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
