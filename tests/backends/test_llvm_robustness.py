"""Bad input and awkward cases on the llvm backend: fall back, warn, or work; never crash.

* A group the code generator cannot compile (an op without an LLVM emitter, an unsupported
  dtype, integer ``pow``) runs on NumPy with the right values, and the fusion annotation
  says why. Its neighbours still compile.
* A kernel that LLVM fails to compile warns ``KernelCompileWarning`` naming the ops and the
  user's line, and the result is still right.
* Empty tensors, size-1 dims, 0-d tensors, non-contiguous inputs, a (1, 3_000_000) row,
  int64, bool and float64 all work, and NaN/inf propagate exactly as in NumPy.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import jit as llvm_jit
from tinytorch.backends.llvm import lowering
from tinytorch.backends.llvm.codegen import KernelBuilder
from tinytorch.backends.llvm.executable import KernelCompileWarning
from tinytorch.ir.graph import Capture
from tinytorch.passes.fusion import fusion_report
from tinytorch.runtime import compile_plan

NAN, INF = np.nan, np.inf


def both(program, *arrays: np.ndarray, dtype: str | None = None):
    """``program`` run on fresh tensors of ``arrays``, first on numpy, then on llvm."""
    results = []
    for backend in ("numpy", "llvm"):
        with tinytorch.backend(backend):
            tensors = [Tensor(a, dtype=dtype or a.dtype.name) for a in arrays]
            results.append(program(*tensors).numpy())
    return results


def assert_same(expected: np.ndarray, got: np.ndarray, rtol: float = 2e-5) -> None:
    """Same shape and dtype, NaN and inf in the same places, the rest close (exact for
    integers and booleans)."""
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(got, expected)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(got[np.isinf(expected)], expected[np.isinf(expected)])
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-6, equal_nan=True)


def compiled(y: Tensor):
    """The llvm plan of ``y``'s graph, run: (plan, its values)."""
    capture = Capture([y._node])
    plan = compile_plan(capture, "llvm")
    (out,) = plan.executable.run([s.meta["value"] for s in capture.sources], None)
    return plan, out


def kinds(plan) -> list[str]:
    return [step[0] for step in plan.executable.steps]


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --------------------------------------------------------------- NumPy fallbacks
def test_an_op_without_an_llvm_emitter_runs_on_numpy_and_the_report_says_so(monkeypatch):
    """With tanh's emitter removed, its kernel runs on NumPy, correctly, without warning."""
    monkeypatch.delitem(lowering.EMITTERS, "tanh")
    x = randn(3, 71)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KernelCompileWarning)
        plan, got = compiled((Tensor(x) * 2).tanh() + 1)
    assert "kernel" not in kinds(plan)
    assert any("has no LLVM emitter" in reason for reason in plan.executable.fallbacks)
    assert "llvm: runs on NumPy (op 'tanh' has no LLVM emitter)" in fusion_report(plan.graph)
    np.testing.assert_allclose(got, np.tanh(x * 2) + 1, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "uint8"])
def test_an_unsupported_dtype_runs_on_numpy_and_the_report_says_so(dtype):
    """float16 and uint8 are not compiled: their kernels run on NumPy, with NumPy's values."""
    x = (np.arange(24).reshape(4, 6) % 7).astype(dtype)
    plan, got = compiled(Tensor(x, dtype=dtype) * 3 + Tensor(x, dtype=dtype))
    assert "kernel" not in kinds(plan)
    assert f"dtype {dtype} is not compiled" in fusion_report(plan.graph)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, x * np.array(3, dtype) + x)


def test_integer_pow_runs_on_numpy_while_a_kernel_beside_it_compiles():
    """In one plan, an int64 ``x ** 3`` group falls back to NumPy (the report says "integer
    pow") and an independent float kernel still compiles; both values are right."""
    xi = np.arange(-4, 8, dtype=np.int64).reshape(3, 4)
    xf = randn(3, 81)
    cube, wave = Tensor(xi) ** 3 + 1, (Tensor(xf) * 2).exp()
    capture = Capture([cube._node, wave._node])
    plan = compile_plan(capture, "llvm")
    got_cube, got_wave = plan.executable.run([s.meta["value"] for s in capture.sources], None)
    assert kinds(plan).count("kernel") == 1
    assert "integer pow" in fusion_report(plan.graph)
    np.testing.assert_array_equal(got_cube, xi**3 + 1)
    np.testing.assert_allclose(got_wave, np.exp(xf * 2), rtol=2e-6)


def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(k + 1 for k, line in enumerate(lines) if line.rstrip().endswith(marker))


def _boom(*args, **kwargs):
    raise RuntimeError("LLVM ERROR: simulated failure")


def test_a_kernel_that_fails_to_compile_warns_and_runs_on_numpy(monkeypatch):
    """A failing LLVM compile warns KernelCompileWarning naming the ops and the user's
    line, and the values come from NumPy instead."""
    for name in ("compile", "compile_many"):
        if hasattr(llvm_jit.Jit, name):
            monkeypatch.setattr(llvm_jit.Jit, name, _boom)
    x = randn(5, 73)
    with tinytorch.backend("llvm"):
        t = Tensor(x)
        with pytest.warns(KernelCompileWarning) as caught:
            got = (t * 3 + 1).sigmoid().numpy()  # the kernel that fails
    message = str(caught[0].message)
    assert re.search(r"\bmul\b.*\badd\b.*\bsigmoid\b", message)
    assert f"test_llvm_robustness.py:{_line_of('# the kernel that fails')}" in message
    assert "simulated failure" in message
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-(x * 3 + 1))), rtol=1e-6)


def test_a_code_generator_error_warns_and_runs_on_numpy(monkeypatch):
    """A bug inside the code generator (any exception) is a warning and a NumPy fallback,
    and the annotation names the failure."""

    def broken(self, *args, **kwargs):
        raise ZeroDivisionError("generator bug")

    monkeypatch.setattr(KernelBuilder, "build", broken)
    x = randn(2, 77)
    with pytest.warns(KernelCompileWarning, match="generator bug"):
        plan, got = compiled((Tensor(x) - 1).abs() * 2)
    assert "compile failed" in fusion_report(plan.graph)
    np.testing.assert_allclose(got, np.abs(x - 1) * 2, rtol=1e-6)


def test_after_a_failure_the_next_graph_compiles_normally(monkeypatch):
    """A failed compile is not cached as a kernel: once LLVM works again, it compiles."""
    monkeypatch.setattr(KernelBuilder, "build", lambda self, *a, **k: 1 / 0)
    with pytest.warns(KernelCompileWarning):
        compiled(Tensor(randn(2, 79)).exp() * 5)
    monkeypatch.undo()
    plan, got = compiled(Tensor(randn(2, 79, seed=1)).exp() * 5)
    assert kinds(plan) == ["kernel"]
    np.testing.assert_allclose(got, np.exp(randn(2, 79, seed=1)) * 5, rtol=2e-6)


# ------------------------------------------------------------------ awkward shapes
def chain(x: Tensor) -> Tensor:
    return ((x * 2 - 1).exp() + x.sigmoid()).tanh()


SHAPES = [(0,), (3, 0), (0, 4), (2, 0, 3), (1,), (1, 1), (1, 1, 5), (5, 1), (1, 7, 1), ()]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_elementwise_chains_work_on_empty_size_1_and_0_d_shapes(shape):
    """An elementwise chain on empty, size-1 and 0-d tensors matches numpy."""
    assert_same(*both(chain, randn(*shape)))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_reductions_and_softmax_work_on_empty_size_1_and_0_d_shapes(shape):
    """sum/mean over every axis, and softmax over the last, match numpy (mean of nothing
    is NaN, softmax of nothing is empty)."""
    x = randn(*shape)
    axis = None if not shape else -1
    assert_same(*both(lambda t: t.sum(axis=axis, keepdims=True), x))
    assert_same(*both(lambda t: t.mean(axis=axis), x))
    assert_same(*both(lambda t: (t * 2).sum(), x))
    if shape and shape[-1]:  # (softmax over an empty axis is refused at the user's line)
        assert_same(*both(lambda t: t.softmax(-1), x))
    if shape and shape[0]:
        assert_same(*both(lambda t: t.max(axis=0), x))


def test_broadcasting_against_size_1_dims_matches_numpy():
    """(1, 7, 1) op (3, 1, 4) broadcasts to (3, 7, 4) the same way on both backends."""
    assert_same(*both(lambda a, b: (a * b).maximum(a - b), randn(1, 7, 1), randn(3, 1, 4)))


@pytest.mark.parametrize("view", ["transpose", "step-2 slice", "reversed", "permute"])
def test_non_contiguous_inputs_are_read_at_their_strides(view):
    """A realized transpose/strided/reversed view feeding a kernel gives numpy's values."""
    base = randn(6, 8, 4)
    make = {
        "transpose": lambda t: t.transpose(0, 2),
        "step-2 slice": lambda t: t[::2, 1::3],
        "reversed": lambda t: t[::-1, :, ::-1],
        "permute": lambda t: t.permute(2, 0, 1),
    }[view]
    results = []
    for backend in ("numpy", "llvm"):
        with tinytorch.backend(backend):
            v = make(Tensor(base))
            assert not v.data.flags.c_contiguous
            results.append(((v * 2).exp() + v.sum(axis=-1, keepdims=True)).numpy())
    assert_same(*results)


@pytest.mark.parametrize("shape", [(1, 3_000_000), (3_000_000,), (3000, 1000)], ids=str)
def test_large_shapes_work(shape):
    """3M elements: a fused chain and a row softmax match numpy (one row, or many)."""
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    assert_same(*both(lambda t: (t * 2 + 1).gelu(), x))
    expected, got = both(lambda t: t.softmax(-1), x)
    assert_same(expected, got, rtol=1e-4)  # a 3M-term sum, added in another order
    expected, got = both(lambda t: t.sum(axis=-1), x)
    assert_same(expected, got, rtol=1e-4)


# ------------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_kernels_match_numpy_exactly(dtype):
    """Integer arithmetic, maximum, comparisons, where and reductions, exactly (with
    wraparound at the dtype's limits, as NumPy)."""
    a = np.arange(-6, 6, dtype=dtype).reshape(3, 4)
    b = (a * 7 % 5).astype(dtype)

    def program(x, y):
        z = (x * 3 - y).maximum(y) + (x < y).astype(dtype)
        return tinytorch.where(z > 0, z, -z).sum(axis=0) + z.max(axis=0) - z.min(axis=0)

    assert_same(*both(program, a, b))
    info = np.iinfo(dtype)
    limits = np.array([[info.max, info.min, 1]], dtype=dtype)
    assert_same(*both(lambda x: (x + 1) * 2 - x.max(axis=-1, keepdims=True), limits))


def test_bool_kernels_match_numpy_exactly():
    """Logic on bools: comparisons, where, maximum/minimum (or/and) and max/min reductions."""
    rng = np.random.default_rng(1)
    a, b = rng.random((4, 5)) < 0.5, rng.random((4, 5)) < 0.5
    assert_same(*both(lambda x, y: tinytorch.where(x, y, x == y), a, b))
    assert_same(*both(lambda x, y: x.maximum(y), a, b))
    assert_same(*both(lambda x, y: x.minimum(y), a, b))
    assert_same(*both(lambda x, y: (x != y).astype("float32") * 2, a, b))


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_bool_max_and_min_reductions_match_numpy(op, axis):
    """max over bools is "any", min is "all" (True is not -1)."""
    rows = np.array([[True, False, False], [False, False, False], [True, True, True]])
    assert_same(*both(lambda x: getattr(x, op)(axis=axis), rows))


def test_float64_kernels_match_numpy_closely():
    """float64 kernels (exp, tanh, sigmoid, log, sums) agree to float64 precision."""
    x = np.random.default_rng(2).standard_normal((6, 9))

    def program(t):
        return (t.exp() + t.tanh() * t.sigmoid() + (t.abs() + 1).log()).softmax(-1)

    expected, got = both(program, x, dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_casts_between_dtypes_match_numpy():
    """astype float32 <-> float64 <-> int64 <-> bool, including truncation toward zero."""
    x = np.array([-2.7, -0.5, -0.0, 0.0, 0.4, 1.5, 3.99, 1e6], dtype=np.float32)
    for dtype in ("int64", "bool", "float64"):
        assert_same(*both(lambda t, d=dtype: t.astype(d), x))
    assert_same(*both(lambda t: t.astype("int64").astype("bool").astype("float32"), x))


# ------------------------------------------------------------------ NaN and inf
NAN_CASES = {
    "max with NaN": (lambda t: t.max(axis=-1), [[1.0, NAN, 3.0], [1.0, 2.0, 3.0]]),
    "min with NaN": (lambda t: t.min(axis=0), [[1.0, NAN, 3.0], [NAN, 2.0, -INF]]),
    "max of all -inf": (lambda t: t.max(axis=-1), [[-INF, -INF], [-INF, 1.0]]),
    "maximum with NaN": (lambda t: t.maximum(t[::-1]), [[NAN, 1.0], [0.0, NAN]]),
    "minimum with NaN": (lambda t: t.minimum(0.5), [[NAN, 1.0], [0.0, -INF]]),
    "relu(NaN)": (lambda t: t.relu(), [[NAN, -1.0, 2.0, -INF, INF, -0.0]]),
    "clip(NaN)": (lambda t: t.clip(-1.0, 1.0), [[NAN, -5.0, 5.0, INF, -INF, 0.5]]),
    "NaN < 1": (lambda t: t < 1.0, [[NAN, 0.0, 2.0, -INF]]),
    "NaN == NaN": (lambda t: t == t, [[NAN, 0.0, INF]]),
    "NaN != NaN": (lambda t: t != t, [[NAN, 0.0, INF]]),
    "NaN >= 0 in where": (lambda t: tinytorch.where(t >= 0, t, -t), [[NAN, -1.0, INF, -INF]]),
    "inf - inf in a sum": (lambda t: t.sum(axis=-1), [[INF, -INF, 1.0], [INF, INF, 1.0]]),
    "exp of inf": (lambda t: (t.exp() - 1) * 2, [[INF, -INF, NAN, 0.0]]),
    "softmax with -inf": (lambda t: t.softmax(-1), [[-INF, 0.0, 1.0], [-INF, -INF, -INF]]),
    "softmax with inf": (lambda t: t.softmax(-1), [[INF, 0.0, 1.0], [NAN, 0.0, 1.0]]),
    "division by zero": (lambda t: 1.0 / t + t / t, [[0.0, -0.0, INF, 2.0]]),
    "log of negatives": (lambda t: t.log() * t.sqrt(), [[-1.0, 0.0, INF, -INF, NAN]]),
    "mean and var with inf": (lambda t: t.var(axis=-1) + t.mean(axis=-1), [[INF, 1.0], [1.0, 2.0]]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(NAN_CASES))
def test_nan_and_inf_propagate_as_in_numpy(case):
    """NaN/inf through reductions, maximum, relu, clip, comparisons and softmax, as numpy."""
    program, data = NAN_CASES[case]
    expected, got = both(program, np.array(data, dtype=np.float32))
    assert_same(expected, got)


def test_nan_and_inf_propagate_inside_long_vectorized_rows():
    """Scattered NaN/inf in long rows (vector lanes and remainder loop) give numpy's max,
    min, sum and maximum."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 1003)).astype(np.float32)
    x[rng.random(x.shape) < 0.002] = NAN
    x[1, 500], x[2, 1002], x[3, 7] = INF, -INF, NAN
    for program in (lambda t: t.max(axis=-1), lambda t: t.min(axis=-1),
                    lambda t: t.sum(axis=-1), lambda t: t.maximum(0.0).sum(axis=0)):  # fmt: skip
        assert_same(*both(program, x), rtol=1e-4)
