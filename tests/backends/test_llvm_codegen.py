"""What the llvm backend makes of known graphs: kernels, vector code, caching, profiling.

* a fusable elementwise chain compiles to vector instructions (``<8 x float>`` on AVX2,
  ``<16 x float>`` on AVX-512), and a row reduction sums with ``reassoc`` in vector lanes;
* known graphs give known kernel counts: GELU(x*a + b) is one kernel, softmax over rows is
  one, mean/var/normalize over the last axis is one, and matmul + bias + ReLU is the BLAS
  matmul plus one kernel;
* the kernel cache compiles a structure once, keeps shapes apart, and stays bounded;
* the profiler gives each member of a fused kernel a share of its time, at the user's line;
  ``set_debug(2)`` prints one line per kernel with time, GFLOP/s and GB/s;
* a kernel split over threads (``TINYTORCH_THREADS``) computes the same bits as one thread.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import executable as llvm_executable
from tinytorch.backends.llvm.codegen import KernelBuilder
from tinytorch.backends.llvm.kernels import kernel_cache
from tinytorch.ir.graph import Capture
from tinytorch.runtime import compile_plan

VECTOR = re.compile(r"<(8|16) x float>")
rng = np.random.default_rng(0)


def randn(*shape: int) -> Tensor:
    return Tensor(rng.standard_normal(shape).astype(np.float32))


def plan_of(*outputs: Tensor):
    """The compiled llvm plan of the graph behind ``outputs`` (passes + codegen, no cache)."""
    return compile_plan(Capture([t._node for t in outputs]), "llvm")


def steps_of(plan) -> list[tuple[str, str]]:
    """The plan's steps as (kind, what): ("kernel", its ops) or ("numpy", the op)."""
    out = []
    for step in plan.executable.steps:
        if step[0] == "kernel":
            out.append(("kernel", " ".join(m.op for m in step[4])))
        else:
            out.append(("numpy", step[1].op))
    return out


def kernels_of(plan) -> list:
    return [step[1] for step in plan.executable.steps if step[0] == "kernel"]


def generated_ir(plan) -> str:
    """The LLVM IR the code generator writes for the plan's only kernel (before LLVM's
    optimizations)."""
    (members,) = [step[4] for step in plan.executable.steps if step[0] == "kernel"]
    return KernelBuilder(members, "k_test").build().ir


def gelu_of_affine(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return (x * a + b).gelu()


def normalize(x: Tensor) -> Tensor:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / (var + 1e-5).sqrt()


# --------------------------------------------------------------------- vector code
def test_a_fusable_elementwise_chain_compiles_to_vector_instructions():
    """GELU(x*a + b) on float32 becomes a loop over <8 x float> or <16 x float>."""
    (kernel,) = kernels_of(plan_of(gelu_of_affine(randn(64, 256), randn(256), randn(256))))
    assert VECTOR.search(kernel.optimized_ir()), kernel.optimized_ir()[:2000]


@pytest.mark.parametrize("op", ["exp", "log", "tanh", "sigmoid"])
def test_polynomial_math_keeps_its_loop_vectorized(op):
    """exp/log/tanh/sigmoid are IR polynomials, not libm calls, so their loop vectorizes."""
    (kernel,) = kernels_of(plan_of(getattr(randn(1024).abs() + 0.5, op)()))
    ir_text = kernel.optimized_ir()
    assert VECTOR.search(ir_text)
    assert not re.search(r"@\"?(llvm\.(exp|log)\.|expf|logf|tanhf)", ir_text)


def test_a_row_sum_accumulates_with_reassoc_and_vectorizes():
    """x.sum(axis=1): the generated add carries ``reassoc``, so LLVM sums in vector lanes;
    a float32 sum accumulates in float64 lanes (long rows do not drift), still vectorized."""
    plan = plan_of(randn(32, 1000).sum(axis=1))
    assert re.search(r"fadd reassoc( contract)? double", generated_ir(plan))
    optimized = kernels_of(plan)[0].optimized_ir()
    assert re.search(r"fpext <(4|8|16) x float>", optimized), optimized[:3000]
    assert re.search(r"fadd reassoc[ a-z]* <(4|8|16) x double>", optimized), optimized[:3000]


def test_kernels_take_noalias_pointers_and_bake_in_shapes():
    """The buffers are ``noalias``; the shapes are constants (no shape arguments)."""
    ir_text = generated_ir(plan_of(randn(7, 9).exp() + randn(9)))
    signature = re.search(r"define void @\"?k_\w+\"?\(([^)]*)\)", ir_text).group(1)
    params = [p.strip() for p in signature.split(",")]
    assert len(params) == 2 + 3  # start, stop (of the outer loop); out, x, the broadcast row
    assert all(p.startswith("i64 ") for p in params[:2])
    assert all(p.startswith("float* noalias") for p in params[2:])


# ------------------------------------------------------------------- kernel counts
def test_gelu_of_an_affine_map_is_one_kernel():
    """GELU(x*a + b), with a and b broadcast over rows, is ONE kernel and nothing else."""
    steps = steps_of(plan_of(gelu_of_affine(randn(8, 16), randn(16), randn(16))))
    assert [kind for kind, _ in steps] == ["kernel"]
    assert {"mul", "add", "gelu"} <= set(steps[0][1].split())


def test_softmax_over_rows_is_one_kernel():
    """softmax(x, -1): max, exp-sum and the division run in one kernel (the issue's bound
    is two)."""
    assert [kind for kind, _ in steps_of(plan_of(randn(16, 32).softmax(-1)))] == ["kernel"]


def test_softmax_over_columns_is_one_kernel_too():
    """softmax(x, 0) reduces the first axis: still one kernel."""
    assert [kind for kind, _ in steps_of(plan_of(randn(16, 32).softmax(0)))] == ["kernel"]


def test_mean_var_normalize_over_the_last_axis_is_one_kernel():
    """(x - mean) / sqrt(var + eps) over rows: two reductions and the output, one kernel."""
    steps = steps_of(plan_of(normalize(randn(8, 64))))
    assert [kind for kind, _ in steps] == ["kernel"]
    assert steps[0][1].split().count("sum") == 2


def test_matmul_bias_relu_is_blas_then_one_kernel():
    """relu(x @ W + b): the matmul alone (BLAS through NumPy), then bias + ReLU fused."""
    x, w, b = randn(8, 16), randn(16, 4), randn(4)
    steps = steps_of(plan_of((x @ w + b).relu()))
    assert steps[0] == ("numpy", "matmul")
    assert [kind for kind, _ in steps[1:]] == ["kernel"]
    assert set(steps[1][1].split()) == {"expand", "add", "relu"}


def test_fused_kernels_compute_what_numpy_computes():
    """The kernels counted above give the numpy backend's values."""
    x, a, b, w = randn(8, 16), randn(16), randn(16), randn(16, 4)
    graphs = [
        lambda: gelu_of_affine(x, a, b),
        lambda: x.softmax(-1),
        lambda: normalize(x),
        lambda: (x @ w + b[:4]).relu(),
    ]
    for make in graphs:
        with tinytorch.backend("numpy"):
            expected = make().numpy()
        with tinytorch.backend("llvm"):
            got = make().numpy()
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-6)


# -------------------------------------------------------------------- kernel cache
def test_the_same_structure_compiles_once():
    """Compiling one graph twice (plan cache bypassed) compiles its kernel only once."""
    x = randn(3, 41)  # a shape no other test uses
    before = kernel_cache.compiled
    first = kernels_of(plan_of((x * 3 + 1).tanh()))
    assert kernel_cache.compiled == before + 1
    second = kernels_of(plan_of((randn(3, 41) * 3 + 1).tanh()))
    assert kernel_cache.compiled == before + 1
    assert first[0] is second[0]


def test_a_repeated_computation_on_new_data_compiles_nothing_new():
    """The second run of the same code with new values reuses plan and kernel."""

    def step():
        with tinytorch.backend("llvm"):
            return (randn(5, 43).exp() * 2).sum(axis=1).numpy()

    step()
    before = kernel_cache.compiled
    step()
    assert kernel_cache.compiled == before


def test_different_shapes_compile_separately():
    """Shapes are baked into the code: (4, 45) and (4, 46) are two kernels."""
    before = kernel_cache.compiled
    a = kernels_of(plan_of(randn(4, 45).exp() + 1))
    b = kernels_of(plan_of(randn(4, 46).exp() + 1))
    assert kernel_cache.compiled == before + 2
    assert a[0] is not b[0] and a[0].name != b[0].name


def test_the_kernel_cache_is_bounded(monkeypatch):
    """Past its capacity the cache drops the least recently used kernels."""
    monkeypatch.setattr(kernel_cache, "capacity", 3)
    for n in range(50, 56):
        kernels_of(plan_of(randn(2, n).sigmoid() * 2))
        assert len(kernel_cache) <= 3


def test_an_evicted_kernel_still_runs_for_the_plan_that_holds_it(monkeypatch):
    """Eviction frees nothing a compiled plan still calls."""
    monkeypatch.setattr(kernel_cache, "capacity", 1)
    x = randn(2, 61)
    plan = plan_of((x * 2).exp())
    for n in range(62, 66):
        plan_of(randn(2, n).exp() * 3)
    (out,) = plan.executable.run([x.numpy()], None)
    np.testing.assert_allclose(out, np.exp(x.numpy() * 2), rtol=2e-6)


# ------------------------------------------------------------------------ profiling
def _line_of(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(k + 1 for k, line in enumerate(lines) if line.rstrip().endswith(marker))


def _scaled(x: Tensor, a: Tensor) -> Tensor:
    return x * a  # profiled: scale


def test_profiling_splits_a_fused_kernel_among_its_members_at_the_users_lines():
    """Under tinytorch.profile(), each member of the kernel gets a record with the kernel's
    name and its own source line; the shares follow the members' costs."""
    x, a, b = randn(64, 128), randn(128), randn(128)
    with tinytorch.backend("llvm"), tinytorch.profile() as prof:
        z = (_scaled(x, a) + b).gelu()  # profiled: shift and gelu
        z.numpy()
    records = [r for r in prof.records if r.backend == "llvm"]
    kernels = {r.kernel for r in records}
    assert len(kernels) == 1 and kernels.pop().startswith("k_")
    assert sorted(r.op for r in records) == sorted(["expand", "mul", "expand", "add", "gelu"])
    lines = {int(r.src.rsplit(":", 1)[1]) for r in records if r.op in ("mul", "add", "gelu")}
    assert lines == {_line_of("# profiled: scale"), _line_of("# profiled: shift and gelu")}
    assert all(r.src.startswith(__file__) for r in records)
    assert all(r.seconds >= 0 for r in records) and prof.total_seconds > 0
    by_op = {r.op: r for r in records}
    # the time is split in proportion to each node's flops + bytes
    gelu, mul = by_op["gelu"], by_op["mul"]
    ratio = (gelu.flops + gelu.bytes) / (mul.flops + mul.bytes)
    assert gelu.seconds == pytest.approx(mul.seconds * ratio, rel=1e-9)
    assert set(prof.by_line()) >= {r.src for r in records}


def test_debug_level_2_prints_one_line_per_kernel_with_rates(capsys):
    """set_debug(2): one stderr line per step run, with us, GFLOP/s and GB/s."""
    x, w, b = randn(32, 64), randn(64, 16), randn(16)
    tinytorch.set_debug(2)
    with tinytorch.backend("llvm"):
        (x @ w + b).relu().numpy()
    tinytorch.set_debug(0)
    err = capsys.readouterr().err
    run_lines = [line for line in err.splitlines() if "GFLOP/s" in line]
    assert len(run_lines) == 2  # the matmul, then the bias + relu kernel
    kernel_lines = [line for line in run_lines if re.search(r"\bk_[0-9a-f]{16}\b", line)]
    assert len(kernel_lines) == 1
    for line in run_lines:
        assert line.startswith("[tinytorch] llvm")
        assert re.search(r"[\d.]+ us .*[\d.]+ GFLOP/s +[\d.]+ GB/s", line), line
        assert Path(__file__).name in line  # the user's line


# -------------------------------------------------------------------------- threads
def test_a_large_kernel_split_over_two_threads_gives_identical_bits(monkeypatch):
    """TINYTORCH_THREADS=1 and =2 give the same bits; with 2 the rows are split in two."""
    x = randn(512, 384)
    assert x.size >= llvm_executable.PARALLEL_MIN_ELEMENTS
    capture = Capture([gelu_of_affine(x, randn(384), randn(384)).softmax(-1)._node])
    plan = compile_plan(capture, "llvm")
    inputs = [source.meta["value"] for source in capture.sources]
    (kernel,) = kernels_of(plan)
    calls: list[tuple[int, int]] = []
    original = kernel.cfunc

    def recording(lo, hi, *pointers):
        calls.append((lo, hi))
        return original(lo, hi, *pointers)

    monkeypatch.setattr(kernel, "cfunc", recording)
    results = {}
    for threads in (1, 2):
        monkeypatch.setenv("TINYTORCH_THREADS", str(threads))
        calls.clear()
        (results[threads],) = plan.executable.run(inputs, None)
        ranges = sorted(calls)
        assert len(ranges) == threads
        assert ranges[0][0] == 0 and ranges[-1][1] == 512
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert np.array_equal(results[1], results[2])
