"""Module 14: the Profiler, on every backend, against numbers worked out by hand.

FLOPs and parameter counts are checked against the book's formulas (``in * out * 2`` per
sample for a Linear, ``2 * out_c * in_c * kh * kw * oh * ow`` for a convolution), memory
against the bytes the plan must hold, and the trace against Chrome's trace-event schema.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinytorch
from tinytorch import Conv2d, Flatten, Layer, Linear, MaxPool2d, ReLU, Sequential, Tensor
from tinytorch.perf.machine import Machine
from tinytorch.perf.profiling import Profiler, quick_profile

# A fixed roofline (ridge point 10 flops/byte), so verdicts do not depend on this machine.
MACHINE = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)


@pytest.fixture(params=tinytorch.available_backends())
def backend(request):
    with tinytorch.backend(request.param):
        yield request.param


def profiler() -> Profiler:
    return Profiler(machine=MACHINE, warmup=1, iterations=3)


def batch(*shape: int) -> Tensor:
    return Tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


class Chain(Layer):
    """Elementwise only: five ops (mul, add, relu, mul, exp); a fusing backend runs one kernel."""

    def forward(self, x):
        return ((x * 2.0 + 1.0).relu() * 3.0).exp()


class TwoMatmuls(Layer):
    """No known layer type: the profiler must count it from the graph it builds."""

    def __init__(self, n: int, m: int) -> None:
        self.a = Tensor(np.ones((n, m), np.float32), requires_grad=True)
        self.b = Tensor(np.ones((m, n), np.float32), requires_grad=True)

    def forward(self, x):
        return (x @ self.a) @ self.b


# ------------------------------------------------------------------ parameters
def test_count_parameters_follows_in_times_out_plus_bias():
    model = Sequential(Linear(784, 128), ReLU(), Linear(128, 10))
    assert profiler().count_parameters(model) == (784 * 128 + 128) + (128 * 10 + 10)


def test_count_params_is_the_api_tables_name_for_count_parameters():
    model = Sequential(Linear(100, 50), ReLU(), Linear(50, 10))
    p = profiler()
    assert p.count_params(model) == p.count_parameters(model) == 100 * 50 + 50 + 50 * 10 + 10


def test_book_q1_feed_forward_parameters():
    ffn = Sequential(Linear(768, 3072), Linear(3072, 768))
    per_layer = profiler().count_parameters(ffn)
    assert per_layer == 768 * 3072 + 3072 + 3072 * 768 + 768
    assert 12 * per_layer == 56_669_184  # the book's total for 12 layers


# ----------------------------------------------------------------------- flops
@pytest.mark.parametrize("batch_size", [1, 64])
def test_linear_flops_are_per_sample(backend, batch_size):
    flops = profiler().count_flops(Linear(512, 512), (batch_size, 512))
    assert flops == 512 * 512 * 2 == 524_288


def test_include_elementwise_adds_the_bias_add(backend):
    flops = profiler().count_flops(Linear(512, 512), (4, 512), include_elementwise=True)
    assert flops == 512 * 512 * 2 + 512


def test_cnn_flops_from_the_convolution_and_linear_formulas(backend):
    model = Sequential(Conv2d(1, 4, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(4 * 3 * 3, 10))
    conv = 2 * 4 * 1 * 3 * 3 * 6 * 6  # out_c * in_c * kh * kw * oh * ow multiply-adds
    linear = 2 * 36 * 10
    assert profiler().count_flops(model, (5, 1, 8, 8)) == conv + linear


def test_any_model_is_counted_from_its_graph(backend):
    assert profiler().count_flops(TwoMatmuls(16, 24), (3, 16)) == 2 * 16 * 24 * 2


# ---------------------------------------------------------------------- memory
def test_measure_memory_reports_the_books_keys_from_the_plan(backend):
    model = Sequential(Linear(64, 32), ReLU(), Linear(32, 8))
    mem = profiler().measure_memory(model, (16, 64))
    assert {"parameter_memory_mb", "activation_memory_mb", "peak_memory_mb",
            "memory_efficiency"} <= set(mem)  # fmt: skip
    params = 64 * 32 + 32 + 32 * 8 + 8
    assert mem["parameter_memory_mb"] == pytest.approx(params * 4 / 1e6)
    assert mem["activation_memory_mb"] >= 16 * 8 * 4 / 1e6  # at least the output
    expected_peak = mem["parameter_memory_mb"] + 16 * 64 * 4 / 1e6 + mem["activation_memory_mb"]
    assert mem["peak_memory_mb"] == pytest.approx(expected_peak)
    assert 0 < mem["memory_efficiency"] <= 1


def test_fusion_shows_as_fewer_live_buffers(backend):
    """NumPy interprets op by op: an op's input and output are alive together (two
    buffers). llvm runs the chain as one kernel that stores only its result."""
    mem = profiler().measure_memory(Chain(), (250, 400))
    one_buffer = 250 * 400 * 4 / 1e6
    expected = {"numpy": 2, "llvm": 1}[backend]
    assert mem["activation_memory_mb"] == pytest.approx(expected * one_buffer)
    assert mem["allocated_memory_mb"] == pytest.approx(
        {"numpy": 5, "llvm": 1}[backend] * one_buffer
    )


# --------------------------------------------------------------------- latency
def test_measure_latency_runs_warmup_plus_iterations_and_returns_ms(backend):
    calls = []

    class Counting(Layer):
        def forward(self, x):
            calls.append(1)
            return x * 2.0

    ms = profiler().measure_latency(Counting(), batch(4, 4), warmup=2, iterations=5)
    assert len(calls) == 7
    assert isinstance(ms, float) and ms > 0


# -------------------------------------------------------------------- analysis
def test_forward_pass_profile_has_bottleneck_and_rate(backend):
    prof = profiler().profile_forward_pass(Linear(256, 256), batch(256, 256))
    assert prof["bottleneck"] == "compute"  # 2*256^3 flops on ~3*256^2*4 bytes: ~42 flop/B
    assert prof["gflops_per_second"] > 0
    assert prof["flops"] == 256 * 256 * 2
    assert prof["parameters"] == 256 * 256 + 256
    assert {"latency_ms", "peak_memory_mb", "arithmetic_intensity", "kernels"} <= set(prof)


def test_elementwise_model_is_memory_bound(backend):
    prof = profiler().profile_forward_pass(Chain(), batch(64, 64))
    assert prof["bottleneck"] == "memory" and prof["is_memory_bound"]
    assert prof["arithmetic_intensity"] < MACHINE.ridge_point


def test_profile_lists_the_kernels_that_ran(backend):
    prof = profiler().profile_forward_pass(Chain(), batch(8, 8))
    kernels = [k for k in prof["kernels"] if k["flops"] > 0]
    ops = [op for k in kernels for op in k["ops"] if op != "const"]
    assert sorted(set(ops)) == ["add", "exp", "mul", "relu"]
    if backend == "llvm":  # fused: one kernel holding the whole chain
        assert len(kernels) == 1
    assert all(
        line.endswith(".py:" + line.rsplit(":", 1)[1]) for k in kernels for line in k["lines"]
    )


def test_profile_layer_names_the_layer(backend):
    prof = profiler().profile_layer(Linear(32, 16), (4, 32))
    assert prof["layer_type"] == "Linear" and prof["flops"] == 32 * 16 * 2


def test_backward_pass_profile_counts_gradients_and_leaves_grads_alone(backend):
    model = TwoMatmuls(32, 48)
    x = batch(8, 32)
    prof = profiler().profile_backward_pass(model, x)
    forward_matmuls = 2 * (8 * 32 * 48) * 2
    assert prof["forward_flops"] == forward_matmuls
    # dW of both matmuls and dX of the second (x needs no gradient): 3 matmuls' worth
    assert prof["backward_flops"] >= 3 * forward_matmuls // 2
    assert prof["total_flops"] == prof["forward_flops"] + prof["backward_flops"]
    assert prof["gradient_memory_mb"] == pytest.approx(prof["parameter_memory_mb"])
    assert prof["peak_memory_mb"] >= prof["parameter_memory_mb"] + prof["gradient_memory_mb"]
    assert prof["optimizer_memory_estimates"]["adam"] == pytest.approx(
        4 * prof["parameter_memory_mb"]
    )
    assert prof["bottleneck"] in ("memory", "compute")
    assert model.a.grad is None and model.b.grad is None


def test_quick_profile_prints_a_summary(backend, capsys):
    result = quick_profile(Linear(8, 4), batch(2, 8), profiler())
    out = capsys.readouterr().out
    assert "Parameters: 36" in out and "Bottleneck" in out
    assert result["parameters"] == 36


@pytest.mark.parametrize(
    "method, args",
    [
        ("count_flops", ((1, 4),)),
        ("measure_memory", ((1, 4),)),
        ("measure_latency", (None,)),
        ("profile_layer", ((1, 4),)),
        ("profile_forward_pass", (None,)),
        ("profile_backward_pass", (None,)),
        ("count_parameters", ()),
    ],
)
def test_an_object_without_forward_is_a_type_error_naming_it(method, args):
    class NotAModel:
        pass

    with pytest.raises(TypeError, match="NotAModel"):
        getattr(profiler(), method)(NotAModel(), *args)


# ----------------------------------------------------------------------- trace
def test_chrome_trace_is_valid_trace_event_json(backend, tmp_path):
    p = profiler()
    p.profile_forward_pass(Sequential(Linear(16, 8), ReLU(), Linear(8, 4)), batch(4, 16))
    path = tmp_path / "trace.json"
    assert p.export_chrome_trace(str(path)) == str(path)
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    assert complete and all(e["ph"] in ("X", "M") for e in events)
    for e in complete:
        assert {"name", "ph", "ts", "dur", "pid", "tid", "args"} <= set(e)
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    starts = [e["ts"] for e in complete]
    assert starts == sorted(starts)
    matmuls = [e for e in complete if "matmul" in e["args"]["ops"]]
    assert len(matmuls) == 2 and all(e["args"]["flops"] > 0 for e in matmuls)
    assert all("layers.py" in line for e in matmuls for line in e["args"]["lines"])
    assert [f.name for f in tmp_path.iterdir()] == ["trace.json"]  # no temporary left


def test_trace_before_any_profile_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="nothing profiled"):
        Profiler().export_chrome_trace(str(tmp_path / "t.json"))


# -------------------------------------------------------------------- roofline
def test_roofline_places_each_kernel_under_the_machine(backend):
    p = profiler()
    p.profile_forward_pass(Sequential(Linear(128, 128), ReLU()), batch(128, 128))
    report = p.roofline()
    by_op = {point.ops[-1]: point for point in report.points}
    assert by_op["matmul"].bound == "compute" and by_op["relu"].bound == "memory"
    for point in report.points:
        assert point.intensity == pytest.approx(point.flops / point.bytes)
        assert point.attainable_gflops == pytest.approx(MACHINE.attainable_gflops(point.intensity))
    text = report.text()
    assert "matmul" in text and "ridge point 10.00" in text


def test_machine_rejects_nonsense_and_knows_its_ridge_point():
    assert Machine(200.0, 20.0).ridge_point == 10.0
    assert Machine(200.0, 20.0).attainable_gflops(1.0) == 20.0
    with pytest.raises(ValueError, match="positive"):
        Machine(0.0, 10.0)


# ------------------------------------------------------------------------- GPT
def test_gpt_flops_follow_the_transformer_formula(backend):
    """Per sample: each layer has 4 projections (2*T*E*E each), scores and mixing
    (2*T*T*E each) and a 4x MLP (2 * 2*T*E*4E); then the LM head (2*T*E*V)."""
    transformer = pytest.importorskip("tinytorch.nn.transformer")
    vocab, embed, layers, heads, seq = 50, 32, 2, 4, 16
    model = transformer.GPT(vocab, embed, layers, heads, max_seq_len=seq)
    per_layer = 4 * 2 * seq * embed**2 + 2 * 2 * seq**2 * embed + 2 * 2 * seq * embed * 4 * embed
    expected = layers * per_layer + 2 * seq * embed * vocab
    p = profiler()
    assert p.count_flops(model, (2, seq)) == expected
    prof = p.profile_forward_pass(model, Tensor(np.arange(2 * seq).reshape(2, seq) % vocab))
    assert prof["parameters"] == sum(int(t.size) for t in model.parameters())
    assert any("matmul" in k["ops"] for k in prof["kernels"])
