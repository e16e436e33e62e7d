"""The spatial IR ops, ``windows`` (im2col's unfold) and ``fold`` (its adjoint, col2im),
against plain-loop NumPy references, and their VJPs against finite differences.

``windows(x)[a, b, n, c, i, j] = padded(x)[n, c, i*sh + a, j*sw + b]``: the pixel at offset
``(a, b)`` of the patch whose output position is ``(i, j)``. ``fold`` adds every window value
back to the pixel it came from and drops the padding.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch.ir.build import make
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.registry import get


def windows_loops(x: np.ndarray, kernel, stride, padding, pad_value=0.0) -> np.ndarray:
    """The book's loops (spec §2.4), collecting each patch instead of multiplying it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * ph, w + 2 * pw), pad_value, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros((kh, kw, n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    out[a, b, :, :, i, j] = padded[:, :, i * sh + a, j * sw + b]
    return out


def fold_loops(g: np.ndarray, shape, kernel, stride, padding) -> np.ndarray:
    """Every window value added back to its pixel; values that landed on padding dropped."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for a in range(kh):
        for b in range(kw):
            for i in range(g.shape[4]):
                for j in range(g.shape[5]):
                    out[:, :, i * sh + a, j * sw + b] += g[a, b, :, :, i, j]
    return out[:, :, ph : ph + h, pw : pw + w]


GEOMETRIES = [  # (x shape, kernel, stride, padding)
    ((2, 3, 5, 5), (3, 3), (1, 1), (0, 0)),
    ((1, 2, 6, 7), (3, 2), (2, 1), (1, 0)),
    ((2, 1, 5, 4), (2, 2), (2, 2), (1, 1)),  # 5 + 2 - 2 = 5: the last row is ignored
    ((1, 2, 3, 3), (3, 3), (3, 3), (1, 1)),
]
IDS = [f"{s}-k{k}-s{st}-p{p}" for s, k, st, p in GEOMETRIES]


def _attrs(kernel, stride, padding) -> dict:
    return {"kernel": kernel, "stride": stride, "padding": padding}


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("pad_value", [0.0, -np.inf])
@pytest.mark.llvm_no_kernel(reason="windows runs its NumPy kernel by design")
def test_windows_matches_loops(shape, kernel, stride, padding, pad_value, rng, inp, run_ir):
    x = rng.standard_normal(shape).astype(np.float32)
    node = make("windows", (inp(0, shape),), pad_value=pad_value, **_attrs(kernel, stride, padding))
    (got,) = run_ir([node.inputs[0]], [node], [x])
    want = windows_loops(x, kernel, stride, padding, pad_value)
    assert node.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), GEOMETRIES, ids=IDS)
@pytest.mark.llvm_no_kernel(reason="fold runs its NumPy kernel by design")
def test_fold_matches_loops(shape, kernel, stride, padding, rng, inp, run_ir):
    wshape = windows_loops(np.zeros(shape), kernel, stride, padding).shape
    g = rng.standard_normal(wshape).astype(np.float32)
    node = make("fold", (inp(0, wshape),), shape=shape, **_attrs(kernel, stride, padding))
    (got,) = run_ir([node.inputs[0]], [node], [g])
    np.testing.assert_allclose(got, fold_loops(g, shape, kernel, stride, padding), atol=1e-6)


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), GEOMETRIES, ids=IDS)
@pytest.mark.backend_independent
def test_fold_is_the_adjoint_of_windows(shape, kernel, stride, padding, rng):
    """<windows(x), g> == <x, fold(g)>: what makes fold the exact gradient of windows."""
    x = rng.standard_normal(shape)
    w = windows_loops(x, kernel, stride, padding)
    g = rng.standard_normal(w.shape)
    lhs = (w * g).sum()
    rhs = (x * fold_loops(g, shape, kernel, stride, padding)).sum()
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), GEOMETRIES[:3], ids=IDS[:3])
@pytest.mark.parametrize("op", ["windows", "fold"])
@pytest.mark.llvm_no_kernel(reason="windows and fold run their NumPy kernels by design")
def test_vjp_matches_finite_differences(
    op, shape, kernel, stride, padding, rng, inp, run_ir, numeric_grad
):
    """windows' VJP is fold and fold's VJP is windows; both checked numerically in float64."""
    attrs = _attrs(kernel, stride, padding)
    if op == "windows":
        in_shape = shape
        node = make("windows", (inp(0, shape, "float64"),), pad_value=0.0, **attrs)

        def ref(a):
            return windows_loops(a, kernel, stride, padding)
    else:
        in_shape = windows_loops(np.zeros(shape), kernel, stride, padding).shape
        node = make("fold", (inp(0, in_shape, "float64"),), shape=shape, **attrs)

        def ref(a):
            return fold_loops(a, shape, kernel, stride, padding)

    x = rng.standard_normal(in_shape)
    R = rng.standard_normal(node.shape)
    g = inp(1, node.shape, "float64")
    (back,) = get(op).vjp(node, g)
    assert back.op == ("fold" if op == "windows" else "windows")
    (got,) = run_ir([node.inputs[0], g], [back], [x, R])
    fd = numeric_grad(lambda a: float((ref(a) * R).sum()), [x], 0)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.llvm_no_kernel(reason="windows and fold run their NumPy kernels by design")
def test_windows_with_minus_inf_padding_has_no_gradient_on_the_border(inp, run_ir):
    """Padded positions are constants: fold drops whatever gradient lands on them."""
    attrs = _attrs((2, 2), (1, 1), (1, 1))
    node = make("windows", (inp(0, (1, 1, 2, 2)),), pad_value=-np.inf, **attrs)
    (back,) = get("windows").vjp(node, inp(1, node.shape))
    arrays = [np.zeros((1, 1, 2, 2), np.float32), np.ones(node.shape, np.float32)]
    (got,) = run_ir([node.inputs[0], back.inputs[0]], [back], arrays)
    np.testing.assert_array_equal(got, np.full((1, 1, 2, 2), 4.0, np.float32))


@pytest.mark.backend_independent
def test_windows_on_every_backend_through_the_frontend(rng):
    """The same numbers on the NumPy reference and the LLVM backend (opaque: NumPy kernel)."""
    from tinytorch.nn.spatial import windows

    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    want = windows_loops(x, (3, 2), (2, 1), (1, 1), -np.inf)
    for backend in tinytorch.available_backends():
        with tinytorch.backend(backend):
            got = windows(tinytorch.Tensor(x), (3, 2), (2, 1), (1, 1), -np.inf).data
        np.testing.assert_array_equal(got, want, err_msg=backend)


@pytest.mark.parametrize(
    ("shape", "attrs", "message"),
    [
        ((3, 5, 5), _attrs((3, 3), (1, 1), (0, 0)), "4-D"),
        ((1, 1, 2, 2), _attrs((3, 3), (1, 1), (0, 0)), "larger than the padded input"),
        ((1, 1, 5, 5), _attrs((3, 3), (0, 1), (0, 0)), "stride must be positive"),
        ((1, 1, 5, 5), _attrs((3, 3), (1, 1), (-1, 0)), "padding must be >= 0"),
        ((1, 1, 5, 5), _attrs((0, 3), (1, 1), (0, 0)), "kernel size must be positive"),
    ],
)
@pytest.mark.backend_independent
def test_bad_geometry_fails_when_the_node_is_built(shape, attrs, message, inp):
    with pytest.raises(ShapeError, match=message):
        make("windows", (inp(0, shape),), pad_value=0.0, **attrs)


@pytest.mark.backend_independent
def test_fold_refuses_windows_of_the_wrong_shape(inp):
    with pytest.raises(ShapeError, match="do not match"):
        make("fold", (inp(0, (3, 3, 1, 1, 2, 2)),), shape=(1, 1, 5, 5),
             **_attrs((3, 3), (1, 1), (0, 0)))  # fmt: skip


@pytest.mark.backend_independent
def test_costs_count_bytes_and_the_adds_of_fold(inp):
    w = make("windows", (inp(0, (1, 2, 4, 4)),), pad_value=0.0, **_attrs((2, 2), (2, 2), (0, 0)))
    assert get("windows").cost(w) == (0, 4 * (w.size + 32))
    f = make("fold", (inp(0, w.shape),), shape=(1, 2, 4, 4), **_attrs((2, 2), (2, 2), (0, 0)))
    assert get("fold").cost(f)[0] == w.size
