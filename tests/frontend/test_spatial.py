"""Module 09 layers as a learner uses them: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``,
``BatchNorm2d``. Shapes from the book's table (spec §2.3), values against the book's loops,
gradients against finite differences, and the errors for bad input. Every test runs on
every backend (tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d, ReLU, Tensor
from tinytorch.nn.spatial import avg_pool2d, conv2d, max_pool2d


def conv_loops(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int):
    """The book's seven nested loops (spec §2.4), plus the bias."""
    n, c, h, wd = x.shape
    out_c, _, kh, kw = w.shape
    p = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, out_c, oh, ow))
    for bi in range(n):
        for o in range(out_c):
            for i in range(oh):
                for j in range(ow):
                    patch = p[bi, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    out[bi, o, i, j] = (patch * w[o]).sum() + b[o]
    return out


def finite_difference(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f(x)
        x[idx] = old - eps
        minus = f(x)
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


# ------------------------------------------------------------------- shapes
def _zeros(*shape: int) -> Tensor:
    return Tensor(np.zeros(shape, np.float32))


@pytest.mark.parametrize(
    ("shape", "layer", "expected"),
    [
        ((32, 3, 224, 224), lambda: Conv2d(3, 64, kernel_size=3, padding=1), (32, 64, 224, 224)),
        ((32, 64, 224, 224), lambda: MaxPool2d(kernel_size=2, stride=2), (32, 64, 112, 112)),
        ((32, 64, 112, 112), lambda: Conv2d(64, 128, 3, padding=0, stride=2), (32, 128, 55, 55)),
        ((1, 1, 224, 224), lambda: Conv2d(1, 1, 3, padding=0, stride=2), (1, 1, 111, 111)),
        ((1, 1, 224, 224), lambda: Conv2d(1, 1, 3, padding=0, stride=1), (1, 1, 222, 222)),
        ((1, 1, 224, 224), lambda: Conv2d(1, 1, 3, padding=1, stride=2), (1, 1, 112, 112)),
        ((1, 1, 5, 5), lambda: Conv2d(1, 1, 3, padding=0), (1, 1, 3, 3)),
        ((1, 1, 5, 5), lambda: Conv2d(1, 1, 3, padding=1), (1, 1, 5, 5)),
        ((32, 3, 128, 128), lambda: Conv2d(3, 64, 5, padding=2, stride=2), (32, 64, 64, 64)),
        ((64, 3, 224, 224), lambda: Conv2d(3, 256, 7, stride=2, padding=3), (64, 256, 112, 112)),
    ],
)
@pytest.mark.backend_independent
def test_book_output_shapes(shape, layer, expected):
    """The book's worked examples (spec §2.3). Only the graph is built: nothing computes."""
    out = layer()(_zeros(*shape))
    assert out.shape == expected


@pytest.mark.backend_independent
def test_book_cnn_block_shapes():
    """conv 3->64 p1 -> pool -> conv 64->128 p1 -> pool on (32, 3, 224, 224) (spec §2.3)."""
    x = _zeros(32, 3, 224, 224)
    shapes = []
    for layer in (Conv2d(3, 64, 3, padding=1), MaxPool2d(2, 2),
                  Conv2d(64, 128, 3, padding=1), MaxPool2d(2, 2)):  # fmt: skip
        x = ReLU()(layer(x)) if isinstance(layer, Conv2d) else layer(x)
        shapes.append(x.shape)
    assert shapes == [
        (32, 64, 224, 224),
        (32, 64, 112, 112),
        (32, 128, 112, 112),
        (32, 128, 56, 56),
    ]


@pytest.mark.backend_independent
def test_conv_3_64_3_has_1792_parameters():
    conv = Conv2d(3, 64, kernel_size=3)
    assert conv.weight.shape == (64, 3, 3, 3)
    assert sum(p.size for p in conv.parameters()) == 1_792
    assert len(Conv2d(3, 64, 3, bias=False).parameters()) == 1


@pytest.mark.backend_independent
def test_he_initialisation_scale():
    """weight ~ N(0, 2 / (in * kh * kw)); bias zeros."""
    np.random.seed(0)
    conv = Conv2d(16, 64, 3)
    assert conv.weight.data.std() == pytest.approx(np.sqrt(2 / (16 * 9)), rel=0.05)
    assert not conv.bias.data.any()


@pytest.mark.backend_independent
def test_the_books_import_path():
    from tinytorch.core.spatial import AvgPool2d as A
    from tinytorch.core.spatial import Conv2d as C
    from tinytorch.core.spatial import MaxPool2d as M

    assert (AvgPool2d, Conv2d, MaxPool2d) == (A, C, M)


# ------------------------------------------------------------------- values
@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (1, 2)])
def test_conv_matches_the_books_loops(stride, padding):
    rng = np.random.default_rng(stride * 10 + padding)
    conv = Conv2d(3, 4, 3, stride=stride, padding=padding)
    conv.bias.data = rng.standard_normal(4).astype(np.float32)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    got = conv(Tensor(x)).data
    want = conv_loops(x, conv.weight.data, conv.bias.data, stride, padding)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_rectangular_kernel_stride_and_padding():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 6)).astype(np.float32)
    conv = Conv2d(2, 3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0))
    out = conv(Tensor(x))
    assert out.shape == (1, 3, 4, 5)
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    want = np.einsum("chw,ochw->o", p[0, :, 2:5, 3:5], conv.weight.data)
    np.testing.assert_allclose(out.data[0, :, 1, 3], want, rtol=1e-5, atol=1e-6)


def test_maxpool_pads_with_minus_infinity():
    """All-negative features: a zero pad would win the max; -inf never does (spec §2.4)."""
    x = -np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)
    out = MaxPool2d(kernel_size=2, stride=2, padding=1)(Tensor(x)).data
    want = np.array([[-1, -2, -4], [-5, -6, -8], [-13, -14, -16]], np.float32)
    np.testing.assert_array_equal(out[0, 0], want)
    assert (out < 0).all()


def test_maxpool_stride_defaults_to_kernel():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    pool = MaxPool2d(2)
    assert pool.stride == (2, 2)
    np.testing.assert_array_equal(pool(Tensor(x)).data[0, 0], [[5, 7], [13, 15]])


def test_avgpool_counts_the_padding():
    """count_include_pad: a corner window of a 2x2 pool with padding 1 holds one real pixel
    and three zeros, so it averages to a quarter of that pixel."""
    x = np.full((1, 1, 2, 2), 4.0, np.float32)
    out = AvgPool2d(2, stride=2, padding=1)(Tensor(x)).data
    np.testing.assert_array_equal(out[0, 0], [[1.0, 1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(AvgPool2d(2)(Tensor(x)).data[0, 0], [[4.0]])


# ---------------------------------------------------------------- gradients
def _fd_check(build, arrays, wrt):
    """``loss = (build(*tensors) * R).sum()``: autograd vs finite differences in float64."""
    rng = np.random.default_rng(7)
    tensors = [Tensor(a, requires_grad=True, dtype="float64") for a in arrays]
    out = build(*tensors)
    R = rng.standard_normal(out.shape)
    (out * Tensor(R, dtype="float64")).sum().backward()
    for k in wrt:

        def loss(a, k=k):
            args = [Tensor(v, dtype="float64") for v in arrays]
            args[k] = Tensor(a, dtype="float64")
            return float((build(*args).data * R).sum())

        fd = finite_difference(loss, np.array(arrays[k], dtype=np.float64))
        np.testing.assert_allclose(tensors[k].grad.data, fd, rtol=1e-5, atol=1e-7)


def test_conv_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x, w, b = (
        rng.standard_normal((2, 2, 5, 4)),
        rng.standard_normal((3, 2, 3, 2)),
        rng.standard_normal(3),
    )
    _fd_check(lambda x, w, b: conv2d(x, w, b, (2, 1), (1, 1)), [x, w, b], wrt=[0, 1, 2])


def test_maxpool_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) * 0.1  # no ties
    _fd_check(lambda x: max_pool2d(x, (3, 3), (2, 2), (1, 1)), [x], wrt=[0])


def test_avgpool_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    _fd_check(
        lambda x: avg_pool2d(x, (2, 3), (1, 2), (1, 1)), [rng.standard_normal((1, 2, 4, 5))], [0]
    )


def test_a_small_cnn_backpropagates_to_every_parameter():
    """Every parameter's gradient (conv, batchnorm, pooling, linear layers in one model)
    equals the central difference of the loss, at up to 12 elements of each parameter."""
    np.random.seed(0)
    model = tinytorch.Sequential(
        Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        Conv2d(4, 4, 3), ReLU(), AvgPool2d(2), tinytorch.Flatten(), tinytorch.Linear(4, 3),
    )  # fmt: skip
    x = Tensor(np.random.randn(2, 1, 8, 8).astype(np.float32))
    labels = Tensor(np.array([0, 2]))

    def loss_value() -> float:
        return float(tinytorch.CrossEntropyLoss()(model(x), labels).item())

    tinytorch.CrossEntropyLoss()(model(x), labels).backward()
    # float32: eps = 1e-3 leaves ~3e-4 of rounding noise and crosses no ReLU/max kink here
    eps, pick = 1e-3, np.random.default_rng(1)
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        grad, base = p.grad.numpy(), p.data.copy()
        every = list(np.ndindex(p.shape))
        for k in pick.choice(len(every), size=min(12, len(every)), replace=False):
            j, fd = every[k], 0.0
            for sign in (1, -1):
                moved = base.copy()
                moved[j] += sign * eps
                p.data = moved
                fd += sign * loss_value() / (2 * eps)
            p.data = base
            assert abs(grad[j] - fd) <= 1e-3 + 1e-2 * abs(fd), (name, j, grad[j], fd)
    assert model(x).grad_fn is not None
    assert type(conv2d(x, model.layers[0].weight).grad_fn).__name__ == "Conv2dBackward"


# ---------------------------------------------------------------- BatchNorm2d
def test_batchnorm_train_and_eval_follow_pytorch():
    rng = np.random.default_rng(5)
    bn = BatchNorm2d(3, momentum=0.1)
    batches = [(rng.standard_normal((4, 3, 2, 5)) * 3 + 1).astype(np.float32) for _ in range(2)]
    mean, var = np.zeros(3), np.ones(3)
    for xb in batches:
        out = bn(Tensor(xb)).data
        m, v = xb.mean(axis=(0, 2, 3)), xb.var(axis=(0, 2, 3))
        want = (xb - m.reshape(1, 3, 1, 1)) / np.sqrt(v.reshape(1, 3, 1, 1) + 1e-5)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
        n = xb.size / 3
        mean, var = 0.9 * mean + 0.1 * m, 0.9 * var + 0.1 * v * n / (n - 1)
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-5)
    bn.eval()
    xb = batches[0]
    want = (xb - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(bn(Tensor(xb)).data, want, rtol=1e-4, atol=1e-4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]


# ---------------------------------------------------------------- bad input
@pytest.mark.backend_independent
def test_non_4d_input_gives_the_books_message():
    with pytest.raises(
        ValueError,
        match=r"Expected 4D input \(batch, channels, height, width\), got \(3, 224, 224\)",
    ):
        Conv2d(3, 64, 3)(_zeros(3, 224, 224))
    for layer in (MaxPool2d(2), AvgPool2d(2), BatchNorm2d(3)):
        with pytest.raises(ValueError, match="Expected 4D input"):
            layer(_zeros(3, 8, 8))


@pytest.mark.backend_independent
def test_channel_mismatch_names_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*expected 3 input channels, got 4"):
        Conv2d(3, 8, 3)(_zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 3 channels, got 2"):
        BatchNorm2d(3)(_zeros(1, 2, 8, 8))


@pytest.mark.backend_independent
def test_kernel_larger_than_the_padded_input():
    with pytest.raises(
        ValueError, match=r"kernel \(5, 5\) is larger than the padded input \(4, 4\)"
    ):
        Conv2d(1, 1, 5, padding=1)(_zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="larger than the padded input"):
        MaxPool2d(3)(_zeros(1, 1, 2, 2))


@pytest.mark.parametrize(
    ("make_layer", "message"),
    [
        (lambda: Conv2d(1, 1, 3, padding=-1), "Conv2d: padding must be >= 0"),
        (lambda: Conv2d(1, 1, 3, stride=0), "Conv2d: stride must be positive"),
        (lambda: Conv2d(1, 1, 0), "Conv2d: kernel_size must be positive"),
        (lambda: MaxPool2d(2, stride=0), "MaxPool2d: stride must be positive"),
        (lambda: AvgPool2d(2, padding=-1), "AvgPool2d: padding must be >= 0"),
        (lambda: MaxPool2d(2, padding=2), "at most half of kernel_size"),
    ],
)
@pytest.mark.backend_independent
def test_bad_settings_fail_at_construction(make_layer, message):
    with pytest.raises(ValueError, match=message):
        make_layer()


@pytest.mark.backend_independent
def test_kernel_size_must_be_int_or_pair():
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        Conv2d(1, 1, (3, 3, 3))
