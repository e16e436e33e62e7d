"""Book Module 15: int8 quantization, with the book's formulas and numbers, computed for real.

References are written here independently, in NumPy: the book's formulas for scale, zero
point, quantize and dequantize, and the quantized layer's integer math in int64. Every test
that computes runs on every backend.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tinytorch
from tinytorch import Linear, ReLU, Sequential, Tensor
from tinytorch.nn.module import Layer
from tinytorch.perf.quantization import (
    NotCalibratedError,
    QuantizedLinear,
    compare_model_sizes,
    dequantize_int8,
    quantize_int8,
    quantize_model,
    quantize_per_channel,
)

BACKENDS = tinytorch.available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    with tinytorch.backend(request.param):
        yield request.param


def book_quantize(x: np.ndarray) -> tuple[np.ndarray, float, int]:
    """The book's quantize_int8, line by line (spec section 2)."""
    lo, hi = float(x.min()), float(x.max())
    scale = (hi - lo) / 255
    zp = int(np.clip(int(np.round(-128 - lo / scale)), -128, 127))
    q = np.clip(np.round(x / scale + zp), -128, 127).astype(np.int8)
    return q, scale, zp


# ------------------------------------------------------------- the book's functions
def test_uniform_half_range_gives_the_books_scale_and_error_bound(backend):
    """Q2: values in [-0.5, 0.5] -> scale 1/255 = 0.003922, round-trip error <= scale/2."""
    x = Tensor(np.linspace(-0.5, 0.5, 1001, dtype=np.float32))
    q, scale, zero_point = quantize_int8(x)
    assert scale == pytest.approx(1 / 255) and round(scale, 6) == 0.003922
    assert zero_point == 0 and q.dtype == np.int8 and q.shape == (1001,)
    error = np.abs(dequantize_int8(q, scale, zero_point).data - x.data)
    assert error.max() <= scale / 2 + 1e-7  # 0.001961, up to float32 rounding


def test_quantize_matches_the_books_formulas(backend):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((7, 9)) * 3 + 1).astype(np.float32)
    q, scale, zero_point = quantize_int8(Tensor(x))
    want_q, want_scale, want_zp = book_quantize(x)
    assert (scale, zero_point) == (want_scale, want_zp)
    assert type(scale) is float and type(zero_point) is int
    np.testing.assert_array_equal(q.data, want_q)
    deq = dequantize_int8(q, scale, zero_point).data
    assert deq.dtype == np.float32
    np.testing.assert_array_equal(deq, (want_q.astype(np.float32) - want_zp) * np.float32(scale))


def test_an_asymmetric_range_moves_the_zero_point(backend):
    """[-1, 3]: the book's prose says "might be 64"; its formula gives -64 (spec [AMBIG])."""
    _, scale, zero_point = quantize_int8(Tensor([-1.0, 0.0, 3.0]))
    assert scale == pytest.approx(4 / 255) and zero_point == -64


def test_a_constant_tensor_gives_zeros_scale_one_zero_point_zero(backend):
    q, scale, zero_point = quantize_int8(Tensor(np.full((2, 3), 0.7, np.float32)))
    assert (scale, zero_point) == (1.0, 0)
    assert q.dtype == np.int8 and np.array_equal(q.data, np.zeros((2, 3), np.int8))


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((0, 3), np.float32), "empty tensor"),
        (np.array([1.0, np.nan], np.float32), "non-finite"),
        (np.array([1.0, np.inf], np.float32), "non-finite"),
    ],
)
def test_empty_or_non_finite_tensors_are_refused(data, match):
    with pytest.raises(ValueError, match=match):
        quantize_int8(Tensor(data))


def test_dequantize_needs_int8():
    with pytest.raises(TypeError, match="int8"):
        dequantize_int8(Tensor([1.0, 2.0]), 0.1, 0)


# ---------------------------------------------------------------- QuantizedLinear
def test_quantized_linear_has_the_books_attributes_and_int8_storage():
    np.random.seed(0)
    layer = Linear(6, 4)
    q = QuantizedLinear(layer)
    assert q.q_weight.shape == (6, 4) and q.q_weight.dtype == np.int8
    want_q, want_scale, want_zp = book_quantize(layer.weight.data)
    np.testing.assert_array_equal(q.q_weight.data, want_q)
    assert (q.weight_scale, q.weight_zero_point) == (want_scale, want_zp)
    assert q.q_bias.dtype == np.int8 and (q.bias_scale, q.bias_zero_point) == (1.0, 0)  # b = 0
    assert q.input_scale is None and q.input_zero_point is None
    assert q.original_layer is layer
    assert q._q_weight_t.data.nbytes == 6 * 4  # one byte per weight
    no_bias = QuantizedLinear(Linear(3, 2, bias=False))
    assert no_bias.q_bias is None and no_bias.bias_scale is None and no_bias.bias_zero_point is None


def test_the_quantized_layer_does_not_keep_the_float_weights_alive():
    layer = Linear(8, 8)
    q = QuantizedLinear(layer)
    del layer
    gc.collect()
    assert q.original_layer is None
    assert all(p.dtype == np.int8 for p in (q.q_weight, q.q_bias))


def test_memory_usage_is_four_times_smaller():
    usage = QuantizedLinear(Linear(784, 256)).memory_usage()
    assert usage["original_bytes"] == 4 * (784 * 256 + 256)
    assert usage["quantized_bytes"] == 784 * 256 + 256
    assert usage["compression_ratio"] == 4.0 and usage["memory_saved_percent"] == 75.0


def test_compare_model_sizes_gives_the_books_q1_numbers():
    """Q1: 784 -> 256 -> 128 -> 10 has 235,146 parameters: 940,584 B in FP32, 235,146 B in
    INT8, a 75% saving."""

    def mlp():
        return Sequential(Linear(784, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10))

    original, quantized = mlp(), quantize_model(mlp())
    sizes = compare_model_sizes(original, quantized)
    assert sizes["original_bytes"] == 940_584 and sizes["quantized_bytes"] == 235_146
    assert sizes["compression_ratio"] == 4.0 and sizes["memory_saved_percent"] == 75.0


def calibrated_layer(per_channel=False, seed=0):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    layer = Linear(32, 12)
    layer.bias.data = rng.standard_normal(12).astype(np.float32) * 0.1
    x = rng.standard_normal((5, 32)).astype(np.float32)
    q = QuantizedLinear(layer, per_channel=per_channel)
    q.calibrate([Tensor(x[:3]), Tensor(x[3:])])
    return layer, q, x


def integer_reference(q: QuantizedLinear, x: np.ndarray) -> np.ndarray:
    """The calibrated layer's arithmetic, by hand: int8 input and weight, exact int64 sums
    of (xq - zx)(Wq - zw), then the scales and the dequantized bias."""
    sx, zx = np.float32(q.input_scale), int(q.input_zero_point)
    xq = np.clip(np.round(x / sx + np.float32(zx)), -128, 127).astype(np.int64)
    wq = q.q_weight.data.astype(np.int64)
    zw = np.asarray(q.weight_zero_point, np.int64)
    acc = (xq - zx) @ (wq - zw)
    bias = (q.q_bias.data.astype(np.float32) - q.bias_zero_point) * np.float32(q.bias_scale)
    return acc * np.float64(sx) * np.asarray(q.weight_scale, np.float64) + bias


@pytest.mark.parametrize("per_channel", [False, True])
def test_calibrated_forward_is_the_integer_math(backend, per_channel):
    """The calibrated layer computes on integers (int8_matmul is in its compiled graph) and
    equals the int64 reference up to the float32 epilogue's rounding."""
    _, q, x = calibrated_layer(per_channel)
    y = q(Tensor(x))
    assert "int8_matmul" in tinytorch.explain(y)
    got = y.data
    assert got.dtype == np.float32 and got.shape == (5, 12)
    np.testing.assert_allclose(got, integer_reference(q, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("per_channel", [False, True])
def test_calibrated_forward_is_within_a_quantization_step_of_the_float_layer(backend, per_channel):
    """Each operand is off by at most half its step (scale/2), so each output is off by at
    most sum_k (|x| sw/2 + |w| sx/2 + sx sw/4) + sb/2 from the float layer."""
    layer, q, x = calibrated_layer(per_channel)
    got = q(Tensor(x)).data
    want = layer(Tensor(x)).data
    sx, sw, sb = q.input_scale, np.asarray(q.weight_scale), q.bias_scale
    w = layer.weight.data
    bound = np.abs(x) @ (np.ones_like(w) * sw / 2) + (np.abs(w) * sx / 2).sum(0)
    bound += 32 * sx * sw / 4 + sb / 2
    assert np.all(np.abs(got - want) <= bound * 1.001 + 1e-6)
    assert np.abs(got - want).max() < 0.05 * np.abs(want).max()


def test_per_channel_scales_help_columns_of_different_ranges(backend):
    np.random.seed(1)
    layer = Linear(16, 4, bias=False)
    layer.weight.data = layer.weight.data * np.array([100.0, 1.0, 0.01, 1.0], np.float32)
    x = Tensor(np.random.randn(3, 16).astype(np.float32))
    want = layer(x).data
    errors = {}
    for per_channel in (False, True):
        out = QuantizedLinear(layer, per_channel=per_channel)(x).data
        errors[per_channel] = np.abs(out - want)[:, 2].max()  # the narrow column
    assert errors[True] < errors[False] / 10
    assert np.asarray(QuantizedLinear(layer, per_channel=True).weight_scale).shape == (4,)


def test_per_channel_ranges_include_zero_so_one_signed_columns_survive(backend):
    """A column of positive weights only ([1, 5]): its own [min, max] range needs zero point
    -192, clipped to -128, which would cut 5.0 down to 4.0. The range is widened to [0, 5],
    so every weight comes back within half a step; a constant column stays exact."""
    w = np.float32([[1.0, -2.0, 0.5], [5.0, 3.0, 0.5], [3.0, -1.0, 0.5]])
    q, scale, zero = quantize_per_channel(Tensor(w))
    np.testing.assert_array_equal(zero, [-128, -26, 0])
    back = (q.data.astype(np.float32) - zero.astype(np.float32)) * scale
    assert np.all(np.abs(back - w) <= scale / 2 + 1e-7)
    assert np.all(q.data[:, 2] == 127) and scale[2] == np.float32(0.5 / 127)  # constant


def test_uncalibrated_layer_runs_the_books_float_path(backend):
    """Not calibrated: x @ dequantize(W) + dequantize(b), exactly the book's forward."""
    layer, _, x = calibrated_layer()
    q = QuantizedLinear(layer)
    y = q(Tensor(x))
    assert "int8_matmul" not in tinytorch.explain(y)
    w = (q.q_weight.data.astype(np.float32) - q.weight_zero_point) * np.float32(q.weight_scale)
    b = (q.q_bias.data.astype(np.float32) - q.bias_zero_point) * np.float32(q.bias_scale)
    np.testing.assert_allclose(y.data, x @ w + b, rtol=1e-5, atol=1e-6)


def test_batched_inputs_keep_their_leading_dimensions(backend):
    _, q, x = calibrated_layer()
    x3 = np.stack([x, x[::-1]])
    out = q(Tensor(x3)).data
    assert out.shape == (2, 5, 12)
    np.testing.assert_allclose(out[1], q(Tensor(x[::-1].copy())).data, rtol=1e-6)


def test_use_before_calibration_when_required_is_refused():
    q = QuantizedLinear(Linear(4, 2), require_calibration=True)
    with pytest.raises(NotCalibratedError, match="calibrate"):
        q(Tensor(np.ones((1, 4), np.float32)))
    q.calibrate([Tensor(np.ones((1, 4), np.float32))])  # constant: scale 1.0, zero point 0
    assert (q.input_scale, q.input_zero_point) == (1.0, 0)
    assert q(Tensor(np.ones((1, 4), np.float32))).shape == (1, 2)


def test_calibration_data_of_the_wrong_shape_is_refused():
    q = QuantizedLinear(Linear(4, 2))
    with pytest.raises(ValueError, match="in_features=4"):
        q.calibrate([Tensor(np.ones((3, 5), np.float32))])
    with pytest.raises(ValueError, match="non-empty"):
        q.calibrate([])
    with pytest.raises(ValueError, match="non-finite"):
        q.calibrate([Tensor(np.array([[1, 2, 3, np.nan]], np.float32))])
    model = Sequential(Linear(4, 3), ReLU(), Linear(3, 2))
    with pytest.raises(ValueError, match=r"calibration batch 0 of shape \(2, 7\)"):
        quantize_model(model, [Tensor(np.ones((2, 7), np.float32))])
    assert isinstance(model.layers[0], Linear)  # nothing was replaced
    with pytest.raises(ValueError, match="does not fit"):
        q(Tensor(np.ones((3, 5), np.float32)))


def test_a_model_without_linear_layers_is_refused():
    with pytest.raises(ValueError, match="no Linear or Conv2d layer"):
        quantize_model(Sequential(ReLU()))
    with pytest.raises(TypeError, match="QuantizedLinear"):
        quantize_model(Linear(2, 2))


# ---------------------------------------------------------------- whole models
class TwoLayerNet(Layer):
    """A model that is not a Sequential: Linear layers held as attributes."""

    def __init__(self) -> None:
        self.fc1, self.act, self.fc2 = Linear(10, 16), ReLU(), Linear(16, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


@pytest.mark.parametrize(
    "make_model", [TwoLayerNet, lambda: Sequential(Linear(10, 16), ReLU(), Linear(16, 3))]
)
def test_quantize_model_calibrates_each_layer_on_its_own_inputs(backend, make_model):
    """The book's usage: quantize_model(model, [batch1, batch2]); afterwards model(x) works,
    close to the float model, with every layer on integers."""
    np.random.seed(3)
    model = make_model()
    rng = np.random.default_rng(3)
    batches = [Tensor(rng.standard_normal((8, 10)).astype(np.float32)) for _ in range(2)]
    x = Tensor(rng.standard_normal((4, 10)).astype(np.float32))
    want = model(x).data
    hidden = np.maximum(batches[0].data @ (model.fc1 if isinstance(model, TwoLayerNet)
                                           else model.layers[0]).weight.data, 0)  # fmt: skip
    assert quantize_model(model, batches) is model
    layers = [model.fc1, model.fc2] if isinstance(model, TwoLayerNet) else model.layers[::2]
    assert all(isinstance(q, QuantizedLinear) and q.calibrated for q in layers)
    lo = min(b.data.min() for b in batches)
    assert layers[0].input_zero_point == int(np.clip(np.round(-128 - lo / layers[0].input_scale),
                                                     -128, 127))  # fmt: skip
    assert layers[1].input_scale >= (hidden.max() - 0) / 255 * 0.999  # saw the ReLU outputs
    y = model(x)
    lowered = tinytorch.explain(y).split("== after quantize_lowering ==")[1].split("==")[0]
    assert lowered.count("int8_matmul(") == 2
    np.testing.assert_allclose(y.data, want, atol=0.1 * np.abs(want).max())


def test_a_cnn_keeps_its_float_convolutions_when_told_to(backend):
    """``quantize_convs=False`` (the book's quantize_model, which knows only Linear): sizes
    count the convolution's float32 weights at 4 bytes each and the Linear's int8 at 1.
    The int8 convolutions themselves are tested in test_quantized_conv.py."""

    def cnn():
        np.random.seed(5)
        return Sequential(tinytorch.Conv2d(1, 4, 3), ReLU(), tinytorch.Flatten(), Linear(144, 10))

    original, quantized = cnn(), cnn()
    x = Tensor(np.random.default_rng(5).standard_normal((2, 1, 8, 8)).astype(np.float32))
    quantize_model(quantized, [x], quantize_convs=False)
    assert isinstance(quantized.layers[0], tinytorch.Conv2d)
    conv = 4 * 1 * 3 * 3 + 4
    sizes = compare_model_sizes(original, quantized)
    assert sizes["original_bytes"] == 4 * (conv + 144 * 10 + 10)
    assert sizes["quantized_bytes"] == 4 * conv + 144 * 10 + 10
    want = original(x).data
    np.testing.assert_allclose(quantized(x).data, want, atol=0.05 * np.abs(want).max())
