"""Every differentiable op's VJP against central finite differences, in float64.

For each row: ``out = fn(x...)``, ``loss = (out * R).sum()`` for a fixed random ``R``,
``loss.backward()``; each ``x.grad`` must match the finite difference of the same loss
computed by NumPy (``eps = 1e-6``, ``rtol = 1e-5``, ``atol = 1e-7``). Inputs are drawn away
from kinks (relu and abs at 0, ties of max/maximum, clip boundaries); the conventions at the
kinks are tested separately at the end.

User-facing ops go through ``Tensor.backward``; internal ops (``slice_scatter``,
``scatter_add``, ``gather``, ``cast``...) call the registry's ``vjp`` on an IR node and run
the graph it emits. ``test_every_differentiable_op_has_a_gradient_row`` fails when an op is
registered as differentiable without a row here.
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
from tinytorch.ir.registry import all_ops, get

RTOL, ATOL = 1e-5, 1e-7
F64 = "float64"

# ------------------------------------------------------------------------- inputs
# Generators take the test's rng and return float64 arrays.


def normal(*shape: int, scale: float = 1.0) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda r: scale * r.standard_normal(shape)


def pos(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Uniform in [0.5, 2]: inside the domain of log, sqrt and fractional powers."""
    return lambda r: r.uniform(0.5, 2.0, shape)


def away(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """|x| in [0.2, 2]: far from the kink of relu and abs, and from division by zero."""
    return lambda r: r.choice([-1.0, 1.0], shape) * r.uniform(0.2, 2.0, shape)


def distinct(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """All values different by at least 0.2, so max and min have no ties."""
    n = int(np.prod(shape))
    return lambda r: (r.permutation(n) * 0.3 + r.uniform(0, 0.1, n) - 0.15 * n).reshape(shape)


def offset_pair(
    sa: tuple, sb: tuple
) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """Two arrays whose elements, however broadcast, differ by at least 0.3."""

    def gen(r: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        a = r.integers(-3, 3, sa) + 0.25 + r.uniform(-0.1, 0.1, sa)
        b = r.integers(-3, 3, sb) - 0.25 + r.uniform(-0.1, 0.1, sb)
        return a, b

    return gen


def clip_safe(*shape: int) -> Callable[[np.random.Generator], np.ndarray]:
    """Values at least 0.05 from -0.5 and 0.5 (the clip bounds used below), on both sides."""
    centers = np.array([-1.0, -0.3, 0.1, 0.35, 0.9])
    return lambda r: r.choice(centers, shape) + r.uniform(-0.05, 0.05, shape)


def inputs(*gens: Callable) -> Callable[[np.random.Generator], list[np.ndarray]]:
    def draw(r: np.random.Generator) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for g in gens:
            v = g(r)
            out.extend(v if isinstance(v, tuple) else (v,))
        return [np.asarray(a, dtype=np.float64) for a in out]

    return draw


def loss_of(ref: Callable[..., Any], R: np.ndarray) -> Callable[..., float]:
    return lambda *arrays: float(np.sum(np.asarray(ref(*arrays)) * R))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------- through Tensor.backward
@dataclass(frozen=True)
class Grad:
    """Every input of ``fn`` is a float64 tensor with ``requires_grad=True``."""

    id: str
    op: str  # the registered op whose VJP the row exercises (it must be in the graph)
    fn: Callable[..., Tensor]
    ref: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator], list[np.ndarray]]
    fwd_rtol: float = 1e-10


COND = np.array([[True], [False], [True]])
IDX = np.array([0, 2, 0, 3, 0])
IDX2 = np.array([[1, 3], [3, 0]])

API_GRADS = [
    # unary
    Grad("neg", "neg", lambda x: -x, np.negative, inputs(normal(3, 4))),
    Grad("exp", "exp", Tensor.exp, np.exp, inputs(normal(3, 4))),
    Grad("log", "log", Tensor.log, np.log, inputs(pos(3, 4))),
    Grad("sqrt", "sqrt", Tensor.sqrt, np.sqrt, inputs(pos(3, 4))),
    Grad("tanh", "tanh", Tensor.tanh, np.tanh, inputs(normal(3, 4))),
    Grad(
        "sigmoid",
        "sigmoid",
        Tensor.sigmoid,
        lambda x: 1 / (1 + np.exp(-x)),
        inputs(normal(3, 4, scale=3)),
    ),
    Grad("relu", "relu", Tensor.relu, lambda x: np.maximum(x, 0), inputs(away(3, 4))),
    Grad("gelu", "gelu", Tensor.gelu, _gelu, inputs(normal(3, 4, scale=2))),
    Grad("abs", "abs", abs, np.abs, inputs(away(3, 4))),
    # binary, with broadcasting (the gradient is summed back to each input's shape)
    Grad("add-same-shape", "add", lambda a, b: a + b, np.add, inputs(normal(3, 4), normal(3, 4))),
    Grad(
        "add-broadcast-(3,1,4)-(5,1)",
        "add",
        lambda a, b: a + b,
        np.add,
        inputs(normal(3, 1, 4), normal(5, 1)),
    ),
    Grad(
        "add-scalar",
        "add",
        lambda a: a + 2.0,
        lambda a: a + 2.0,
        inputs(
            normal(
                3,
            )
        ),
    ),
    Grad(
        "sub-broadcast",
        "sub",
        lambda a, b: a - b,
        np.subtract,
        inputs(
            normal(2, 3),
            normal(
                3,
            ),
        ),
    ),
    Grad(
        "sub-scalar-left",
        "sub",
        lambda a: 2.0 - a,
        lambda a: 2.0 - a,
        inputs(
            normal(
                3,
            )
        ),
    ),
    Grad(
        "mul-broadcast-(3,1,4)-(5,1)",
        "mul",
        lambda a, b: a * b,
        np.multiply,
        inputs(normal(3, 1, 4), normal(5, 1)),
    ),
    Grad("mul-shared-input", "mul", lambda a: a * a, lambda a: a * a, inputs(normal(3, 4))),
    Grad("mul-0d", "mul", lambda a, b: a * b, np.multiply, inputs(normal(), normal(2, 3))),
    Grad(
        "div-broadcast",
        "div",
        lambda a, b: a / b,
        np.divide,
        inputs(
            normal(4, 3),
            away(
                3,
            ),
        ),
    ),
    Grad("div-scalar-numerator", "div", lambda b: 1.0 / b, lambda b: 1.0 / b, inputs(away(2, 3))),
    Grad(
        "pow-tensor-exponent", "pow", lambda a, b: a**b, np.power, inputs(pos(2, 3), normal(2, 3))
    ),
    Grad(
        "pow-broadcast-exponent",
        "pow",
        lambda a, b: a**b,
        np.power,
        inputs(
            pos(2, 3),
            normal(
                3,
            ),
        ),
    ),
    Grad("pow-square-negative-base", "pow", lambda a: a**2, lambda a: a**2, inputs(normal(3, 4))),
    Grad("pow-cube", "pow", lambda a: a**3, lambda a: a**3, inputs(normal(3, 4))),
    Grad("pow-sqrt", "pow", lambda a: a**0.5, np.sqrt, inputs(pos(3, 4))),
    Grad("pow-scalar-base", "pow", lambda b: 2.0**b, lambda b: 2.0**b, inputs(normal(3, 4))),
    Grad("maximum", "maximum", Tensor.maximum, np.maximum, inputs(offset_pair((3, 4), (3, 4)))),
    Grad(
        "maximum-broadcast",
        "maximum",
        Tensor.maximum,
        np.maximum,
        inputs(offset_pair((3, 1), (1, 4))),
    ),
    Grad(
        "minimum-broadcast",
        "minimum",
        Tensor.minimum,
        np.minimum,
        inputs(offset_pair((2, 3), (3,))),
    ),
    # selection
    Grad(
        "where-broadcast",
        "where",
        lambda a, b: tinytorch.where(COND, a, b),
        lambda a, b: np.where(COND, a, b),
        inputs(
            normal(3, 4),
            normal(
                4,
            ),
        ),
    ),
    Grad(
        "where-scalar-branch",
        "where",
        lambda a: tinytorch.where(COND, a, 0.0),
        lambda a: np.where(COND, a, 0.0),
        inputs(normal(3, 2)),
    ),
    Grad(
        "clip-both",
        "clip",
        lambda x: x.clip(-0.5, 0.5),
        lambda x: np.clip(x, -0.5, 0.5),
        inputs(clip_safe(4, 5)),
    ),
    Grad(
        "clip-min-only",
        "clip",
        lambda x: x.clip(min=-0.5),
        lambda x: np.maximum(x, -0.5),
        inputs(clip_safe(4, 5)),
    ),
    Grad(
        "clip-max-only",
        "clip",
        lambda x: x.clip(max=0.5),
        lambda x: np.minimum(x, 0.5),
        inputs(clip_safe(4, 5)),
    ),
    Grad(
        "astype-same-dtype",
        "cast",
        lambda x: x.astype("float64"),
        lambda x: x,
        inputs(normal(3, 4)),
    ),
    Grad(
        "astype-float32-round-trip",
        "cast",
        lambda x: x.astype("float32").astype("float64"),
        lambda x: x,
        inputs(normal(3, 4)),
        fwd_rtol=1e-6,
    ),
    # matmul
    Grad("matmul", "matmul", lambda a, b: a @ b, np.matmul, inputs(normal(2, 3), normal(3, 4))),
    Grad(
        "matmul-vector-matrix",
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        inputs(normal(4), normal(4, 2)),
    ),
    Grad(
        "matmul-matrix-vector",
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        inputs(normal(2, 3), normal(3)),
    ),
    Grad(
        "matmul-broadcast-batch",
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        inputs(normal(2, 1, 2, 3), normal(3, 3, 2)),
    ),
    # movement
    Grad(
        "reshape",
        "reshape",
        lambda x: x.reshape(6, 4),
        lambda x: x.reshape(6, 4),
        inputs(normal(2, 3, 4)),
    ),
    Grad("flatten", "reshape", lambda x: x.flatten(), np.ravel, inputs(normal(2, 3, 2))),
    Grad(
        "squeeze-unsqueeze",
        "reshape",
        lambda x: x.squeeze().unsqueeze(0),
        lambda x: np.squeeze(x)[None],
        inputs(normal(3, 1, 2)),
    ),
    Grad("transpose", "permute", lambda x: x.T, np.transpose, inputs(normal(3, 4))),
    Grad(
        "permute",
        "permute",
        lambda x: x.permute(2, 0, 1),
        lambda x: np.transpose(x, (2, 0, 1)),
        inputs(normal(2, 3, 4)),
    ),
    Grad(
        "expand",
        "expand",
        lambda x: x.expand(2, 3, 4),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        inputs(normal(3, 1)),
    ),
    Grad(
        "slice-1:3,::2", "slice", lambda x: x[1:3, ::2], lambda x: x[1:3, ::2], inputs(normal(4, 5))
    ),
    Grad(
        "slice-negative-step-and-int",
        "slice",
        lambda x: x[::-2, 1],
        lambda x: x[::-2, 1],
        inputs(normal(5, 3)),
    ),
    Grad(
        "slice-ellipsis-newaxis",
        "slice",
        lambda x: x[..., None, 2:],
        lambda x: x[..., None, 2:],
        inputs(normal(2, 4)),
    ),
    Grad(
        "gather-repeated-rows", "gather", lambda x: x[IDX], lambda x: x[IDX], inputs(normal(4, 3))
    ),
    Grad(
        "gather-2d-index-axis1",
        "gather",
        lambda x: x[:, IDX2],
        lambda x: x[:, IDX2],
        inputs(normal(2, 4)),
    ),
    Grad(
        "concat-axis0",
        "concat",
        lambda a, b: tinytorch.concat([a, b]),
        lambda a, b: np.concatenate([a, b]),
        inputs(normal(2, 3), normal(4, 3)),
    ),
    Grad(
        "concat-axis-1",
        "concat",
        lambda a, b: tinytorch.concat([a, b], axis=-1),
        lambda a, b: np.concatenate([a, b], axis=-1),
        inputs(normal(2, 1), normal(2, 3)),
    ),
    Grad(
        "stack-axis1",
        "concat",
        lambda a, b: tinytorch.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], axis=1),
        inputs(normal(2, 3), normal(2, 3)),
    ),
    # reductions
    Grad("sum-all", "sum", lambda x: x.sum(), np.sum, inputs(normal(3, 4))),
    Grad(
        "sum-axis0", "sum", lambda x: x.sum(axis=0), lambda x: x.sum(axis=0), inputs(normal(3, 4))
    ),
    Grad(
        "sum-axes-keepdims",
        "sum",
        lambda x: x.sum((0, 2), keepdims=True),
        lambda x: x.sum((0, 2), keepdims=True),
        inputs(normal(2, 3, 4)),
    ),
    Grad(
        "mean-axis-1",
        "sum",
        lambda x: x.mean(axis=-1),
        lambda x: x.mean(axis=-1),
        inputs(normal(3, 4)),
    ),
    Grad("var-all", "sum", lambda x: x.var(), np.var, inputs(normal(3, 4))),
    Grad(
        "var-axis0-ddof1",
        "sum",
        lambda x: x.var(axis=0, ddof=1),
        lambda x: np.var(x, axis=0, ddof=1),
        inputs(normal(4, 3)),
    ),
    Grad("max-all", "max", lambda x: x.max(), np.max, inputs(distinct(3, 4))),
    Grad(
        "max-axis1-keepdims",
        "max",
        lambda x: x.max(axis=1, keepdims=True),
        lambda x: x.max(axis=1, keepdims=True),
        inputs(distinct(3, 4)),
    ),
    Grad(
        "min-axis0", "min", lambda x: x.min(axis=0), lambda x: x.min(axis=0), inputs(distinct(3, 4))
    ),
    # composites
    Grad(
        "softmax-last",
        "exp",
        lambda x: x.softmax(),
        lambda x: _softmax(x, -1),
        inputs(normal(3, 4)),
    ),
    Grad(
        "softmax-dim0",
        "exp",
        lambda x: x.softmax(0),
        lambda x: _softmax(x, 0),
        inputs(normal(3, 4)),
    ),
    Grad(
        "mse",
        "pow",
        lambda a, b: ((a - b) ** 2).mean(),
        lambda a, b: np.mean((a - b) ** 2),
        inputs(normal(3, 4), normal(3, 4)),
    ),
    # empty and size-1 dims: the gradient has the input's shape (zeros where nothing flowed)
    Grad(
        "add-empty-broadcast", "add", lambda a, b: a + b, np.add, inputs(normal(3, 1), normal(3, 0))
    ),
    Grad(
        "matmul-empty-inner",
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        inputs(normal(2, 0), normal(0, 3)),
    ),
    Grad(
        "sum-empty", "sum", lambda x: x.sum(axis=0), lambda x: x.sum(axis=0), inputs(normal(0, 3))
    ),
    Grad("sum-0d-axis0", "sum", lambda x: x.sum(axis=0), lambda x: x, inputs(normal())),
    Grad(
        "mul-size1-dims",
        "mul",
        lambda a, b: a * b,
        np.multiply,
        inputs(normal(1, 3, 1), normal(1, 1, 2)),
    ),
]


def _check_grad_case(case: Grad, rng: np.random.Generator, ops_in, numeric_grad) -> None:
    arrays = case.make_inputs(rng)
    xs = [Tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    out = case.fn(*xs)
    assert case.op in ops_in(out), f"{case.id} did not build a {case.op!r} node"
    want = np.asarray(case.ref(*arrays), dtype=np.float64)
    np.testing.assert_allclose(out.numpy(), want, rtol=case.fwd_rtol, atol=1e-12)
    R = rng.standard_normal(want.shape)
    (out * Tensor(R, dtype=F64)).sum().backward()
    for k, x in enumerate(xs):
        assert x.grad is not None, f"input {k} received no gradient"
        got = x.grad.numpy()
        assert got.shape == arrays[k].shape
        fd = numeric_grad(loss_of(case.ref, R), arrays, k)
        np.testing.assert_allclose(got, fd, rtol=RTOL, atol=ATOL, err_msg=f"gradient of input {k}")


@pytest.mark.parametrize("case", API_GRADS, ids=[c.id for c in API_GRADS])
def test_backward_matches_finite_differences(
    case: Grad, rng: np.random.Generator, ops_in, numeric_grad, llvm_exempt
) -> None:
    """``loss.backward()`` gives the finite-difference gradient of ``sum(fn(x) * R)``."""
    llvm_exempt.if_kernel_free(case.op)
    if case.id == "astype-same-dtype":
        llvm_exempt.no_kernel("a cast to the same dtype is simplified away")
    _check_grad_case(case, rng, ops_in, numeric_grad)


# -------------------------------------------------- internal ops, through the VJP rule
@dataclass(frozen=True)
class IRGrad:
    """``build(*placeholders)`` makes one node of ``op``; its registered VJP, run on the current
    backend with upstream gradient ``R``, must match finite differences with respect to
    every float input. Integer inputs (indices) are fixed arrays and get no gradient."""

    id: str
    op: str
    build: Callable[..., Any]
    ref: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator], list[np.ndarray]]


def ir_inputs(*gens: Callable) -> Callable[[np.random.Generator], list[np.ndarray]]:
    """Like :func:`inputs`, but integer arrays (indices) keep their dtype."""

    def draw(r: np.random.Generator) -> list[np.ndarray]:
        arrays = [np.asarray(g(r)) for g in gens]
        return [a if a.dtype.kind in "iub" else a.astype(np.float64) for a in arrays]

    return draw


def _slices(starts: tuple, stops: tuple, steps: tuple) -> tuple:
    return tuple(
        slice(b, None if e < 0 else e, s) for b, e, s in zip(starts, stops, steps, strict=True)
    )


def _slice_scatter(values: np.ndarray, shape: tuple, key: tuple) -> np.ndarray:
    out = np.zeros(shape)
    out[key] = values
    return out


def _scatter_add(g: np.ndarray, idx: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((size,) + g.shape[idx.ndim :])
    np.add.at(out, idx, g)
    return out


SS = ((1, 4), (3, -1), (1, -2))  # starts, stops, steps: rows 1:3, columns 4::-2
SIDX = np.array([0, 2, 0, 3, 0])


def _windows(x: np.ndarray) -> np.ndarray:
    """3x3 windows at stride 2 with zero padding 1, as ``out[a, b, n, c, i, j]``."""
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (p.shape[2] - 3) // 2 + 1, (p.shape[3] - 3) // 2 + 1
    return np.stack(
        [np.stack([p[:, :, a : a + 2 * oh : 2, b : b + 2 * ow : 2] for b in range(3)])
         for a in range(3)]
    )  # fmt: skip


def _fold(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The adjoint of ``_windows``: scatter-add back, drop the padding."""
    out = np.zeros((shape[0], shape[1], shape[2] + 2, shape[3] + 2))
    for a in range(3):
        for b in range(3):
            out[:, :, a : a + 2 * g.shape[4] : 2, b : b + 2 * g.shape[5] : 2] += g[a, b]
    return out[:, :, 1:-1, 1:-1]


WIN = {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)}

IR_GRADS = [
    IRGrad(
        "windows-stride2-pad1",
        "windows",
        lambda x: make("windows", (x,), pad_value=0.0, **WIN),
        _windows,
        ir_inputs(normal(1, 2, 5, 4)),
    ),
    IRGrad(
        "fold-stride2-pad1",
        "fold",
        lambda g: make("fold", (g,), shape=(1, 2, 5, 4), **WIN),
        lambda g: _fold(g, (1, 2, 5, 4)),
        ir_inputs(normal(3, 3, 1, 2, 3, 2)),
    ),
    IRGrad(
        "max-0d-axis0",
        "max",
        lambda x: make("max", (x,), axes=(0,), keepdims=False),
        lambda x: x,
        ir_inputs(normal()),
    ),
    IRGrad(
        "slice_scatter",
        "slice_scatter",
        lambda v: make("slice_scatter", (v,), shape=(4, 6), starts=SS[0], stops=SS[1], steps=SS[2]),
        lambda v: _slice_scatter(v, (4, 6), _slices(*SS)),
        ir_inputs(normal(2, 3)),
    ),
    IRGrad(
        "slice-negative-step",
        "slice",
        lambda x: make("slice", (x,), starts=SS[0], stops=SS[1], steps=SS[2]),
        lambda x: x[_slices(*SS)],
        ir_inputs(normal(4, 6)),
    ),
    IRGrad(
        "scatter_add-repeated-rows",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=0, size=4),
        lambda g, i: _scatter_add(g, i, 4),
        ir_inputs(normal(5, 3), lambda r: SIDX),
    ),
    IRGrad(
        "scatter_add-2d-index-axis1",
        "scatter_add",
        lambda g, i: make("scatter_add", (g, i), axis=1, size=3),
        lambda g, i: np.stack([_scatter_add(gb, i, 3) for gb in g]),
        ir_inputs(normal(2, 2, 2, 3), lambda r: np.array([[2, 0], [2, 2]])),
    ),
    IRGrad(
        "gather-axis1-negative-index",
        "gather",
        lambda x, i: make("gather", (x, i), axis=1),
        lambda x, i: np.take(x, i, axis=1),
        ir_inputs(normal(2, 4, 3), lambda r: np.array([-1, 0, 3, -1])),
    ),
    IRGrad(
        "cast-float64-identity",
        "cast",
        lambda x: make("cast", (x,), dtype=F64),
        lambda x: x,
        ir_inputs(normal(3, 4)),
    ),
    IRGrad(
        "concat-negative-axis",
        "concat",
        lambda a, b: make("concat", (a, b), axis=-1),
        lambda a, b: np.concatenate([a, b], axis=-1),
        ir_inputs(normal(2, 3), normal(2, 2)),
    ),
    IRGrad(
        "sum-keepdims",
        "sum",
        lambda x: make("sum", (x,), axes=(0, 2), keepdims=True),
        lambda x: x.sum(axis=(0, 2), keepdims=True),
        ir_inputs(normal(2, 3, 2)),
    ),
    IRGrad(
        "expand-leading-dims",
        "expand",
        lambda x: make("expand", (x,), shape=(2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        ir_inputs(normal(1, 4)),
    ),
]


@pytest.mark.parametrize("case", IR_GRADS, ids=[c.id for c in IR_GRADS])
def test_vjp_rule_matches_finite_differences(
    case: IRGrad, rng: np.random.Generator, inp, run_ir, numeric_grad, llvm_exempt
) -> None:
    """The registry's VJP for an IR node gives the finite-difference gradient."""
    llvm_exempt.if_kernel_free(case.op)
    if case.id == "cast-float64-identity":
        llvm_exempt.no_kernel("a cast to the same dtype is simplified away")
    arrays = case.make_inputs(rng)
    placeholders = [inp(k, a.shape, a.dtype.name) for k, a in enumerate(arrays)]
    node = case.build(*placeholders)
    assert node.op == case.op
    g = inp(len(arrays), node.shape, node.dtype)
    contributions = get(case.op).vjp(node, g)
    assert len(contributions) == len(arrays)
    wrt = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    for k, c in enumerate(contributions):
        assert (c is not None) == (k in wrt), f"input {k}: gradient presence is wrong"
    R = rng.standard_normal(node.shape)
    forward, *grads = run_ir(
        [*placeholders, g], [node, *(contributions[k] for k in wrt)], [*arrays, R]
    )
    np.testing.assert_allclose(forward, case.ref(*arrays), rtol=1e-12, atol=1e-12)
    for k, got in zip(wrt, grads, strict=True):
        fd = numeric_grad(loss_of(case.ref, R), arrays, k)
        np.testing.assert_allclose(got, fd, rtol=RTOL, atol=ATOL, err_msg=f"input {k}")


@pytest.mark.backend_independent
def test_every_differentiable_op_has_a_gradient_row() -> None:
    """A newly registered differentiable op fails here until it has a gradient row."""
    covered = {c.op for c in API_GRADS} | {c.op for c in IR_GRADS}
    wanted = {name for name, opdef in all_ops().items() if opdef.differentiable}
    missing = sorted(wanted - covered)
    assert not missing, f"differentiable ops without a gradient test: {missing}"


@pytest.mark.backend_independent
def test_cast_vjp_returns_gradient_in_source_dtype_and_none_from_integers(inp) -> None:
    """Casting float32 -> float64 sends the gradient back as float32; from int64, none."""
    g = inp(1, (2,), F64)
    (back,) = get("cast").vjp(make("cast", (inp(0, (2,), "float32"),), dtype=F64), g)
    assert back.dtype == "float32" and back.shape == (2,)
    (none,) = get("cast").vjp(make("cast", (inp(0, (2,), "int64"),), dtype=F64), g)
    assert none is None


@pytest.mark.llvm_no_kernel(reason="gather and scatter_add run on NumPy by design")
def test_gather_gradient_accumulates_repeated_rows() -> None:
    """``x[[0, 0, 2]]``: row 0 was read twice, so it gets twice the upstream gradient."""
    x = Tensor(np.ones((3, 2)), dtype=F64, requires_grad=True)
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2], [0, 0], [1, 1]])


# ------------------------------------------------------ conventions at the kinks
def _grads(fn: Callable[..., Tensor], *arrays: Any) -> list[np.ndarray]:
    xs = [Tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    fn(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


def test_maximum_tie_splits_gradient_in_half() -> None:
    """``maximum(a, b)`` where ``a == b``: each input gets 0.5 (PyTorch's convention)."""
    ga, gb = _grads(Tensor.maximum, [2.0, 1.0, 3.0], [2.0, 3.0, 1.0])
    np.testing.assert_array_equal(ga, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 1.0, 0.0])


def test_minimum_tie_splits_gradient_in_half() -> None:
    """``minimum(a, b)`` where ``a == b``: each input gets 0.5."""
    ga, gb = _grads(Tensor.minimum, [2.0, 1.0, 3.0], [2.0, 3.0, 1.0])
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 1.0])


def test_max_reduction_ties_share_gradient_evenly() -> None:
    """``max`` of [1, 3, 3, 2]: the two 3s get 1/2 each; along an axis, per row."""
    (g,) = _grads(lambda x: x.max(), [1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, 0.0])
    (g,) = _grads(lambda x: x.max(axis=1), [[3.0, 3.0, 3.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5]], rtol=1e-15)


def test_min_reduction_ties_share_gradient_evenly() -> None:
    """``min`` of [1, 3, 1, 2] along axis 0: the two 1s get 1/2 each."""
    (g,) = _grads(lambda x: x.min(axis=0), [1.0, 3.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5, 0.0])


def test_clip_passes_gradient_at_the_boundaries() -> None:
    """``clip(-0.5, 1)``: the gradient flows where ``-0.5 <= x <= 1``, boundaries included."""
    (g,) = _grads(lambda x: x.clip(-0.5, 1.0), [-1.0, -0.5, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    (g,) = _grads(lambda x: x.clip(min=0.0), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])
    (g,) = _grads(lambda x: x.clip(max=0.0), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0])


def test_relu_gradient_at_zero_is_zero() -> None:
    """relu'(0) = 0 (and 1 for positive, 0 for negative inputs)."""
    (g,) = _grads(Tensor.relu, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_abs_gradient_at_zero_is_zero() -> None:
    """abs'(0) = 0, the sign function's value there (as in PyTorch)."""
    (g,) = _grads(abs, [-2.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_pow_zero_exponent_and_zero_base_give_zero_not_nan() -> None:
    """``x**0`` has gradient 0 even at x = 0, and ``0**y`` (y >= 0) gives y no gradient."""
    (g,) = _grads(lambda x: x**0, [0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0])
    ga, gb = _grads(lambda a, b: a**b, [0.0, 0.0, 2.0], [0.0, 2.0, 0.0])
    np.testing.assert_array_equal(ga, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gb, [0.0, 0.0, np.log(2.0)])


def test_gelu_gradient_is_finite_for_huge_inputs() -> None:
    """GELU' is 1 far right and 0 far left, even where x**3 would overflow."""
    for dtype in ("float32", "float64"):
        x = Tensor([1e30, 1e20, 25.0, -25.0, -1e20, -1e30], dtype=dtype, requires_grad=True)
        x.gelu().sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 1, 0, 0, 0])
