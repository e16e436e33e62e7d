"""Quantization lowering: ``dequantize(xq) @ dequantize(Wq)`` becomes integer arithmetic.

The unlowered graph is the book's simulation (dequantize both operands, multiply floats);
the lowered graph must compute the same numbers with int8 x int8 -> int32 sums, a zero-point
correction and a float epilogue. Float rounding is the only allowed difference.
"""

from __future__ import annotations

from textwrap import dedent

import numpy as np
import pytest

import tinytorch
from tinytorch.frontend.tensor import Tensor
from tinytorch.frontend.tensor_type import wrap
from tinytorch.ir import build as B
from tinytorch.ir.graph import Graph
from tinytorch.passes.dce import DeadCodeElimination
from tinytorch.passes.quantize_lowering import QuantizeLowering
from tinytorch.passes.verify import verify


def quantized_matmul_graph(inp, m, k, n, per_channel=False, layout="nk"):
    """x -> quantize -> dequantize, times a dequantized int8 weight (stored ``(N, K)`` under
    a permute for ``layout="nk"``, plain ``(K, N)`` for ``"kn"``)."""
    c = (n,) if per_channel else ()
    x, sx, zx = inp(0, (m, k)), inp(1, ()), inp(2, (), "int32")
    w_shape = (n, k) if layout == "nk" else (k, n)
    w, sw, zw = inp(3, w_shape, "int8"), inp(4, c), inp(5, c, "int32")
    sxe, zxe = B.expand(sx, (m, k)), B.expand(zx, (m, k))
    xd = B.make("dequantize", (B.make("quantize", (x, sxe, zxe)), sxe, zxe))
    wk = B.permute(w, (1, 0)) if layout == "nk" else w
    wd = B.make("dequantize", (wk, B.expand(sw, (k, n)), B.expand(zw, (k, n))))
    return Graph([x, sx, zx, w, sw, zw], [B.make("matmul", (xd, wd))])


def random_arrays(rng, m, k, n, per_channel=False, layout="nk"):
    c = (n,) if per_channel else ()
    x = rng.standard_normal((m, k)).astype(np.float32) * rng.uniform(0.1, 3)
    sx = np.float32((x.max() - x.min()) / 255)
    zx = np.int32(rng.integers(-128, 128))
    w = rng.integers(-128, 128, (n, k) if layout == "nk" else (k, n)).astype(np.int8)
    sw = rng.uniform(1e-3, 0.05, c).astype(np.float32)
    zw = rng.integers(-128, 128, c).astype(np.int32)
    return [x, np.asarray(sx), np.asarray(zx), w, sw, zw]


def lower(graph):
    new, changed = QuantizeLowering().run(graph)
    verify(new, before=graph, where="after quantize_lowering")
    new, _ = DeadCodeElimination().run(new)
    return new, changed


def test_before_and_after_structure(inp, text):
    """The float matmul of two dequantized operands becomes int8_matmul on the int8 values,
    a row-sum correction for the weight's zero point, and a float epilogue; the float
    weight (dequantize of W) is gone."""
    g = quantized_matmul_graph(inp, 2, 3, 4, per_channel=True)
    assert text(g) == dedent("""\
        graph(%0: float32[2,3], %1: float32[], %2: int32[], %3: int8[4,3], %4: float32[4], %5: int32[4]) {
          %6 = expand(%1, shape=(2, 3)) : float32[2,3]
          %7 = expand(%2, shape=(2, 3)) : int32[2,3]
          %8 = quantize(%0, %6, %7) : int8[2,3]
          %9 = dequantize(%8, %6, %7) : float32[2,3]
          %10 = permute(%3, perm=(1, 0)) : int8[3,4]
          %11 = expand(%4, shape=(3, 4)) : float32[3,4]
          %12 = expand(%5, shape=(3, 4)) : int32[3,4]
          %13 = dequantize(%10, %11, %12) : float32[3,4]
          %14 = matmul(%9, %13) : float32[2,4]
          return %14
        }
    """)  # noqa: E501
    new, changed = lower(g)
    assert changed
    assert text(new) == dedent("""\
        graph(%0: float32[2,3], %1: float32[], %2: int32[], %3: int8[4,3], %4: float32[4], %5: int32[4]) {
          %6 = expand(%1, shape=(2, 3)) : float32[2,3]
          %7 = expand(%2, shape=(2, 3)) : int32[2,3]
          %8 = quantize(%0, %6, %7) : int8[2,3]
          %9 = int8_matmul(%8, %3, %2, layout='nk') : int32[2,4]
          %10 = cast(%8, dtype='int32') : int32[2,3]
          %11 = expand(%2, shape=(2, 3)) : int32[2,3]
          %12 = sub(%10, %11) : int32[2,3]
          %13 = sum(%12, axes=(1,), keepdims=True) : int32[2,1]
          %14 = expand(%13, shape=(2, 4)) : int32[2,4]
          %15 = reshape(%5, shape=(1, 4)) : int32[1,4]
          %16 = expand(%15, shape=(2, 4)) : int32[2,4]
          %17 = mul(%14, %16) : int32[2,4]
          %18 = sub(%9, %17) : int32[2,4]
          %19 = cast(%18, dtype='float32') : float32[2,4]
          %20 = expand(%1, shape=(2, 4)) : float32[2,4]
          %21 = mul(%19, %20) : float32[2,4]
          %22 = reshape(%4, shape=(1, 4)) : float32[1,4]
          %23 = expand(%22, shape=(2, 4)) : float32[2,4]
          %24 = mul(%21, %23) : float32[2,4]
          return %24
        }
    """)  # noqa: E501
    again, changed_again = QuantizeLowering().run(new)
    assert not changed_again and text(again) == text(new)  # idempotent


def test_a_plain_kn_weight_is_read_as_it_is(inp):
    """Without the transposing permute the kernel reads a ``(K, N)`` weight (``layout="kn"``)."""
    new, _ = lower(quantized_matmul_graph(inp, 2, 3, 4, layout="kn"))
    (mm,) = [n for n in new.nodes if n.op == "int8_matmul"]
    assert mm.attrs["layout"] == "kn" and mm.inputs[1].shape == (3, 4)


def test_an_unquantized_input_is_left_alone(inp):
    """A float input times a dequantized weight (an uncalibrated layer) has no int8 left
    operand: nothing to lower."""
    x, w, sw, zw = inp(0, (2, 3)), inp(1, (3, 4), "int8"), inp(2, (3, 4)), inp(3, (3, 4), "int32")
    g = Graph([x, w, sw, zw], [B.make("matmul", (x, B.make("dequantize", (w, sw, zw))))])
    new, changed = QuantizeLowering().run(g)
    assert not changed and new is g


def test_a_per_channel_input_scale_is_not_lowered(inp):
    """The epilogue needs one input scale per row sum: per-channel *input* scales stay float."""
    x, sx, zx = inp(0, (2, 3)), inp(1, (3,)), inp(2, (3,), "int32")
    w, sw, zw = inp(3, (3, 4), "int8"), inp(4, ()), inp(5, (), "int32")
    sxe, zxe = B.expand(sx, (2, 3)), B.expand(zx, (2, 3))
    xd = B.make("dequantize", (B.make("quantize", (x, sxe, zxe)), sxe, zxe))
    wd = B.make("dequantize", (w, B.expand(sw, (3, 4)), B.expand(zw, (3, 4))))
    g = Graph([x, sx, zx, w, sw, zw], [B.make("matmul", (xd, wd))])
    assert not QuantizeLowering().run(g)[1]


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_compute_what_the_unlowered_graph_computes(inp, run, seed):
    """Random shapes, scales, zero points, per-tensor or per-channel, either layout: the
    lowered graph equals the float simulation up to float32 rounding of the K-term sums."""
    rng = np.random.default_rng(seed)
    m, k, n = (int(v) for v in rng.integers(1, 40, 3))
    per_channel, layout = bool(seed % 2), ("nk", "kn")[seed // 2 % 2]
    g = quantized_matmul_graph(inp, m, k, n, per_channel, layout)
    arrays = random_arrays(rng, m, k, n, per_channel, layout)
    new, changed = lower(g)
    assert changed and not any(n.op == "matmul" for n in new.nodes)
    (want,), (got,) = run(g, arrays), run(new, arrays)
    assert got.dtype == want.dtype == np.float32
    # float32 sums of k products: the simulation is off by a few ulps of sum |terms|
    x, sx, zx, w, sw, zw = arrays
    xq = np.clip(np.round(x / sx + np.float32(zx)), -128, 127)
    wk = (w.T if layout == "nk" else w).astype(np.float64)
    scale = np.abs((xq - zx) * sx) @ np.abs((wk - zw) * sw)
    np.testing.assert_array_less(np.abs(got - want), 1e-5 * scale + 1e-30)


@pytest.mark.parametrize("backend", tinytorch.available_backends())
def test_int8_matmul_is_exact_integer_math_on_every_backend(backend):
    """Extreme values (-128 everywhere, the largest shifts) and a long K: every backend's
    int32 result equals an int64 NumPy reference, bit for bit."""
    rng = np.random.default_rng(7)
    for m, k, n, layout in ((1, 4096, 33, "nk"), (5, 300, 17, "kn"), (3, 1000, 8, "nk")):
        a = rng.integers(-128, 128, (m, k)).astype(np.int8)
        a[0] = -128
        b = rng.integers(-128, 128, (n, k) if layout == "nk" else (k, n)).astype(np.int8)
        b[0] = -128
        zero = np.int32(127)
        nodes = [Tensor(a)._node, Tensor(b)._node, Tensor(np.asarray(zero))._node]
        with tinytorch.backend(backend):
            got = wrap(B.make("int8_matmul", nodes, layout=layout), []).data
        bk = (b.T if layout == "nk" else b).astype(np.int64)
        want = (a.astype(np.int64) - int(zero)) @ bk
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)


def test_the_lowering_is_in_the_default_pipeline_and_its_dump(tmp_path):
    """``dump_graph`` writes the graph after every pass: int8_matmul appears in the
    quantize_lowering dump, and the captured graph still has the float matmul."""
    names = [p.name for p in tinytorch.get_pipeline()]
    assert names.index("quantize_lowering") < names.index("fusion")
    rng = np.random.default_rng(0)
    arrays = random_arrays(rng, 3, 5, 4, per_channel=False)
    x, sx, zx, w, sw, zw = (Tensor(a) for a in arrays)
    sxe, zxe = B.expand(sx._node, (3, 5)), B.expand(zx._node, (3, 5))
    xd = wrap(B.make("dequantize", (B.make("quantize", (x._node, sxe, zxe)), sxe, zxe)), [])
    swe, zwe = B.expand(sw._node, (5, 4)), B.expand(zw._node, (5, 4))
    wd = wrap(B.make("dequantize", (B.permute(w._node, (1, 0)), swe, zwe)), [])
    y = xd.matmul(wd)
    files = {p.name: p for p in tinytorch.dump_graph(y, tmp_path, quiet=True)}
    captured = next(p for name, p in files.items() if name.endswith("captured.txt"))
    lowered = next(p for name, p in files.items() if name.endswith("quantize_lowering.txt"))
    assert "int8_matmul" not in captured.read_text()
    assert "int8_matmul" in lowered.read_text() and "= matmul" not in lowered.read_text()
    assert "int8_matmul" in tinytorch.fusion_report(y)


@pytest.mark.parametrize("backend", tinytorch.available_backends())
@pytest.mark.parametrize("seed", range(4))
def test_random_quantized_networks_match_the_unlowered_pipeline(backend, seed):
    """Random chains of calibrated quantized layers (random widths, per-tensor or
    per-channel, ReLU or not, batched input): the default pipeline on each backend gives
    what the same pipeline without the lowering pass gives on NumPy, up to float rounding."""
    from tinytorch.nn.activations import ReLU
    from tinytorch.nn.layers import Linear, Sequential
    from tinytorch.passes import default_pipeline
    from tinytorch.perf.quantization import quantize_model

    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    widths = [int(w) for w in rng.integers(1, 24, int(rng.integers(2, 5)))]
    layers = []
    for a, b in zip(widths, widths[1:], strict=False):
        layers += [Linear(a, b)] + ([ReLU()] if rng.random() < 0.5 else [])
    model = Sequential(*layers)
    x = Tensor(rng.standard_normal((3, int(rng.integers(1, 5)), widths[0])).astype(np.float32))
    quantize_model(model, [x], per_channel=bool(seed % 2))
    unlowered = [p for p in default_pipeline() if not isinstance(p, QuantizeLowering)]
    tinytorch.set_pipeline(unlowered)
    want = model(x).data
    assert "int8_matmul" not in tinytorch.explain(model(x))
    tinytorch.set_pipeline(None)
    with tinytorch.backend(backend):
        y = model(x)
        assert "int8_matmul" in tinytorch.explain(y)
        got = y.data
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * (np.abs(want).max() + 1))
