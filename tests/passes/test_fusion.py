"""Fusion: which nodes become one kernel, and why (each decision is printable)."""

from __future__ import annotations

from textwrap import dedent

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.backends import available_backends, get_backend
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir import build as B
from tinytorch.ir.build import make
from tinytorch.ir.dot import to_dot
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.families import is_view
from tinytorch.ir.graph import Capture, Graph
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get
from tinytorch.ir.shapes import broadcast_shapes
from tinytorch.passes.fusion import Fusion, fusion_report, is_fusable


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def fuse(check_pass):
    """``fuse(graph)`` runs the pass through the contract every pass keeps (same NumPy
    values, idempotent, input untouched), checks the shape every fused graph must have
    (:func:`assert_well_formed`) and returns the fused graph."""

    def run(graph: Graph) -> Graph:
        new, _ = check_pass(Fusion(), graph)
        assert_well_formed(graph, new)
        return new

    return run


def placeholder(index: int, shape, dtype: str = "float32") -> Node:
    """The ``inp`` fixture, for the graph builders below that are not tests."""
    return make("input", (), index=index, shape=tuple(shape), dtype=dtype)


def kernels(graph: Graph) -> dict[int, list[Node]]:
    """Kernel number -> members, in graph order."""
    out: dict[int, list[Node]] = {}
    for n in graph.nodes:
        if "group" in n.meta:
            out.setdefault(n.meta["group"], []).append(n)
    return out


def ops(graph: Graph) -> list[list[str]]:
    """Each kernel's ops, in graph order: ``[["mul", "sum"], ...]``."""
    return [[m.op for m in members] for _, members in sorted(kernels(graph).items())]


def reason(graph: Graph, op: str) -> str:
    """The fusion reason of the only node of ``op``."""
    (n,) = [n for n in graph.nodes if n.op == op]
    return n.meta["fusion"]


def convex(graph: Graph, members: list[Node]) -> bool:
    """No path leaves the group and comes back into it: nothing reachable from a member
    through a node outside the group is a member."""
    inside = {id(m) for m in members}
    users = graph.users()
    todo = [u for m in members for u in users.get(id(m), []) if id(u) not in inside]
    seen: set[int] = set()
    while todo:
        v = todo.pop()
        if id(v) in inside:
            return False
        if id(v) not in seen:
            seen.add(id(v))
            todo += users.get(id(v), [])
    return True


def assert_well_formed(before: Graph, graph: Graph) -> None:
    """What every fused graph promises, whatever the rules decided:

    * groups are convex, so kernels can run in some order;
    * each group has exactly one member read outside it or returned (its root), and it is
      the group's last member in graph order (where the backends look for it);
    * no group is made only of views; effectful and non-fusable ops are in no group;
    * leaves are never annotated, every other node has a reason, and the graph the pass
      was given is left without annotations.
    """
    users = graph.users()
    outputs = {id(o) for o in graph.outputs}
    for k, members in kernels(graph).items():
        inside = {id(m) for m in members}
        assert convex(graph, members), f"kernel {k} is not convex"
        roots = [
            m for m in members if id(m) in outputs or any(id(u) not in inside for u in users[id(m)])
        ]
        assert roots == [members[-1]], f"kernel {k}: roots {roots}, members {members}"
        assert any(not is_view(m.op) for m in members), f"kernel {k} is only views"
        assert all(is_fusable(m) and not get(m.op).effectful for m in members)
    for n in graph.nodes:
        if n.is_leaf:
            assert "group" not in n.meta and "fusion" not in n.meta, n
        else:
            assert n.meta["fusion"], n
    for n in before.nodes:
        assert "group" not in n.meta and "fusion" not in n.meta, "the input graph was annotated"


def softmax_graph(shape=(4, 8)) -> Graph:
    """``softmax(x)`` over the last axis, written as the frontend writes it."""
    x = placeholder(0, shape)
    m = make("max", (x,), axes=(len(shape) - 1,), keepdims=True)
    e = make("exp", (B.sub(x, B.expand(m, shape)),))
    s = make("sum", (e,), axes=(len(shape) - 1,), keepdims=True)
    return Graph([x], [B.div(e, B.expand(s, shape))])


def captured(*tensors: Tensor) -> Graph:
    return Capture([t._node for t in tensors]).graph()


# ------------------------------------------------------------ elementwise chains
def test_gelu_of_an_affine_map_is_one_kernel(fuse, inp):
    """``gelu(x*a + b)`` with a scalar ``a`` and a per-column ``b``: one kernel, broadcasts
    included (they are index arithmetic)."""
    x, a, b = inp(0, (4, 8)), inp(1, ()), inp(2, (8,))
    y = make("gelu", (B.add(B.mul(x, B.expand(a, (4, 8))), B.expand(b, (4, 8))),))
    new = fuse(Graph([x, a, b], [y]))
    assert ops(new) == [["expand", "mul", "expand", "add", "gelu"]]
    assert reason(new, "gelu") == "root: graph output, materialized"
    assert reason(new, "mul") == "fused: all its readers are in this kernel"


def test_the_frontends_gelu_of_an_affine_map_is_one_kernel(fuse):
    """The same program through the Tensor API."""
    from tinytorch.core.activations import GELU

    x = Tensor(np.ones((4, 8), dtype=np.float32))
    a, b = Tensor(np.float32(2.0)), Tensor(np.ones(8, dtype=np.float32))
    new = fuse(captured(GELU()(x * a + b)))
    assert len(kernels(new)) == 1
    assert all("group" in n.meta for n in new.nodes if not n.is_leaf)


# --------------------------------------------------------------------- reductions
def test_elementwise_producers_fuse_into_a_reduction(fuse, inp):
    """``sum(x*x)``: the square is computed inside the reduction's loop, never stored."""
    x = inp(0, (4, 8))
    new = fuse(Graph([x], [make("sum", (B.mul(x, x),), axes=(0, 1), keepdims=False)]))
    assert ops(new) == [["mul", "sum"]]


def test_softmax_over_the_last_axis_is_one_kernel(fuse):
    """max, subtract, exp, sum, divide: one kernel that per row runs two reduction loops
    and a last loop writing the result."""
    new = fuse(softmax_graph())
    assert ops(new) == [["max", "expand", "sub", "exp", "sum", "expand", "div"]]
    assert reason(new, "sum") == "fused: reduction over axes (1,) of [4,8], read per row"


def test_the_frontends_softmax_is_one_kernel(fuse):
    """``Tensor.softmax`` over the last axis of a 3-d tensor."""
    x = Tensor(np.ones((2, 3, 5), dtype=np.float32))
    new = fuse(captured(x.softmax(dim=-1)))
    assert len(kernels(new)) == 1


def test_mean_var_normalize_over_the_last_axis_is_one_kernel(fuse):
    """Layer normalisation's statistics and the normalisation itself: one kernel."""
    x = Tensor(np.ones((4, 8), dtype=np.float32))
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    new = fuse(captured((x - mean) / (var + 1e-5).sqrt()))
    (members,) = kernels(new).values()
    assert [m.op for m in members].count("sum") == 2
    assert all("group" in n.meta for n in new.nodes if not n.is_leaf)


def test_a_reduction_over_the_broadcast_axes_fuses_into_its_reader(fuse, inp):
    """``x - x.sum(axis=0)`` and ``x - x.sum()``: the sum is broadcast back over exactly the
    axes it reduced (new leading axes count), so each is one kernel."""
    x = inp(0, (4, 8))
    col = make("sum", (x,), axes=(0,), keepdims=False)  # (8,), read as [i, j] -> j
    total = make("sum", (x,), axes=(0, 1), keepdims=False)  # (), read everywhere
    new = fuse(Graph([x], [B.sub(x, B.expand(col, (4, 8)))]))
    assert ops(new) == [["sum", "expand", "sub"]]
    new = fuse(Graph([x], [B.sub(x, B.expand(total, (4, 8)))]))
    assert ops(new) == [["sum", "expand", "sub"]]


def test_a_reduction_read_at_other_rows_is_materialized(fuse, inp):
    """Row sums of a square ``x`` broadcast over axis 0 (``s[j]`` read at ``[i, j]``): the
    kernel has one accumulator per row, so ``s`` is computed first, by its own kernel."""
    x = inp(0, (3, 3))
    s = make("sum", (x,), axes=(1,), keepdims=False)
    new = fuse(Graph([x], [B.add(x, B.expand(s, (3, 3)))]))
    assert ops(new) == [["sum"], ["expand", "add"]]
    assert reason(new, "sum") == (
        "root: reduction of [3,3] over axes (1,), read at other rows: "
        "%2 expand broadcasts over axes (0,)"
    )


def test_a_transpose_after_the_broadcast_would_read_other_rows(fuse, inp):
    """``(x - x.sum(axis=1, keepdims=True)).T`` of a square ``x``: element ``[i, j]`` of the
    transpose needs row ``j``'s sum while the kernel holds row ``i``'s, so the sum is
    materialized (fusing it gave transposed results on the LLVM backend)."""
    x = inp(0, (3, 3))
    s = make("sum", (x,), axes=(1,), keepdims=True)
    new = fuse(Graph([x], [B.permute(B.sub(x, B.expand(s, (3, 3))), (1, 0))]))
    assert ops(new) == [["sum"], ["expand", "sub", "permute"]]
    assert reason(new, "sum") == (
        "root: reduction of [3,3] over axes (1,), read at other rows: "
        "%4 permute moves its elements to other rows"
    )


def test_a_reduction_over_another_iteration_space_is_materialized(fuse, inp):
    """Column sums of ``x`` (4, 3) added, as a column, to ``y`` (3, 5): the reader's kernel
    loops over (3, 5), which is neither ``x``'s shape nor a row of it."""
    x, y = inp(0, (4, 3)), inp(1, (3, 5))
    s = make("sum", (x,), axes=(0,), keepdims=False)
    new = fuse(Graph([x, y], [B.add(y, B.expand(B.reshape(s, (3, 1)), (3, 5)))]))
    assert ops(new) == [["sum"], ["reshape", "expand", "add"]]
    assert reason(new, "sum") == (
        "root: reduction of [4,3] over axes (0,); its readers' kernel iterates over [3,5], "
        "neither that input nor its rows"
    )


def test_a_kernel_holds_reductions_over_one_set_of_axes(fuse, inp):
    """Centre the columns, then sum the rows: two reductions over different axes of the
    same tensor are two kernels."""
    x = inp(0, (4, 8))
    col = make("sum", (x,), axes=(0,), keepdims=True)
    centred = B.sub(x, B.expand(col, (4, 8)))
    new = fuse(Graph([x], [make("sum", (make("exp", (centred,)),), axes=(1,), keepdims=True)]))
    assert ops(new) == [["sum"], ["expand", "sub", "exp", "sum"]]
    col_sum = next(n for n in new.nodes if n.op == "sum")
    assert col_sum.meta["fusion"] == (
        "root: reduction of [4,8] over axes (0,); its readers' kernel already reduces [4,8] "
        "over axes (1,)"
    )


def test_row_statistics_fuse_whatever_reads_the_result_outside(fuse, inp):
    """``sum(x, axis=1) * 0.5`` is returned and also transposed: the transpose reads the
    materialized result, so it does not stop the sum fusing with the scaling."""
    x = inp(0, (4, 8))
    half = B.scale(make("sum", (x,), axes=(1,), keepdims=True), 0.5)
    new = fuse(Graph([x], [half, B.permute(half, (1, 0))]))
    assert ops(new) == [["sum", "mul"]]
    assert reason(new, "permute") == "view only: no data moves, stays a NumPy view"


# ------------------------------------------------------------------- ops alone
def test_matmul_runs_alone_and_its_bias_and_relu_form_one_kernel(fuse, inp):
    """``relu(x @ w + b)``: the matmul goes to BLAS; the epilogue is one kernel."""
    x, w, b = inp(0, (4, 3)), inp(1, (3, 5)), inp(2, (5,))
    y = make("relu", (B.add(make("matmul", (x, w)), B.expand(b, (4, 5))),))
    new = fuse(Graph([x, w, b], [y]))
    assert ops(new) == [["expand", "add", "relu"]]
    assert reason(new, "matmul") == "opaque op: runs alone (BLAS)"


def test_gather_concat_and_argmax_run_alone(inp):
    """Index-driven ops are not fused; what they read is materialized for them."""
    x, idx = inp(0, (4, 3)), inp(1, (2,), "int64")
    e = make("exp", (x,))
    g = Graph(
        [x, idx],
        [
            make("gather", (e, idx), axis=0),
            make("concat", (x, make("neg", (x,))), axis=0),
            make("argmax", (x,), axis=1, keepdims=False),
        ],
    )
    new, _ = Fusion().run(g)
    assert_well_formed(g, new)
    assert ops(new) == [["exp"], ["neg"]]
    assert reason(new, "gather") == "opaque op: not fused, runs alone"
    assert reason(new, "concat") == "injective op: not fused, runs alone"
    assert reason(new, "argmax") == "argmax is not fused: runs alone"
    assert reason(new, "exp") == "root: materialized, read by %3 gather (outside kernels)"


def test_effectful_ops_are_never_fused(fuse, effectful, inp):
    """Pretend ``exp`` draws random numbers: it runs alone, and its input and its reader
    are separate kernels on either side of it."""
    effectful("exp")
    x = inp(0, (4,))
    new = fuse(Graph([x], [make("relu", (make("exp", (B.scale(x, 2.0),)),))]))
    assert ops(new) == [["mul"], ["relu"]]
    assert reason(new, "exp") == "effectful: never fused, runs alone"
    assert reason(new, "mul") == "root: materialized, read by %3 exp (outside kernels)"


def test_a_group_of_views_only_is_dissolved(fuse, inp):
    """A transpose of a matmul's result moves no data: it stays a NumPy view."""
    x = inp(0, (2, 3))
    new = fuse(Graph([x], [B.permute(make("matmul", (x, B.permute(x, (1, 0)))), (1, 0))]))
    assert kernels(new) == {}
    assert [n.meta["fusion"] for n in new.nodes if n.op == "permute"] == [
        "view only: no data moves, stays a NumPy view"
    ] * 2


# ------------------------------------------------------------ materialization
def test_a_value_read_by_two_kernels_is_materialized_once(fuse, inp):
    """``e = exp(x)`` read by ``e + 1`` and by ``sum(e * 2)``: ``e`` is computed once, by
    its own kernel, and the reason names both readers."""
    x = inp(0, (4, 8))
    e = make("exp", (x,))
    g = Graph(
        [x],
        [
            B.add(e, B.const(1.0, (4, 8))),
            make("sum", (B.scale(e, 2.0),), axes=(1,), keepdims=False),
        ],
    )
    new = fuse(g)
    assert ops(new) == [["exp"], ["add"], ["mul", "sum"]]
    assert reason(new, "exp") == (
        "root: materialized, read by %3 add (kernel 1), %5 mul (kernel 2)"
    )


def test_a_graph_output_is_materialized_even_when_a_kernel_reads_it(fuse, inp):
    """``e = exp(x)`` is returned and ``relu(e)`` too: two kernels, ``e`` stored once."""
    x = inp(0, (4,))
    e = make("exp", (x,))
    new = fuse(Graph([x], [e, make("relu", (e,))]))
    assert ops(new) == [["exp"], ["relu"]]
    assert reason(new, "exp") == "root: graph output, materialized"


def test_fusing_through_an_outside_op_would_make_a_cycle(fuse, inp):
    """``a = exp(x); out = a + a @ w``: putting ``exp`` in the add's kernel would make the
    kernel feed the matmul that feeds it, so ``a`` is materialized first."""
    x, w = inp(0, (3, 3)), inp(1, (3, 3))
    a = make("exp", (x,))
    new = fuse(Graph([x, w], [B.add(a, make("matmul", (a, w)))]))
    assert ops(new) == [["exp"], ["add"]]
    assert reason(new, "exp") == (
        "root: materialized, read by %3 matmul (outside kernels), %4 add (kernel 1)"
    )


def test_a_dead_node_is_its_own_kernel(inp):
    """A node nothing reads (the DCE pass would remove it) still gets a reason."""
    x = inp(0, (2,))
    dead = make("exp", (x,))
    live = make("relu", (x,))
    new, _ = Fusion().run(Graph([x], [live], [x, dead, live]))
    assert reason(new, "exp") == "root: no readers (dead code)"


# --------------------------------------------------------- pass contract details
def test_annotations_land_on_copies_and_a_second_run_changes_nothing(inp):
    """The given graph (and the constant leaf it shares with others) is never annotated;
    running the pass on its own result returns that result unchanged."""
    x = inp(0, (4,))
    one = B.const(1.0, (4,))
    g = Graph([x], [make("exp", (B.add(x, one),))])
    new, changed = Fusion().run(g)
    assert changed
    assert all(not n.meta.keys() & {"group", "fusion"} for n in [*g.nodes, one])
    assert one in new.nodes
    again, changed_again = Fusion().run(new)
    assert not changed_again
    assert again is new


def test_annotations_follow_their_nodes_when_inputs_are_not_listed_first():
    """A captured graph may list a constant chain before an input: each annotation still
    goes to the node it was decided for."""
    x = Tensor(np.ones(3, dtype=np.float32))
    g = captured((Tensor(2.0) * 3).exp() + x)
    assert [n.op for n in g.nodes][:3] != ["input", "input", "const"]
    new, _ = Fusion().run(g)
    assert_well_formed(g, new)
    for old, n in zip(g.nodes, new.nodes, strict=True):
        assert (old.op, old.shape) == (n.op, n.shape)
    assert ops(new) == [["mul", "exp", "expand", "add"]]


def test_numpy_gives_the_same_results_before_and_after_fusion(run, same_values):
    """The NumPy backend ignores groups: a fused softmax computes what the unfused one does."""
    g = softmax_graph((3, 5))
    new, _ = Fusion().run(g)
    data = [np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)]
    (want,), (got,) = run(g, data), run(new, data)
    same_values(got, want)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)


# ----------------------------------------------------------------- the report
def test_the_fusion_report_of_softmax():
    """One kernel, its ops, the node it writes, and a reason per node (no user lines)."""
    new, _ = Fusion().run(softmax_graph())
    assert fusion_report(new, show_src=False) == dedent("""\
        1 fused kernel(s), 0 op(s) outside kernels
        kernel 0 -> %7 float32[4,8]: max expand sub exp sum expand div
          %1 max    float32[4,1]  fused: reduction over axes (1,) of [4,8], read per row
          %2 expand float32[4,8]  fused: a view, index arithmetic in the kernel
          %3 sub    float32[4,8]  fused: all its readers are in this kernel
          %4 exp    float32[4,8]  fused: all its readers are in this kernel
          %5 sum    float32[4,1]  fused: reduction over axes (1,) of [4,8], read per row
          %6 expand float32[4,8]  fused: a view, index arithmetic in the kernel
          %7 div    float32[4,8]  root: graph output, materialized""")


def test_the_report_names_nodes_as_the_printed_graph_does_and_lists_ops_alone(inp, text):
    """``%k`` in the report is ``%k`` in :func:`format_graph`; ops outside kernels are
    listed with their reasons; user lines appear by default."""
    x, w = inp(0, (2, 3)), inp(1, (3, 2))
    with B.source("/home/me/train.py:12"):
        y = make("relu", (make("matmul", (x, w)),))
    new, _ = Fusion().run(Graph([x, w], [y]))
    assert "%2 = matmul(%0, %1)" in text(new)
    assert fusion_report(new) == dedent("""\
        1 fused kernel(s), 1 op(s) outside kernels
        kernel 0 -> %3 float32[2,2]: relu
          %3 relu   float32[2,2] train.py:12  root: graph output, materialized
        outside kernels:
          %2 matmul float32[2,2] train.py:12  opaque op: runs alone (BLAS)""")


def test_the_report_says_when_fusion_has_not_run(inp):
    """A graph that never went through the pass has no decisions to show."""
    x = inp(0, (2,))
    report = fusion_report(Graph([x], [make("exp", (x,))]))
    assert "has the fusion pass run on this graph?" in report


def test_dot_draws_one_cluster_per_kernel(fuse, inp):
    """``relu(x @ w + b)`` and a softmax of it: two kernels, two clusters; the matmul is
    drawn outside them."""
    x, w, b = inp(0, (4, 3)), inp(1, (3, 5)), inp(2, (5,))
    h = make("relu", (B.add(make("matmul", (x, w)), B.expand(b, (4, 5))),))
    m = make("max", (h,), axes=(1,), keepdims=True)
    e = make("exp", (B.sub(h, B.expand(m, (4, 5))),))
    s = make("sum", (e,), axes=(1,), keepdims=True)
    new = fuse(Graph([x, w, b], [h, B.div(e, B.expand(s, (4, 5)))]))
    source = to_dot(new).source
    assert len(kernels(new)) == 2
    assert source.count("subgraph cluster_") == 2
    assert 'label="kernel 0"' in source and 'label="kernel 1"' in source


# ------------------------------------------------------------- random graphs
UNARY = ["neg", "exp", "tanh", "relu", "abs", "sigmoid"]
BINARY = ["add", "sub", "mul", "maximum"]


def _pick(draw, pool: list[Node]) -> Node:
    return draw(st.one_of(st.just(pool[-1]), st.sampled_from(pool)))


def _fit(b: Node, a: Node) -> Node:
    """``b`` expanded to the broadcast shape of ``a`` and ``b``, or else a constant."""
    try:
        return B.expand(b, broadcast_shapes(a.shape, b.shape))
    except ShapeError:
        return B.full_like(a, 0.5)


def _unary(draw, pool):
    return make(draw(st.sampled_from(UNARY)), (_pick(draw, pool),))


def _binary(draw, pool):
    a, b = _pick(draw, pool), _pick(draw, pool)
    b = _fit(b, a)
    a = _fit(a, b)
    return make(draw(st.sampled_from(BINARY)), (a, b))


def _reduce(draw, pool):
    x = _pick(draw, pool)
    axes = tuple(sorted(draw(st.sets(st.integers(0, max(x.ndim - 1, 0)), max_size=x.ndim))))
    return make(draw(st.sampled_from(["sum", "max", "min"])), (x,), axes=axes,
                keepdims=draw(st.booleans()))  # fmt: skip


def _normalize(draw, pool):
    """``x - reduce(x)`` broadcast back: the softmax/layer-norm pattern."""
    x = _pick(draw, pool)
    if x.ndim == 0:
        return _unary(draw, pool)
    axes = tuple(sorted(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
    keep = draw(st.booleans())
    r = make(draw(st.sampled_from(["sum", "max"])), (x,), axes=axes, keepdims=keep)
    if not keep:
        r = B.reshape(r, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return B.sub(x, B.expand(r, x.shape))


def _view(draw, pool):
    x = _pick(draw, pool)
    kind = draw(st.sampled_from(["reshape", "permute", "expand", "slice"]))
    if kind == "reshape":
        return make("reshape", (x,), shape=draw(st.sampled_from([(x.size,), (1, *x.shape)])))
    if kind == "permute":
        return make("permute", (x,), perm=tuple(draw(st.permutations(range(x.ndim)))))
    if kind == "expand":
        return make("expand", (x,), shape=(2, *(2 if d == 1 else d for d in x.shape)))
    starts = tuple(d // 2 for d in x.shape)
    return make("slice", (x,), starts=starts, stops=x.shape, steps=(1,) * x.ndim)


def _matmul(draw, pool):
    """``a @ a.T`` for a 2-d ``a``: ``a`` gets two readers, one of them opaque."""
    two_d = [n for n in pool if n.ndim == 2]
    if not two_d:
        return _unary(draw, pool)
    a = draw(st.sampled_from(two_d))
    return make("matmul", (a, B.permute(a, (1, 0))))


STEPS = [_unary, _binary, _reduce, _normalize, _view, _matmul]


@st.composite
def programs(draw) -> Graph:
    shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
    inputs = [placeholder(k, draw(shapes)) for k in range(draw(st.integers(1, 3)))]
    pool: list[Node] = list(inputs)
    for _ in range(draw(st.integers(2, 12))):
        pool.append(draw(st.sampled_from(STEPS))(draw, pool))
    outputs = [pool[-1], *draw(st.lists(st.sampled_from(pool[len(inputs) :]), max_size=2))]
    return Graph(inputs, outputs)


@settings(max_examples=150, deadline=None)
@given(programs())
def test_random_graphs_fuse_into_convex_single_root_groups(fuse, graph):
    """Whatever the program: convex groups with one root each, no view-only groups, no
    annotated leaves, the same NumPy values, and a second run changes nothing."""
    fuse(graph)


@settings(max_examples=100, deadline=None)
@given(programs())
def test_random_fused_graphs_compute_the_same_as_llvm_kernels(graph):
    """The groups are kernels the LLVM backend can compute: one accumulator per reduction
    per row, read only at its row. (NumPy ignores groups, so only a compiled kernel shows a
    group that reads a reduction at the wrong row.) Values beyond 1e30 are not compared: a
    last-bit difference there may become inf."""
    if "llvm" not in available_backends():
        pytest.skip("the llvm backend is not available")
    new, _ = Fusion().run(graph)
    rng = np.random.default_rng(0)
    data = [rng.uniform(-2, 2, i.shape).astype(np.float32) for i in new.inputs]
    with np.errstate(all="ignore"):
        want = get_backend("numpy").compile(new).run(data)
        got = get_backend("llvm").compile(new).run(data)
    for a, b in zip(got, want, strict=True):
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
        ok = np.isfinite(a) & np.isfinite(b) & (np.abs(a) < 1e30) & (np.abs(b) < 1e30)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-4, atol=1e-5)
