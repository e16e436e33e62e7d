"""Int8 convolutions (``QuantizedConv2d``), and ``quantize_model`` on CNNs.

References are written here independently of the package: the book's formulas per output
channel for the kernels, an explicit loop over output pixels for the convolution, and the
integer arithmetic in int64. Every test that computes runs on every backend; on llvm it
also checks that compiled kernels did the work (tests/perf is not under the suite-wide
``[llvm]`` rule of tests/conftest.py, so the tests check it themselves).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tinytorch
from tinytorch import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tensor
from tinytorch.backends.llvm import executable
from tinytorch.ir.errors import ShapeError
from tinytorch.perf.quantization import (
    NotCalibratedError,
    QuantizedConv2d,
    QuantizedLinear,
    compare_model_sizes,
    model_bytes,
    quantize_model,
)

BACKENDS = tinytorch.available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The test's backend; on llvm, the test must run compiled kernels and no fallback."""
    runs = {"kernels": 0, "fallbacks": []}

    def listen(exe) -> None:
        runs["kernels"] += exe.kernels
        runs["fallbacks"] += list(exe.fallbacks)

    previous = executable.set_run_listener(listen)
    try:
        with tinytorch.backend(request.param):
            yield request.param
    finally:
        executable.set_run_listener(previous)
    if request.param == "llvm":
        assert runs["kernels"] > 0 and not runs["fallbacks"], runs


# ------------------------------------------------------------------ references
def book_quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The book's asymmetric formulas applied to each row of ``w`` (one output channel's
    kernel) on its own, over the row's range widened to include 0:
    ``(int8 rows, scales, zero points)``."""
    q, scales, zeros = np.empty(w.shape, np.int8), [], []
    for o, row in enumerate(w):
        lo, hi = min(float(row.min()), 0.0), max(float(row.max()), 0.0)
        scale = (hi - lo) / 255
        zp = int(np.clip(int(np.round(-128 - lo / scale)), -128, 127))
        q[o] = np.clip(np.round(row / np.float32(scale) + zp), -128, 127)
        scales.append(scale)
        zeros.append(zp)
    return q, np.float32(scales), np.int32(zeros)


def patches(x: np.ndarray, kernel, stride, padding, pad_value) -> np.ndarray:
    """``(N, OH, OW, C, kh, kw)``: every window, gathered by an explicit loop."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((x.shape[0], oh, ow, x.shape[1], kh, kw), x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
    return out


def integer_reference(q: QuantizedConv2d, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated layer's arithmetic by hand: the int8 image padded with its zero point,
    exact int64 sums of ``(xq - zx)(Wq - zw)`` per output pixel, then the float32 epilogue
    (``acc * sx * sw``, plus the dequantized bias). Returns ``(without bias, bias)``."""
    sx, zx = np.float32(q.input_scale), int(q.input_zero_point)
    xq = np.clip(np.round(x / sx + np.float32(zx)), -128, 127).astype(np.int64)
    cols = patches(xq, q.kernel_size, q.stride, q.padding, zx) - zx
    zw = np.asarray(q.weight_zero_point, np.int64).reshape(-1, 1, 1, 1)
    acc = np.einsum("nijckl,ockl->noij", cols, q.q_weight.data.astype(np.int64) - zw)
    sw = np.asarray(q.weight_scale, np.float32).reshape(-1, 1, 1)
    out = acc.astype(np.float32) * sx * sw
    if q.q_bias is None:
        return out, np.zeros((1, 1, 1), np.float32)
    bias = (q.q_bias.data.astype(np.float32) - np.float32(q.bias_zero_point)) * np.float32(
        q.bias_scale
    )
    return out, bias.reshape(-1, 1, 1)


def float_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, padding):
    """A float64 convolution by the same loop (the float layer's reference)."""
    cols = patches(x.astype(np.float64), w.shape[2:], stride, padding, 0.0)
    out = np.einsum("nijckl,ockl->noij", cols, w.astype(np.float64))
    return out if b is None else out + b.reshape(-1, 1, 1)


GEOMETRIES = [  # in, out, kernel, stride, padding, bias
    (3, 5, 3, 1, 1, True),
    (4, 6, (3, 2), (2, 1), (1, 2), True),
    (2, 3, 1, 1, 0, False),
    (1, 8, 5, 2, 0, True),
]


def calibrated_conv(geometry, per_channel=True, seed=0, shift=0.5):
    cin, cout, kernel, stride, padding, bias = geometry
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    conv = Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=bias)
    conv.weight.data = conv.weight.data * rng.uniform(0.2, 5.0, (cout, 1, 1, 1)).astype(np.float32)
    if bias:
        conv.bias.data = rng.standard_normal(cout).astype(np.float32) * 0.3
    x = (rng.standard_normal((3, cin, 9, 8)) * 2 + shift).astype(np.float32)
    q = QuantizedConv2d(conv, per_channel=per_channel)
    q.calibrate([Tensor(x[:2]), Tensor(x[2:])])
    return conv, q, x


def lowered(y: Tensor) -> str:
    """The graph of ``y`` after the quantization lowering pass (read before realizing)."""
    return tinytorch.explain(y).split("== after quantize_lowering ==")[1].split("\n== ")[0]


# ------------------------------------------------------------------ the layer
def test_kernels_are_int8_per_output_channel_by_the_books_formulas():
    np.random.seed(0)
    conv = Conv2d(3, 4, 3)
    conv.weight.data = conv.weight.data * np.float32([[[[0.01]]], [[[1]]], [[[10]]], [[[1]]]])
    q = QuantizedConv2d(conv)
    assert q.q_weight.shape == (4, 3, 3, 3) and q.q_weight.dtype == np.int8
    want_q, want_scale, want_zp = book_quantize_rows(conv.weight.data.reshape(4, -1))
    np.testing.assert_array_equal(q.q_weight.data.reshape(4, -1), want_q)
    np.testing.assert_allclose(q.weight_scale, want_scale, rtol=1e-6)
    np.testing.assert_array_equal(q.weight_zero_point, want_zp)
    assert q._q_weight_t.data.nbytes == 4 * 27  # one byte per kernel value, no float copy
    assert q.q_bias.dtype == np.int8 and (q.bias_scale, q.bias_zero_point) == (1.0, 0)  # b = 0
    assert q.input_scale is None and not q.calibrated and q.original_layer is conv
    per_tensor = QuantizedConv2d(conv, per_channel=False)
    assert type(per_tensor.weight_scale) is float and type(per_tensor.weight_zero_point) is int
    assert "per-channel" in repr(q) and "not calibrated" in repr(q)


def test_a_one_signed_kernel_keeps_its_whole_range():
    """A 1x1 kernel over two channels is often all positive: with the book's range
    [min, max] its zero point (-203 here) would be clipped to -128 and the largest weight
    cut down to 255 * scale. The range includes 0, so every weight comes back within half
    a step."""
    conv = Conv2d(2, 2, 1, bias=False)
    conv.weight.data = np.float32([5.75, 1.30, -0.4, -2.0]).reshape(2, 2, 1, 1)
    q = QuantizedConv2d(conv)
    rows = q.q_weight.data.reshape(2, 2).astype(np.float32)
    zw, sw = np.asarray(q.weight_zero_point)[:, None], np.asarray(q.weight_scale)[:, None]
    back = (rows - zw) * sw
    assert np.all(np.abs(back - conv.weight.data.reshape(2, 2)) <= sw / 2 + 1e-7)
    np.testing.assert_array_equal(q.weight_zero_point, [-128, 127])


def test_the_quantized_conv_does_not_keep_the_float_kernels_alive():
    conv = Conv2d(2, 4, 3)
    q = QuantizedConv2d(conv)
    del conv
    gc.collect()
    assert q.original_layer is None
    assert q.parameters() == []  # nothing trainable, nothing float left


def test_memory_usage_is_four_times_smaller():
    usage = QuantizedConv2d(Conv2d(16, 32, 3)).memory_usage()
    values = 32 * 16 * 9 + 32
    assert usage["original_bytes"] == 4 * values and usage["quantized_bytes"] == values
    assert usage["quantization_params_bytes"] == 8 * 32  # a scale and a zero point per channel
    assert usage["compression_ratio"] == 4.0 and usage["memory_saved_percent"] == 75.0


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_calibrated_forward_is_the_integer_math(backend, geometry, per_channel):
    """The convolution runs on integers (int8_matmul replaced the float matmul in the
    lowered graph) and equals the int64 reference: bit for bit on NumPy; on llvm the bias
    add may fuse with the last multiply into one FMA (one rounding instead of two, see
    ``finish_ir``), so there the difference is within float32 rounding of the terms."""
    _, q, x = calibrated_conv(geometry, per_channel)
    y = q(Tensor(x))
    graph = lowered(y)
    assert "int8_matmul(" in graph and "= matmul(" not in graph
    got = y.data
    product, bias = integer_reference(q, x)
    want = product + bias
    assert got.dtype == np.float32 and got.shape == want.shape
    if backend == "numpy" or q.q_bias is None:  # no add: nothing for FMA to contract
        np.testing.assert_array_equal(got, want)
    else:
        rounding = np.finfo(np.float32).eps * (np.abs(product) + np.abs(bias))
        assert np.all(np.abs(got - want) <= rounding)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_calibrated_forward_is_within_a_quantization_step_of_the_float_conv(backend, geometry):
    """Each input pixel is off by at most sx/2 and each kernel value by sw/2 (its channel's
    step), the padding is exact, so an output is off by at most
    sum_k (|x_k| sw/2 + |w_k| sx/2 + sx sw/4) + sb/2 from the float convolution (the
    bound QuantizedLinear's test uses, summed over the window)."""
    conv, q, x = calibrated_conv(geometry)
    got = q(Tensor(x)).data
    w = conv.weight.data
    b = None if conv.bias is None else conv.bias.data
    want = float_conv(x, w, b, q.stride, q.padding)
    sx, sw = q.input_scale, np.asarray(q.weight_scale, np.float64)
    cols = patches(np.abs(x).astype(np.float64), q.kernel_size, q.stride, q.padding, 0.0)
    sw4 = sw.reshape(-1, 1, 1, 1)
    bound = np.einsum("nijckl,ockl->noij", cols, np.ones_like(w) * sw4 / 2)
    bound += (np.abs(w) * sx / 2 + sx * sw4 / 4).reshape(len(w), -1).sum(1).reshape(-1, 1, 1)
    bound += 0.0 if q.bias_scale is None else q.bias_scale / 2
    assert np.all(np.abs(got - want) <= bound * 1.001 + 1e-6)
    assert np.abs(got - want).max() < 0.03 * np.abs(want).max()
    np.testing.assert_allclose(conv(Tensor(x)).data, want, rtol=1e-4, atol=1e-4)  # same conv


def test_padding_is_the_zero_point_so_it_reads_as_zero(backend):
    """Post-ReLU-like inputs in [0, 3] get the zero point -128: zero is the int8 code -128,
    not 0. The border windows, mostly padding, must still match the float convolution
    (padding the int8 image with the integer 0 would read as 128 * sx = 1.5 there)."""
    rng = np.random.default_rng(4)
    np.random.seed(4)
    conv = Conv2d(2, 3, 3, padding=2)
    x = rng.uniform(0.0, 3.0, (2, 2, 6, 6)).astype(np.float32)
    q = QuantizedConv2d(conv)
    q.calibrate([Tensor(x)])
    assert q.input_zero_point == -128
    want = float_conv(x, conv.weight.data, conv.bias.data, (1, 1), (2, 2))
    err = np.abs(q(Tensor(x)).data - want)
    assert err.max() < 0.02 * np.abs(want).max()
    corner = err[:, :, 0, 0]  # a window of 8 padded pixels out of 9
    assert np.all(corner < 0.02 * np.abs(want).max())


def test_uncalibrated_layer_runs_the_books_float_path(backend):
    """Not calibrated: the float input times the dequantized kernels, plus the dequantized
    bias: no integer matmul."""
    conv, _, x = calibrated_conv(GEOMETRIES[1])
    q = QuantizedConv2d(conv)
    y = q(Tensor(x))
    assert "int8_matmul" not in tinytorch.explain(y)
    rows = q.q_weight.data.reshape(q.out_channels, -1).astype(np.float32)
    zw, sw = np.asarray(q.weight_zero_point)[:, None], np.asarray(q.weight_scale)[:, None]
    w = ((rows - zw) * sw).reshape(conv.weight.shape)
    b = (q.q_bias.data.astype(np.float32) - q.bias_zero_point) * np.float32(q.bias_scale)
    np.testing.assert_allclose(y.data, float_conv(x, w, b, q.stride, q.padding), atol=1e-4)


def test_both_backends_give_the_same_numbers():
    _, q, x = calibrated_conv(GEOMETRIES[0], seed=9)
    with tinytorch.backend("numpy"):
        want = q(Tensor(x)).data
    for name in BACKENDS:
        with tinytorch.backend(name):
            got = q(Tensor(x)).data
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())


# ------------------------------------------------------------------ bad input
def test_wrong_input_is_a_typed_error_naming_the_layer_and_shapes():
    q = QuantizedConv2d(Conv2d(3, 4, 3))
    with pytest.raises(
        ShapeError, match=r"QuantizedConv2d.*3 input channels, got 2.*\(1, 2, 8, 8\)"
    ):
        q(Tensor(np.zeros((1, 2, 8, 8), np.float32)))
    with pytest.raises(ShapeError, match=r"QuantizedConv2d.*4D input.*\(3, 8, 8\)"):
        q(Tensor(np.zeros((3, 8, 8), np.float32)))
    with pytest.raises(ShapeError, match=r"QuantizedConv2d.*kernel \(3, 3\) is larger"):
        q(Tensor(np.zeros((1, 3, 2, 2), np.float32)))
    with pytest.raises(TypeError, match="QuantizedConv2d needs a Conv2d"):
        QuantizedConv2d(Linear(3, 4))


def test_use_before_calibration_when_required_is_refused():
    q = QuantizedConv2d(Conv2d(1, 2, 3), require_calibration=True)
    x = Tensor(np.ones((1, 1, 4, 4), np.float32))
    with pytest.raises(NotCalibratedError, match="QuantizedConv2d.*calibrate"):
        q(x)
    q.calibrate([x])  # constant: scale 1.0, zero point 0
    assert (q.input_scale, q.input_zero_point) == (1.0, 0)
    assert q(x).shape == (1, 2, 2, 2)


def test_calibration_data_of_the_wrong_shape_is_refused():
    q = QuantizedConv2d(Conv2d(3, 2, 3))
    with pytest.raises(ShapeError, match=r"sample 0 has shape \(2, 4, 5, 5\).*in_channels=3"):
        q.calibrate([Tensor(np.ones((2, 4, 5, 5), np.float32))])
    with pytest.raises(ShapeError, match=r"sample 1 has shape \(5, 5\)"):
        q.calibrate([Tensor(np.ones((1, 3, 5, 5), np.float32)), Tensor(np.ones((5, 5)))])
    with pytest.raises(ValueError, match="non-empty"):
        q.calibrate([])
    with pytest.raises(ValueError, match="non-finite"):
        q.calibrate([Tensor(np.full((1, 3, 4, 4), np.nan, np.float32))])
    assert not q.calibrated


# ------------------------------------------------------------------ whole models
def small_cnn(seed: int = 5) -> Sequential:
    np.random.seed(seed)
    return Sequential(
        Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(4, 6, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(24, 10),
    )  # fmt: skip


def test_quantize_model_quantizes_convolutions_and_calibrates_each(backend):
    """Every Conv2d and Linear becomes int8, each calibrated on the inputs it receives; the
    whole forward pass runs three integer matmuls and stays close to the float CNN."""
    original, model = small_cnn(), small_cnn()
    rng = np.random.default_rng(5)
    batches = [Tensor(rng.uniform(0, 1, (6, 1, 8, 8)).astype(np.float32)) for _ in range(2)]
    x = Tensor(rng.uniform(0, 1, (4, 1, 8, 8)).astype(np.float32))
    hidden = original.layers[2](original.layers[1](original.layers[0](batches[0]))).data
    assert quantize_model(model, batches) is model
    convs = [model.layers[0], model.layers[3]]
    assert all(isinstance(c, QuantizedConv2d) and c.calibrated for c in convs)
    assert isinstance(model.layers[7], QuantizedLinear) and model.layers[7].calibrated
    assert convs[0].input_scale == pytest.approx(
        (max(b.data.max() for b in batches) - min(b.data.min() for b in batches)) / 255
    )
    assert convs[1].input_scale >= hidden.max() / 255 * 0.999  # saw the pooled ReLU outputs
    y = model(x)
    assert lowered(y).count("int8_matmul(") == 3 and "= matmul(" not in lowered(y)
    want = original(x).data
    np.testing.assert_allclose(y.data, want, atol=0.05 * np.abs(want).max())


def test_model_sizes_count_int8_kernels_at_one_byte():
    """Q1's counting for a CNN: every kernel, bias and Linear value at 1 byte: 4x."""
    original, model = small_cnn(), quantize_model(small_cnn())
    values = (4 * 9 + 4) + (6 * 4 * 9 + 6) + (24 * 10 + 10)
    assert model_bytes(original) == 4 * values and model_bytes(model) == values
    sizes = compare_model_sizes(original, model)
    assert sizes["compression_ratio"] == 4.0 and sizes["memory_saved_percent"] == 75.0
    assert model_bytes(model.layers[3]) == 6 * 4 * 9 + 6


def test_quantize_convs_false_keeps_the_books_float_convolutions(backend):
    original, model = small_cnn(), small_cnn()
    x = Tensor(np.random.default_rng(6).uniform(0, 1, (2, 1, 8, 8)).astype(np.float32))
    quantize_model(model, [x], quantize_convs=False)
    assert isinstance(model.layers[0], Conv2d) and isinstance(model.layers[3], Conv2d)
    assert isinstance(model.layers[7], QuantizedLinear)
    convs = (4 * 9 + 4) + (6 * 4 * 9 + 6)
    assert model_bytes(model) == 4 * convs + 24 * 10 + 10
    assert lowered(model(x)).count("int8_matmul(") == 1
    want = original(x).data
    np.testing.assert_allclose(model(x).data, want, atol=0.05 * np.abs(want).max())


def test_a_single_conv_or_a_model_without_layers_to_quantize_is_refused():
    with pytest.raises(TypeError, match=r"single Conv2d as QuantizedConv2d\(layer\)"):
        quantize_model(Conv2d(1, 2, 3))
    with pytest.raises(ValueError, match="no Linear or Conv2d layer"):
        quantize_model(Sequential(ReLU(), MaxPool2d(2)))
    with pytest.raises(ValueError, match="no Linear layer"):
        quantize_model(Sequential(Conv2d(1, 2, 3)), quantize_convs=False)
