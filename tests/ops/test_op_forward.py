"""Every registered op, forward, against plain NumPy.

User-facing ops go through the public Tensor API (so the frontend's broadcasting, casts and
the pass pipeline are in the loop); internal ops (``slice_scatter``, ``scatter_add``,
``gather``, ``cast``...) are built directly with ``tinytorch.ir.build.make`` over ``input``
placeholders and run on the NumPy reference backend.

Each row of a table is one case; adding an op means adding rows. The last test checks that
every registered op has at least one row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.ir.build import make
from tinytorch.ir.registry import all_ops

# ----------------------------------------------------------------------------- inputs
# An input is described by (shape, kind, dtype); a fixed array is used as is.
#   normal: standard normal        pos: uniform in [0.5, 2]     away: |x| in [0.2, 2]
#   int:    integers in [-3, 3]    bool: random booleans


def draw(rng: np.random.Generator, spec: Any) -> np.ndarray:
    if isinstance(spec, np.ndarray):
        return spec
    shape, kind, dtype = spec
    if kind == "normal":
        a = rng.standard_normal(shape)
    elif kind == "pos":
        a = rng.uniform(0.5, 2.0, shape)
    elif kind == "away":
        a = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    elif kind == "int":
        a = rng.integers(-3, 4, shape)
    elif kind == "bool":
        a = rng.random(shape) < 0.5
    else:
        raise ValueError(kind)
    return np.asarray(a).astype(dtype)


def f32(shape: tuple, kind: str = "normal") -> tuple:
    return (shape, kind, "float32")


def i64(shape: tuple) -> tuple:
    return (shape, "int", "int64")


def b8(shape: tuple) -> tuple:
    return (shape, "bool", "bool")


def check(got: np.ndarray, want: Any, rtol: float, atol: float) -> None:
    """Same shape, same dtype, close values (NaN equal to NaN)."""
    want = np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != NumPy's {want.shape}"
    assert got.dtype == want.dtype, f"dtype {got.dtype} != NumPy's {want.dtype}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def shape_id(shapes: tuple) -> str:
    return "x".join("(" + ",".join(map(str, s)) + ")" for s in shapes)


# ------------------------------------------------------------------- the public API
@dataclass(frozen=True)
class Fwd:
    """``fn(*tensors)`` through tinytorch must equal ``ref(*arrays)`` through NumPy."""

    id: str
    op: str  # the registered op the row is about: it must appear in the built graph
    fn: Callable[..., Tensor]
    ref: Callable[..., Any]
    inputs: tuple
    rtol: float = 1e-6
    atol: float = 1e-7


def _in64(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A reference computed in float64 and rounded to the input's dtype."""
    return lambda x: fn(x.astype(np.float64)).astype(x.dtype)


def _gelu_ref(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


UNARY = [
    # (op, tinytorch, numpy, input kind)
    ("neg", lambda x: -x, np.negative, "normal"),
    ("exp", Tensor.exp, np.exp, "normal"),
    ("log", Tensor.log, np.log, "pos"),
    ("sqrt", Tensor.sqrt, np.sqrt, "pos"),
    ("tanh", Tensor.tanh, np.tanh, "normal"),
    ("sigmoid", Tensor.sigmoid, _in64(lambda x: 1 / (1 + np.exp(-x))), "normal"),
    ("relu", Tensor.relu, lambda x: np.maximum(x, 0), "normal"),
    ("gelu", Tensor.gelu, _in64(_gelu_ref), "normal"),
    ("abs", abs, np.abs, "normal"),
]
UNARY_SHAPES = [(), (1,), (3, 4), (2, 1, 5), (0, 3), (4, 0, 2)]

BINARY = [
    # (op, tinytorch, numpy, kind of a, kind of b)
    ("add", lambda a, b: a + b, np.add, "normal", "normal"),
    ("sub", lambda a, b: a - b, np.subtract, "normal", "normal"),
    ("mul", lambda a, b: a * b, np.multiply, "normal", "normal"),
    ("div", lambda a, b: a / b, np.divide, "normal", "away"),
    ("pow", lambda a, b: a**b, np.power, "pos", "normal"),
    ("maximum", Tensor.maximum, np.maximum, "int", "int"),
    ("minimum", Tensor.minimum, np.minimum, "int", "int"),
    ("lt", lambda a, b: a < b, np.less, "int", "int"),
    ("le", lambda a, b: a <= b, np.less_equal, "int", "int"),
    ("gt", lambda a, b: a > b, np.greater, "int", "int"),
    ("ge", lambda a, b: a >= b, np.greater_equal, "int", "int"),
    ("eq", lambda a, b: a == b, np.equal, "int", "int"),
    ("ne", lambda a, b: a != b, np.not_equal, "int", "int"),
]
# Same shapes, broadcasting both ways, size-1 dims, a 0-d operand, and empty dims.
BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1, 4), (5, 1)),
    ((1,), (2, 3)),
    ((2, 1, 1), (1,)),
    ((), (4,)),
    ((2, 0, 3), (1, 3)),
    ((4, 1), (1, 0)),
]


def _unary_rows() -> list[Fwd]:
    return [
        Fwd(f"{op}-{shape_id((s,))}", op, fn, ref, (f32(s, kind),), rtol=2e-6)
        for op, fn, ref, kind in UNARY
        for s in UNARY_SHAPES
    ]


def _binary_rows() -> list[Fwd]:
    rows = []
    for op, fn, ref, ka, kb in BINARY:
        for sa, sb in BINARY_SHAPES:
            ia = (sa, ka, "float32")
            ib = (sb, kb, "float32")
            rows.append(Fwd(f"{op}-{shape_id((sa, sb))}", op, fn, ref, (ia, ib)))
    return rows


def _ax(axis: Any) -> str:
    return "all" if axis is None else str(axis).replace(" ", "")


def _reduction_rows() -> list[Fwd]:
    rows = []
    x = f32((2, 3, 4))
    for axis in (None, 0, -1, (0, 2)):
        for kd in (False, True):
            tag = f"{_ax(axis)}-keepdims={kd}"
            rows += [
                Fwd(
                    f"sum-{tag}",
                    "sum",
                    lambda t, a=axis, k=kd: t.sum(a, k),
                    lambda v, a=axis, k=kd: np.sum(v, axis=a, keepdims=k),
                    (x,),
                    rtol=1e-5,
                ),
                Fwd(
                    f"max-{tag}",
                    "max",
                    lambda t, a=axis, k=kd: t.max(a, k),
                    lambda v, a=axis, k=kd: np.max(v, axis=a, keepdims=k),
                    (x,),
                ),
                Fwd(
                    f"min-{tag}",
                    "min",
                    lambda t, a=axis, k=kd: t.min(a, k),
                    lambda v, a=axis, k=kd: np.min(v, axis=a, keepdims=k),
                    (x,),
                ),
                Fwd(
                    f"mean-{tag}",
                    "sum",
                    lambda t, a=axis, k=kd: t.mean(a, k),
                    lambda v, a=axis, k=kd: np.mean(v, axis=a, keepdims=k),
                    (x,),
                    rtol=1e-5,
                ),
                Fwd(
                    f"var-{tag}",
                    "sum",
                    lambda t, a=axis, k=kd: t.var(a, k),
                    lambda v, a=axis, k=kd: np.var(v, axis=a, keepdims=k),
                    (x,),
                    rtol=1e-5,
                ),
            ]
    for axis in (None, 0, -1):
        for kd in (False, True):
            rows.append(
                Fwd(
                    f"argmax-{_ax(axis)}-keepdims={kd}",
                    "argmax",
                    lambda t, a=axis, k=kd: t.argmax(a, k),
                    lambda v, a=axis, k=kd: np.argmax(v, axis=a, keepdims=k),
                    (x,),
                )
            )
    rows += [
        Fwd(
            "var-ddof=1",
            "sum",
            lambda t: t.var(axis=1, ddof=1),
            lambda v: np.var(v, axis=1, ddof=1),
            (x,),
            rtol=1e-5,
        ),
        Fwd(
            "sum-size1-dims",
            "sum",
            lambda t: t.sum((0, 2)),
            lambda v: np.sum(v, (0, 2)),
            (f32((1, 3, 1)),),
        ),
        Fwd(
            "max-size1-dims",
            "max",
            lambda t: t.max((0, 2), True),
            lambda v: np.max(v, (0, 2), keepdims=True),
            (f32((1, 3, 1)),),
        ),
        Fwd("sum-0d", "sum", lambda t: t.sum(), np.sum, (f32(()),)),
        Fwd("sum-0d-axis0", "sum", lambda t: t.sum(axis=0), lambda v: v.copy(), (f32(()),)),
        Fwd(
            "sum-int64", "sum", lambda t: t.sum(axis=0), lambda v: np.sum(v, axis=0), (i64((3, 4)),)
        ),
        Fwd("sum-bool-counts", "sum", lambda t: t.sum(), np.sum, (b8((3, 4)),)),
        Fwd(
            "max-int64", "max", lambda t: t.max(axis=1), lambda v: np.max(v, axis=1), (i64((3, 4)),)
        ),
        Fwd(
            "argmax-ties-first",
            "argmax",
            lambda t: t.argmax(axis=1),
            lambda v: np.argmax(v, axis=1),
            (np.array([[1, 3, 3], [2, 2, 2]], np.float32),),
        ),
        # Empty dims: a sum of nothing is 0, a mean of nothing is NaN.
        Fwd("sum-empty-all", "sum", lambda t: t.sum(), np.sum, (f32((0, 3)),)),
        Fwd("sum-empty-axis0", "sum", lambda t: t.sum(0), lambda v: np.sum(v, 0), (f32((0, 3)),)),
        Fwd("sum-empty-axis1", "sum", lambda t: t.sum(1), lambda v: np.sum(v, 1), (f32((0, 3)),)),
        Fwd(
            "mean-empty-axis0-nan",
            "sum",
            lambda t: t.mean(0),
            lambda v: np.full(3, np.nan, np.float32),
            (f32((0, 3)),),
        ),
        Fwd(
            "mean-empty-axis1", "sum", lambda t: t.mean(1), lambda v: np.mean(v, 1), (f32((0, 3)),)
        ),
    ]
    return rows


def _matmul_rows() -> list[Fwd]:
    pairs = [
        ((3, 4), (4, 5)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((1, 1), (1, 1)),
        ((0, 4), (4, 5)),
        ((3, 0), (0, 5)),
        ((2, 3, 0), (0, 2)),
    ]
    rows = [
        Fwd(
            f"matmul-{shape_id(p)}",
            "matmul",
            lambda a, b: a @ b,
            np.matmul,
            (f32(p[0]), f32(p[1])),
            rtol=1e-5,
            atol=1e-6,
        )
        for p in pairs
    ]
    rows.append(
        Fwd("matmul-int64", "matmul", lambda a, b: a @ b, np.matmul, (i64((2, 3)), i64((3, 2))))
    )
    return rows


X46 = f32((4, 6))
IDX = np.array([3, 0, 3, 1])
IDX2 = np.array([[1, 5], [5, 0]])


def _movement_rows() -> list[Fwd]:
    def index(key: Any, name: str, op: str) -> Fwd:
        return Fwd(f"getitem-{name}", op, lambda t: t[key], lambda v: v[key], (X46,))

    return [
        Fwd("reshape", "reshape", lambda t: t.reshape(3, 8), lambda v: v.reshape(3, 8), (X46,)),
        Fwd(
            "reshape-infer",
            "reshape",
            lambda t: t.reshape(-1, 2, 3),
            lambda v: v.reshape(-1, 2, 3),
            (X46,),
        ),
        Fwd(
            "reshape-empty",
            "reshape",
            lambda t: t.reshape(3, 0),
            lambda v: v.reshape(3, 0),
            (f32((0, 3)),),
        ),
        Fwd(
            "transpose-last-two",
            "permute",
            lambda t: t.transpose(),
            lambda v: v.swapaxes(-1, -2),
            (f32((2, 3, 4)),),
        ),
        Fwd(
            "transpose-dims",
            "permute",
            lambda t: t.transpose(0, 2),
            lambda v: v.swapaxes(0, 2),
            (f32((2, 3, 4)),),
        ),
        Fwd("T", "permute", lambda t: t.T, lambda v: v.T, (X46,)),
        Fwd(
            "permute",
            "permute",
            lambda t: t.permute(2, 0, 1),
            lambda v: np.transpose(v, (2, 0, 1)),
            (f32((2, 0, 4)),),
        ),
        Fwd(
            "expand",
            "expand",
            lambda t: t.expand(2, 3, 4),
            lambda v: np.broadcast_to(v, (2, 3, 4)),
            (f32((3, 1)),),
        ),
        Fwd(
            "expand-keep-dim",
            "expand",
            lambda t: t.expand(5, -1, 4),
            lambda v: np.broadcast_to(v, (5, 3, 4)),
            (f32((3, 1)),),
        ),
        Fwd(
            "broadcast_to-empty",
            "expand",
            lambda t: t.broadcast_to((0, 3)),
            lambda v: np.broadcast_to(v, (0, 3)),
            (f32((1, 3)),),
        ),
        Fwd("squeeze-all", "reshape", lambda t: t.squeeze(), np.squeeze, (f32((1, 3, 1)),)),
        Fwd(
            "squeeze-axis",
            "reshape",
            lambda t: t.squeeze(2),
            lambda v: np.squeeze(v, 2),
            (f32((1, 3, 1)),),
        ),
        Fwd("unsqueeze-0", "reshape", lambda t: t.unsqueeze(0), lambda v: v[None], (f32((3, 2)),)),
        Fwd(
            "unsqueeze-last",
            "reshape",
            lambda t: t.unsqueeze(-1),
            lambda v: v[..., None],
            (f32((3, 2)),),
        ),
        Fwd("flatten", "reshape", lambda t: t.flatten(), np.ravel, (f32((2, 3, 4)),)),
        index((slice(1, 3), slice(None, None, 2)), "1:3,::2", "slice"),
        index(slice(None, None, -1), "reversed", "slice"),
        index((slice(None, None, -2), slice(4, 0, -1)), "negative-steps", "slice"),
        index((2, slice(1, None)), "int-and-slice", "slice"),
        index((Ellipsis, None, 1), "ellipsis-newaxis", "slice"),
        index(slice(5, 2), "empty-slice", "slice"),
        index(IDX, "int-array-repeats", "gather"),
        index([-1, 0], "negative-list", "gather"),
        index((slice(None), IDX2), "2d-index-axis1", "gather"),
        index((1, np.array([0, 2])), "int-then-array", "gather"),
        Fwd("getitem-index-tensor", "gather", lambda t: t[Tensor(IDX)], lambda v: v[IDX], (X46,)),
        Fwd(
            "concat-axis0",
            "concat",
            lambda a, b: tinytorch.concat([a, b]),
            lambda a, b: np.concatenate([a, b]),
            (f32((2, 3)), f32((4, 3))),
        ),
        Fwd(
            "concat-axis-1-with-empty",
            "concat",
            lambda a, b, c: tinytorch.concat([a, b, c], axis=-1),
            lambda a, b, c: np.concatenate([a, b, c], axis=-1),
            (f32((2, 1)), f32((2, 0)), f32((2, 3))),
        ),
        Fwd(
            "concat-int64",
            "concat",
            lambda a, b: tinytorch.concat([a, b], axis=1),
            lambda a, b: np.concatenate([a, b], axis=1),
            (i64((2, 2)), i64((2, 1))),
        ),
        Fwd(
            "stack-axis0",
            "concat",
            lambda a, b: tinytorch.stack([a, b]),
            lambda a, b: np.stack([a, b]),
            (f32((2, 3)), f32((2, 3))),
        ),
        Fwd(
            "stack-axis-1",
            "concat",
            lambda a, b, c: tinytorch.stack([a, b, c], axis=-1),
            lambda a, b, c: np.stack([a, b, c], axis=-1),
            (f32((2, 3)),) * 3,
        ),
        Fwd(
            "stack-axis1",
            "concat",
            lambda a, b: tinytorch.stack([a, b], axis=1),
            lambda a, b: np.stack([a, b], axis=1),
            (f32((2, 3)), f32((2, 3))),
        ),
    ]


def _other_rows() -> list[Fwd]:
    w = f32((3, 4))
    return [
        Fwd(
            "where-broadcast",
            "where",
            tinytorch.where,
            np.where,
            (b8((3, 1)), f32((3, 4)), f32((4,))),
        ),
        Fwd(
            "where-scalar-branch",
            "where",
            lambda c, b: tinytorch.where(c, 1.5, b),
            lambda c, b: np.where(c, np.float32(1.5), b),
            (b8((2, 3)), f32((2, 3))),
        ),
        Fwd(
            "where-empty",
            "where",
            tinytorch.where,
            np.where,
            (b8((0, 2)), f32((0, 2)), f32((1, 2))),
        ),
        Fwd(
            "clip-both", "clip", lambda t: t.clip(-0.5, 0.5), lambda v: np.clip(v, -0.5, 0.5), (w,)
        ),
        Fwd(
            "clip-min-only", "clip", lambda t: t.clip(min=0.0), lambda v: np.clip(v, 0, None), (w,)
        ),
        Fwd(
            "clip-max-only",
            "clip",
            lambda t: t.clip(max=0.3),
            lambda v: np.clip(v, None, 0.3),
            (w,),
        ),
        Fwd(
            "clip-int64",
            "clip",
            lambda t: t.clip(-1, 2),
            lambda v: np.clip(v, -1, 2),
            (i64((3, 4)),),
        ),
        Fwd(
            "clip-empty",
            "clip",
            lambda t: t.clip(-1, 1),
            lambda v: np.clip(v, -1, 1),
            (f32((0, 4)),),
        ),
        Fwd(
            "clip-tensor-bounds",
            "maximum",
            lambda t, lo: t.clip(lo, None),
            lambda v, lo: np.maximum(v, lo),
            (w, f32((4,))),
        ),
        Fwd(
            "astype-float-to-int",
            "cast",
            lambda t: (t * 5).astype("int64"),
            lambda v: (v * np.float32(5)).astype(np.int64),
            (w,),
        ),
        Fwd(
            "astype-float-to-bool",
            "cast",
            lambda t: t.astype("bool"),
            lambda v: v.astype(bool),
            (f32((3, 4), "int"),),
        ),
        Fwd(
            "astype-int-to-float",
            "cast",
            lambda t: t.astype("float32"),
            lambda v: v.astype(np.float32),
            (i64((3, 4)),),
        ),
        Fwd(
            "astype-bool-to-float",
            "cast",
            lambda t: t.astype("float32"),
            lambda v: v.astype(np.float32),
            (b8((3, 4)),),
        ),
        Fwd(
            "astype-float64",
            "cast",
            lambda t: t.astype("float64"),
            lambda v: v.astype(np.float64),
            (w,),
        ),
        Fwd("astype-same-dtype", "cast", lambda t: t.astype("float32"), lambda v: v.copy(), (w,)),
        Fwd("scalar-radd", "add", lambda t: 2 + t, lambda v: 2 + v, (w,)),
        Fwd("scalar-rsub", "sub", lambda t: 2 - t, lambda v: 2 - v, (w,)),
        Fwd("scalar-mul", "mul", lambda t: t * 0.5, lambda v: v * np.float32(0.5), (w,)),
        Fwd(
            "scalar-rdiv",
            "div",
            lambda t: 1 / t,
            lambda v: np.float32(1) / v,
            (f32((3, 4), "away"),),
        ),
        Fwd("scalar-pow", "pow", lambda t: t**2, lambda v: v**2, (w,)),
        Fwd("scalar-rpow", "pow", lambda t: 2**t, lambda v: np.float32(2) ** v, (w,)),
        Fwd("scalar-compare", "gt", lambda t: t > 0, lambda v: v > 0, (w,)),
        Fwd("int-add", "add", lambda a, b: a + b, np.add, (i64((3, 1)), i64((4,)))),
        Fwd("int-sub", "sub", lambda a, b: a - b, np.subtract, (i64((3, 1)), i64((4,)))),
        Fwd("int-scalar-rsub", "sub", lambda a: 7 - a, lambda v: 7 - v, (i64((3, 4)),)),
        Fwd("int-mul", "mul", lambda a, b: a * b, np.multiply, (i64((3, 4)), i64((3, 4)))),
        Fwd("int-neg", "neg", lambda a: -a, np.negative, (i64((3, 4)),)),
        Fwd("int-abs", "abs", abs, np.abs, (i64((3, 4)),)),
        Fwd("int-relu", "relu", Tensor.relu, lambda v: np.maximum(v, 0), (i64((3, 4)),)),
        Fwd("int-maximum", "maximum", Tensor.maximum, np.maximum, (i64((3, 4)), i64((3, 4)))),
        Fwd("int-compare", "le", lambda a, b: a <= b, np.less_equal, (i64((3, 4)), i64((4,)))),
        Fwd(
            "int-true-division-is-float",
            "div",
            lambda a, b: a / b,
            lambda a, b: (a / b).astype(np.float32),
            (np.array([1, 7, -3]), np.array([2, 2, 4])),
        ),
        Fwd("buffer", "buffer", lambda t: t, lambda v: v, (w,)),
    ]


API_ROWS = [
    *_unary_rows(),
    *_binary_rows(),
    *_reduction_rows(),
    *_matmul_rows(),
    *_movement_rows(),
    *_other_rows(),
]


@pytest.mark.parametrize("backend", tinytorch.available_backends())
@pytest.mark.parametrize("case", API_ROWS, ids=[c.id for c in API_ROWS])
def test_public_api_matches_numpy(
    case: Fwd, backend: str, rng: np.random.Generator, ops_in, llvm_exempt
) -> None:
    """The op, called through the Tensor API, gives NumPy's shape, dtype and values (on
    every backend registered when the tests are collected)."""
    llvm_exempt.if_kernel_free(case.op)
    if case.id in {"astype-same-dtype", "buffer"}:
        llvm_exempt.no_kernel("nothing to compute: the value is the input's")
    arrays = [draw(rng, spec) for spec in case.inputs]
    tensors = [Tensor(a, dtype=a.dtype.name) for a in arrays]
    out = case.fn(*tensors)
    llvm_exempt.if_not_compiled(out.dtype.name)
    assert case.op in ops_in(out), f"{case.id} did not build a {case.op!r} node"
    with tinytorch.backend(backend):
        got = out.numpy()
    check(got, case.ref(*arrays), case.rtol, case.atol)


# --------------------------------------------------------------- the IR, directly
@dataclass(frozen=True)
class IRFwd:
    """``build(*placeholders)`` run by the current backend must equal ``ref(*arrays)``."""

    id: str
    op: str
    build: Callable[..., Any]
    ref: Callable[..., Any]
    inputs: tuple


def _scatter_add_ref(g: np.ndarray, idx: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Plain loops: out[..., idx[j], ...] += g[..., j, ...] over every index position j."""
    out = np.zeros(g.shape[:axis] + (size,) + g.shape[axis + idx.ndim :], g.dtype)
    for j in np.ndindex(idx.shape):
        pre = (slice(None),) * axis
        out[pre + (idx[j],)] += g[pre + j]
    return out


def _slice_scatter_ref(values: np.ndarray, shape: tuple, key: tuple) -> np.ndarray:
    out = np.zeros(shape, values.dtype)
    out[key] = values
    return out


def _slice_kw(starts: tuple, stops: tuple, steps: tuple) -> dict:
    return {"starts": starts, "stops": stops, "steps": steps}


def _windows_ref(x: np.ndarray) -> np.ndarray:
    """2x2 windows, stride 1, one pixel of -inf padding (tests/ops/test_spatial_ops.py has
    the general loops): ``out[a, b, n, c, i, j] = padded[n, c, i + a, j + b]``."""
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    oh, ow = p.shape[2] - 1, p.shape[3] - 1
    return np.stack(
        [np.stack([p[:, :, a : a + oh, b : b + ow] for b in range(2)]) for a in range(2)]
    )


def _fold_ref(g: np.ndarray) -> np.ndarray:
    """The adjoint of ``_windows_ref``: add each window value back, drop the padding."""
    out = np.zeros(g.shape[2:4] + (g.shape[4] + 1, g.shape[5] + 1), g.dtype)
    for a in range(2):
        for b in range(2):
            out[:, :, a : a + g.shape[4], b : b + g.shape[5]] += g[a, b]
    return out[:, :, 1:-1, 1:-1]


_WIN = {"kernel": (2, 2), "stride": (1, 1), "padding": (1, 1)}

IR_ROWS = [
    IRFwd(
        "windows-minus-inf-padding",
        "windows",
        lambda x: make("windows", (x,), pad_value=-np.inf, **_WIN),
        _windows_ref,
        (f32((2, 3, 3, 4)),),
    ),
    IRFwd(
        "fold-overlapping",
        "fold",
        lambda g: make("fold", (g,), shape=(2, 3, 3, 4), **_WIN),
        _fold_ref,
        (f32((2, 2, 2, 3, 4, 5)),),
    ),
    IRFwd("input-identity", "input", lambda x: x, lambda v: v, (f32((2, 3)),)),
    IRFwd(
        "const",
        "const",
        lambda x: make("add", (x, make("const", (), value=2.5, shape=(2, 3), dtype="float32"))),
        lambda v: v + np.float32(2.5),
        (f32((2, 3)),),
    ),
    IRFwd(
        "slice-negative-steps",
        "slice",
        lambda x: make("slice", (x,), **_slice_kw((4, 1), (-1, 6), (-2, 2))),
        lambda v: v[4::-2, 1:6:2],
        (f32((5, 6)),),
    ),
    IRFwd(
        "slice-empty",
        "slice",
        lambda x: make("slice", (x,), **_slice_kw((3, 0), (3, 6), (1, 1))),
        lambda v: v[3:3, :],
        (f32((5, 6)),),
    ),
    IRFwd(
        "slice_scatter",
        "slice_scatter",
        lambda v: make("slice_scatter", (v,), shape=(4, 6), **_slice_kw((1, 0), (3, 6), (1, 2))),
        lambda v: _slice_scatter_ref(v, (4, 6), (slice(1, 3), slice(0, 6, 2))),
        (f32((2, 3)),),
    ),
    IRFwd(
        "slice_scatter-negative-step",
        "slice_scatter",
        lambda v: make("slice_scatter", (v,), shape=(6,), **_slice_kw((5,), (-1,), (-2,))),
        lambda v: _slice_scatter_ref(v, (6,), (slice(5, None, -2),)),
        (f32((3,)),),
    ),
    IRFwd(
        "slice_scatter-empty",
        "slice_scatter",
        lambda v: make("slice_scatter", (v,), shape=(4, 3), **_slice_kw((2, 0), (2, 3), (1, 1))),
        lambda v: np.zeros((4, 3), np.float32),
        (f32((0, 3)),),
    ),
    IRFwd(
        "gather-axis0-repeats",
        "gather",
        lambda x, i: make("gather", (x, i), axis=0),
        lambda x, i: np.take(x, i, axis=0),
        (f32((4, 3)), np.array([3, 0, 3])),
    ),
    IRFwd(
        "gather-axis1-2d-index",
        "gather",
        lambda x, i: make("gather", (x, i), axis=1),
        lambda x, i: np.take(x, i, axis=1),
        (f32((2, 5, 4)), np.array([[4, 0, 1], [1, 1, 2]])),
    ),
    IRFwd(
        "gather-negative-int32-index",
        "gather",
        lambda x, i: make("gather", (x, i), axis=0),
        lambda x, i: x[i],
        (f32((4, 3)), np.array([-1, 0, -4], np.int32)),
    ),
    IRFwd(
        "gather-empty-index",
        "gather",
        lambda x, i: make("gather", (x, i), axis=0),
        lambda x, i: x[i],
        (f32((4, 3)), np.zeros((0,), np.int64)),
    ),
    IRFwd(
        "scatter_add-axis0-repeats",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=0, size=4),
        lambda g, i: _scatter_add_ref(g, i, 0, 4),
        (f32((5, 3)), np.array([0, 2, 0, 3, 0])),
    ),
    IRFwd(
        "scatter_add-axis1-2d-index",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=1, size=5),
        lambda g, i: _scatter_add_ref(g, i, 1, 5),
        (f32((2, 2, 3, 4)), np.array([[4, 0, 4], [1, 1, 2]])),
    ),
    IRFwd(
        "scatter_add-negative-index",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=0, size=4),
        lambda g, i: _scatter_add_ref(g, i, 0, 4),
        (f32((3, 2)), np.array([-1, 0, 3])),
    ),
    IRFwd(
        "scatter_add-empty-index",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=0, size=4),
        lambda g, i: np.zeros((4, 3), np.float32),
        (f32((0, 3)), np.zeros((0,), np.int64)),
    ),
    IRFwd(
        "cast-float32-to-int64",
        "cast",
        lambda x: make("cast", (x,), dtype="int64"),
        lambda v: v.astype(np.int64),
        (f32((3, 4), "int"),),
    ),
    IRFwd(
        "cast-int64-to-float32",
        "cast",
        lambda x: make("cast", (x,), dtype="float32"),
        lambda v: v.astype(np.float32),
        (i64((3, 4)),),
    ),
    IRFwd(
        "cast-float32-to-float16",
        "cast",
        lambda x: make("cast", (x,), dtype="float16"),
        lambda v: v.astype(np.float16),
        (f32((3, 4)),),
    ),
    IRFwd(
        "cast-float64-to-float32",
        "cast",
        lambda x: make("cast", (x,), dtype="float32"),
        lambda v: v.astype(np.float32),
        (((3, 4), "normal", "float64"),),
    ),
    IRFwd(
        "cast-bool-to-int32",
        "cast",
        lambda x: make("cast", (x,), dtype="int32"),
        lambda v: v.astype(np.int32),
        (b8((3, 4)),),
    ),
    IRFwd(
        "cast-to-bool",
        "cast",
        lambda x: make("cast", (x,), dtype="bool"),
        lambda v: v.astype(bool),
        (f32((3, 4), "int"),),
    ),
    IRFwd(
        "cast-empty",
        "cast",
        lambda x: make("cast", (x,), dtype="int8"),
        lambda v: v.astype(np.int8),
        (f32((0, 2), "int"),),
    ),
    IRFwd(
        "concat-negative-axis",
        "concat",
        lambda a, b: make("concat", (a, b), axis=-1),
        lambda a, b: np.concatenate([a, b], axis=-1),
        (f32((2, 3)), f32((2, 5))),
    ),
    IRFwd(
        "concat-single-input",
        "concat",
        lambda a: make("concat", (a,), axis=0),
        lambda a: a.copy(),
        (f32((2, 3)),),
    ),
    IRFwd(
        "sum-no-axes-is-identity",
        "sum",
        lambda x: make("sum", (x,), axes=(), keepdims=False),
        lambda v: v,
        (f32((2, 3)),),
    ),
    IRFwd(
        "max-over-nonempty-axis-of-empty-tensor",
        "max",
        lambda x: make("max", (x,), axes=(1,), keepdims=False),
        lambda v: np.max(v, axis=1),
        (f32((0, 3)),),
    ),
    IRFwd(
        "argmax-over-nonempty-axis-of-empty-tensor",
        "argmax",
        lambda x: make("argmax", (x,), axis=1, keepdims=True),
        lambda v: np.argmax(v, axis=1, keepdims=True),
        (f32((0, 3)),),
    ),
    IRFwd(
        "argmax-all-keepdims",
        "argmax",
        lambda x: make("argmax", (x,), axis=None, keepdims=True),
        lambda v: np.argmax(v, keepdims=True),
        (f32((2, 3)),),
    ),
    IRFwd(
        "where",
        "where",
        lambda c, a, b: make("where", (c, a, b)),
        np.where,
        (b8((2, 3)), f32((2, 3)), f32((2, 3))),
    ),
    IRFwd(
        "matmul-batched",
        "matmul",
        lambda a, b: make("matmul", (a, b)),
        np.matmul,
        (f32((2, 3, 4)), f32((2, 4, 5))),
    ),
    IRFwd(
        "expand-new-leading-dims",
        "expand",
        lambda x: make("expand", (x,), shape=(2, 3, 4)),
        lambda v: np.broadcast_to(v, (2, 3, 4)),
        (f32((3, 1)),),
    ),
    IRFwd(
        "permute",
        "permute",
        lambda x: make("permute", (x,), perm=(1, 2, 0)),
        lambda v: np.transpose(v, (1, 2, 0)),
        (f32((2, 3, 4)),),
    ),
    IRFwd(
        "reshape-to-0d",
        "reshape",
        lambda x: make("reshape", (x,), shape=()),
        lambda v: v.reshape(()),
        (f32((1, 1)),),
    ),
    # A 0-d tensor's axis 0 is its only element: reducing over it changes nothing.
    IRFwd(
        "max-0d-axis0",
        "max",
        lambda x: make("max", (x,), axes=(0,), keepdims=False),
        lambda v: v.copy(),
        (f32(()),),
    ),
    IRFwd(
        "min-0d-axis0-keepdims",
        "min",
        lambda x: make("min", (x,), axes=(0,), keepdims=True),
        lambda v: v.copy(),
        (f32(()),),
    ),
    IRFwd(
        "argmax-0d-axis0",
        "argmax",
        lambda x: make("argmax", (x,), axis=0, keepdims=False),
        lambda v: np.int64(0),
        (f32(()),),
    ),
]


# Int8 quantization (tinytorch/ir/ops/quant.py). The references are the book's formulas,
# written here independently: q = clip(round(x / s + z)), x = (q - z) * s, and the exact
# integer sum of (a - a_zero) * b computed in int64.
_QX = np.array([[-1.0, -0.26, 0.0, 0.5], [1.3, 2.0, -2.0, 0.004]], np.float32)
_Q8 = np.array([[-128, -3, 0, 7], [127, 45, -90, 1]], np.int8)
_QB = np.array([[1, -2, 3], [-128, 127, 0], [5, 5, -5], [60, -61, 2]], np.int8)


def _bcast(x, s, z):
    """Scale and zero point expanded to the data's shape (broadcasting is explicit)."""
    return x, make("expand", (s,), shape=x.shape), make("expand", (z,), shape=x.shape)


def _quant(x, s, z):
    return make("quantize", _bcast(x, s, z))


def _dequant(q, s, z):
    return make("dequantize", _bcast(q, s, z))


def _quant_ref(x, s, z):
    return np.clip(np.round(x / s + z), -128, 127).astype(np.int8)


IR_ROWS += [
    IRFwd("quantize-per-tensor", "quantize", _quant,
          lambda x, s, z: _quant_ref(x, np.float32(s), np.float32(z)),
          (_QX, np.array(0.0157, np.float32), np.array(-3, np.int32))),
    IRFwd("quantize-per-channel", "quantize", _quant,
          lambda x, s, z: _quant_ref(x, s, z.astype(np.float32)),
          (_QX, np.array([0.01, 0.02, 0.5, 1e-3], np.float32),
           np.array([0, 5, -7, 127], np.int32))),
    IRFwd("dequantize-per-tensor", "dequantize", _dequant,
          lambda q, s, z: ((q.astype(np.float32) - np.float32(z)) * s).astype(np.float32),
          (_Q8, np.array(0.02, np.float32), np.array(60, np.int32))),
    IRFwd("dequantize-per-channel", "dequantize", _dequant,
          lambda q, s, z: ((q.astype(np.float32) - z.astype(np.float32)) * s),
          (_Q8, np.array([0.5, 0.25, 2.0, 1.0], np.float32), np.array([1, -2, 0, 127], np.int32))),
    IRFwd("int8_matmul-kn", "int8_matmul",
          lambda a, b, z: make("int8_matmul", (a, b, z)),
          lambda a, b, z: ((a.astype(np.int64) - int(z)) @ b.astype(np.int64)).astype(np.int32),
          (_Q8, _QB, np.array(-128, np.int32))),
    IRFwd("int8_matmul-nk", "int8_matmul",
          lambda a, b, z: make("int8_matmul", (a, b, z), layout="nk"),
          lambda a, b, z: ((a.astype(np.int64) - int(z)) @ b.T.astype(np.int64)).astype(np.int32),
          (_Q8, np.ascontiguousarray(_QB.T), np.array(127, np.int32))),
]  # fmt: skip


def _kv_cache_write_ref(cache, new, pos):
    """The cache with rows pos..pos+n-1 replaced (the kernel does it in place)."""
    out = np.array(cache, copy=True)
    out[:, :, int(pos[0]) : int(pos[0]) + new.shape[2]] = new
    return out


IR_ROWS.append(
    IRFwd("kv_cache_write-two-rows", "kv_cache_write",
          lambda c, n, p: make("kv_cache_write", (c, n, p)), _kv_cache_write_ref,
          (f32((2, 3, 6, 4)), f32((2, 3, 2, 4)), np.array([3], np.int64)))
)  # fmt: skip


@pytest.mark.parametrize("case", IR_ROWS, ids=[c.id for c in IR_ROWS])
def test_ir_node_matches_numpy(
    case: IRFwd, rng: np.random.Generator, inp, run_ir, llvm_exempt
) -> None:
    """The op, built directly as an IR node, gives NumPy's shape, dtype and values."""
    llvm_exempt.if_kernel_free(case.op)
    arrays = [draw(rng, spec) for spec in case.inputs]
    placeholders = [inp(k, a.shape, a.dtype.name) for k, a in enumerate(arrays)]
    out = case.build(*placeholders)
    llvm_exempt.if_not_compiled(out.dtype)
    assert case.op in {out.op, *(i.op for i in out.inputs)}
    (got,) = run_ir(placeholders, [out], arrays)
    want = np.asarray(case.ref(*arrays))
    assert out.shape == want.shape, "the shape rule disagrees with NumPy"
    assert out.dtype == want.dtype.name, "the dtype rule disagrees with NumPy"
    check(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.backend_independent
def test_every_registered_op_has_a_forward_row() -> None:
    """A newly registered op fails here until it has a row in one of the tables above."""
    covered = {c.op for c in API_ROWS} | {c.op for c in IR_ROWS}
    missing = sorted(set(all_ops()) - covered)
    assert not missing, f"ops without a forward test: {missing}"


def test_maximum_and_minimum_order_negative_zero_below_positive_zero() -> None:
    """IEEE 754-2019: ``maximum(+0, -0)`` is +0 and ``minimum(+0, -0)`` is -0, whichever
    operand comes first, and NaN wins; NumPy's ufunc returns its second operand on a tie of
    zeros, so both backends fix that tie the same way (``1 / result`` shows the sign)."""
    a = np.array([0.0, -0.0, -0.0, 0.0, -0.0, np.nan], np.float32)
    b = np.array([-0.0, 0.0, -0.0, -5.0, 5.0, 0.0], np.float32)
    with np.errstate(divide="ignore"):
        for x, y in ((a, b), (b, a)):
            high = 1 / Tensor(x).maximum(Tensor(y)).numpy()
            low = 1 / Tensor(x).minimum(Tensor(y)).numpy()
            expect_high = np.array([np.inf, np.inf, -np.inf, np.inf, 0.2, np.nan], np.float32)
            expect_low = np.array([-np.inf, -np.inf, -np.inf, -0.2, -np.inf, np.nan], np.float32)
            np.testing.assert_array_equal(high, expect_high)
            np.testing.assert_array_equal(low, expect_low)
