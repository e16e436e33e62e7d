"""Random programs: the four passes together never change what a graph computes.

Hypothesis writes small random graphs over one to three float32 inputs, mixing elementwise,
reduction and movement ops with the patterns the passes look for (constants such as 0, -0.0,
1, NaN and inf, twin expressions, reshapes of reshapes, identity permutes...). The optimized
graph must give the same answers as the original on random data that includes NaN, inf and
-0.0 (down to the sign of zeros), and each pass must be idempotent along the way.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinytorch.backends.numpy_backend import NumpyBackend
from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.printer import format_graph
from tinytorch.ir.shapes import broadcast_shapes
from tinytorch.passes.algebraic import AlgebraicSimplification
from tinytorch.passes.base import Pass, PassManager
from tinytorch.passes.constant_folding import ConstantFolding
from tinytorch.passes.cse import CommonSubexpressionElimination
from tinytorch.passes.dce import DeadCodeElimination

SPECIAL_VALUES = [0.0, -0.0, 1.0, 2.0, -1.5, float("nan"), float("inf")]
UNARY = ["neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
element_values = st.one_of(
    st.floats(-3, 3, width=32), st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan])
)


def pipeline() -> list[Pass]:
    return [
        ConstantFolding(),
        CommonSubexpressionElimination(),
        DeadCodeElimination(),
        AlgebraicSimplification(),
    ]


# ------------------------------------------------------------------ one random step each
def pick(draw, pool: list[Node]) -> Node:
    """Any node so far, though most often the newest, so that chains grow deep."""
    return draw(st.one_of(st.just(pool[-1]), st.sampled_from(pool)))


def unary(draw, pool: list[Node]) -> Node:
    return make(draw(st.sampled_from(UNARY)), (pick(draw, pool),))


def like(draw, b: Node, a: Node) -> Node:
    """``b`` made to fit an elementwise op with ``a``, as the frontend would: cast, then
    expand both to the broadcast shape, or else a constant shaped like ``a``."""
    b = B.cast(b, a.dtype)
    try:
        target = broadcast_shapes(a.shape, b.shape)
    except ShapeError:
        return B.full_like(a, draw(st.sampled_from(SPECIAL_VALUES)))
    return B.expand(b, target)


def binary(draw, pool: list[Node]) -> Node:
    a = pick(draw, pool)
    if draw(st.booleans()):
        b = B.full_like(a, draw(st.sampled_from(SPECIAL_VALUES)))
    else:
        b = pick(draw, pool)
    b = like(draw, b, a)
    a = like(draw, a, b)  # a may need expanding too, to b's broadcast shape
    a, b = (b, a) if draw(st.booleans()) else (a, b)
    return make(draw(st.sampled_from(BINARY)), (a, b))


def constant(draw, pool: list[Node]) -> Node:
    """A scalar expanded to a pool node's shape: constant folding's favourite."""
    shape = pick(draw, pool).shape
    return make("expand", (B.const(draw(st.sampled_from(SPECIAL_VALUES))),), shape=shape)


def reduce(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    axes = tuple(sorted(draw(st.sets(st.integers(0, max(x.ndim - 1, 0)), max_size=x.ndim))))
    op = draw(st.sampled_from(["sum", "max", "min"]))
    return make(op, (x,), axes=axes, keepdims=draw(st.booleans()))


def reshape(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    target = draw(st.sampled_from([(x.size,), x.shape, (1, *x.shape), x.shape[::-1]]))
    return make("reshape", (x,), shape=target)


def permute(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    return make("permute", (x,), perm=tuple(draw(st.permutations(range(x.ndim)))))


def expand(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    grown = tuple(draw(st.sampled_from([1, 2])) if d == 1 else d for d in x.shape)
    lead = draw(st.sampled_from([(), (2,)]))
    return make("expand", (x,), shape=lead + grown)


def slice_(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    choices = [
        draw(st.sampled_from([(0, d, 1), (d - 1, -1, -1), (0, d, 2), (d // 2, d, 1)]))
        for d in x.shape
    ]
    starts, stops, steps = (tuple(c[i] for c in choices) for i in range(3))
    return make("slice", (x,), starts=starts, stops=stops, steps=steps)


def cast(draw, pool: list[Node]) -> Node:
    x = pick(draw, pool)
    return make("cast", (x,), dtype=draw(st.sampled_from(["float32", "float64"])))


def select(draw, pool: list[Node]) -> Node:
    """``where(a > b, a, b)``: a bool condition in the middle of float math."""
    a = pick(draw, pool)
    b = like(draw, pick(draw, pool), a)
    a = like(draw, a, b)
    return B.where(make("gt", (a, b)), a, b)


def concat(draw, pool: list[Node]) -> Node:
    """Two same-shaped nodes joined along an axis (of two constants: a non-uniform value)."""
    a = pick(draw, pool)
    b = like(draw, pick(draw, pool), a)
    a = like(draw, a, b)
    if a.ndim == 0:
        a, b = B.reshape(a, (1,)), B.reshape(b, (1,))
    return make("concat", (a, b), axis=draw(st.integers(0, a.ndim - 1)))


def twin(draw, pool: list[Node]) -> Node:
    """A structural copy of an existing computation: work for CSE."""
    computed = [n for n in pool if n.inputs]
    if not computed:
        return unary(draw, pool)
    n = draw(st.sampled_from(computed))
    return n.with_inputs(n.inputs)


STEPS = [
    unary,
    binary,
    constant,
    reduce,
    reshape,
    permute,
    expand,
    slice_,
    cast,
    select,
    concat,
    twin,
]


@st.composite
def programs(draw) -> tuple[Graph, list[np.ndarray]]:
    """A random graph and one array per input."""
    inputs = [
        make("input", (), index=k, shape=draw(shapes), dtype="float32")
        for k in range(draw(st.integers(1, 3)))
    ]
    pool = list(inputs)
    for _ in range(draw(st.integers(3, 14))):
        pool.append(draw(st.sampled_from(STEPS))(draw, pool))
    outputs = [pool[-1], *draw(st.lists(st.sampled_from(pool), max_size=2))]
    data = [draw(arrays(np.float32, x.shape, elements=element_values)) for x in inputs]
    return Graph(inputs, outputs), data


def run(graph: Graph, data: list[np.ndarray]) -> list[np.ndarray]:
    return NumpyBackend().compile(graph).run(data)


@settings(max_examples=200, deadline=None)
@given(programs())
def test_optimized_random_graphs_compute_the_same_values(program):
    """Run the pipeline through the PassManager (which verifies after every pass) and
    compare answers with the unoptimized graph. Along the way, each pass run a second time
    changes nothing, and no pass ever adds nodes."""
    graph, data = program
    optimized = PassManager(pipeline()).run(graph)

    step = graph
    for p in pipeline():
        new, _ = p.run(step)
        again, changed_again = p.run(new)
        assert not changed_again, f"{p.name} is not idempotent"
        assert format_graph(again) == format_graph(new)
        assert len(new) <= len(step), f"{p.name} added nodes"
        step = new
    assert format_graph(step) == format_graph(optimized)

    for got, want in zip(run(optimized, data), run(graph, data), strict=True):
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
        numbers = ~np.isnan(want)  # -0.0 and 0.0 are equal to allclose, not to 1 / x
        np.testing.assert_array_equal(np.signbit(got[numbers]), np.signbit(want[numbers]))
