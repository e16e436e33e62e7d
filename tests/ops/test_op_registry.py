"""The registry's contract, checked for every registered op on a sample node.

* every op has a sample here (so a new op fails until it is added);
* ``cost`` returns two non-negative Python ints;
* the NumPy kernel returns exactly the shape and dtype the shape rule promised;
* a VJP returns one entry per input, each ``None`` or a node of that input's shape/dtype;
* registration refuses incomplete definitions, and shape rules refuse bad inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.ir.build import make
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.node import Node
from tinytorch.ir.registry import OpDef, RegistryError, all_ops, get, register

# The registry's own facts (shape rules, costs, VJP shapes, NumPy kernels): no backend runs.
pytestmark = pytest.mark.backend_independent


def _in(k: int, shape: tuple, dtype: str = "float32") -> Node:
    return make("input", (), index=k, shape=shape, dtype=dtype)


def _buffer() -> Node:
    node = make("buffer", (), shape=(2, 3), dtype="float32")
    node.meta["value"] = np.ones((2, 3), np.float32)
    return node


X = (3, 4)


def _unary(op: str) -> Callable[[], Node]:
    return lambda: make(op, (_in(0, X),))


def _binary(op: str) -> Callable[[], Node]:
    return lambda: make(op, (_in(0, X), _in(1, X)))


SAMPLES: dict[str, Callable[[], Node]] = {
    "buffer": _buffer,
    "input": lambda: _in(0, X),
    "const": lambda: make("const", (), value=1.5, shape=X, dtype="float32"),
    **{
        op: _unary(op)
        for op in ("neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "abs")
    },
    **{
        op: _binary(op)
        for op in (
            "add",
            "sub",
            "mul",
            "div",
            "pow",
            "maximum",
            "minimum",
            "lt",
            "le",
            "gt",
            "ge",
            "eq",
            "ne",
        )
    },
    "where": lambda: make("where", (_in(0, X, "bool"), _in(1, X), _in(2, X))),
    "clip": lambda: make("clip", (_in(0, X),), lo=-0.5, hi=0.5),
    "cast": lambda: make("cast", (_in(0, X),), dtype="int32"),
    "gather": lambda: make("gather", (_in(0, X), _in(1, (2, 5), "int64")), axis=1),
    "scatter_add": lambda: make(
        "scatter_add", (_in(0, (3, 2, 5)), _in(1, (2, 5), "int64")), axis=1, size=4
    ),
    "matmul": lambda: make("matmul", (_in(0, (2, 3, 4)), _in(1, (2, 4, 5)))),
    "quantize": lambda: make("quantize", (_in(0, X), _in(1, X), _in(2, X, "int32"))),
    "dequantize": lambda: make("dequantize", (_in(0, X, "int8"), _in(1, X), _in(2, X, "int32"))),
    "int8_matmul": lambda: make(
        "int8_matmul", (_in(0, X, "int8"), _in(1, (5, 4), "int8"), _in(2, (), "int32")), layout="nk"
    ),
    "kv_cache_write": lambda: make(
        "kv_cache_write", (_in(0, (1, 2, 6, 3)), _in(1, (1, 2, 2, 3)), _in(2, (1,), "int64"))
    ),
    "reshape": lambda: make("reshape", (_in(0, X),), shape=(2, 6)),
    "permute": lambda: make("permute", (_in(0, (2, 3, 4)),), perm=(2, 0, 1)),
    "expand": lambda: make("expand", (_in(0, (3, 1)),), shape=(2, 3, 4)),
    "slice": lambda: make("slice", (_in(0, X),), starts=(2, 0), stops=(-1, 4), steps=(-1, 2)),
    "slice_scatter": lambda: make(
        "slice_scatter", (_in(0, (3, 2)),), shape=X, starts=(2, 0), stops=(-1, 4), steps=(-1, 2)
    ),
    "concat": lambda: make("concat", (_in(0, (2, 4)), _in(1, (3, 4)), _in(2, (1, 4))), axis=0),
    "sum": lambda: make("sum", (_in(0, (2, 3, 4)),), axes=(0, 2), keepdims=False),
    "max": lambda: make("max", (_in(0, (2, 3, 4)),), axes=(1,), keepdims=True),
    "min": lambda: make("min", (_in(0, (2, 3, 4)),), axes=(0, 1, 2), keepdims=False),
    "argmax": lambda: make("argmax", (_in(0, (2, 3, 4)),), axis=1, keepdims=False),
    "windows": lambda: make(
        "windows",
        (_in(0, (2, 3, 5, 5)),),
        kernel=(3, 3),
        stride=(2, 2),
        padding=(1, 1),
        pad_value=0.0,
    ),
    "fold": lambda: make(
        "fold",
        (_in(0, (3, 3, 2, 3, 3, 3)),),
        shape=(2, 3, 5, 5),
        kernel=(3, 3),
        stride=(2, 2),
        padding=(1, 1),
    ),
}
OPS = sorted(all_ops())


def _arrays_for(node: Node, rng: np.random.Generator) -> list[np.ndarray]:
    """Valid data for each input of ``node``: indices in range, positive floats."""
    arrays = []
    for i in node.inputs:
        if i.dtype == "bool":
            arrays.append(rng.random(i.shape) < 0.5)
        elif node.op == "kv_cache_write" and i is node.inputs[2]:  # a row that fits
            arrays.append(np.array([1], dtype=i.dtype))
        elif i.dtype.startswith("int"):
            if "axis" not in node.attrs and "size" not in node.attrs:  # not indices: any ints
                arrays.append(rng.integers(-100, 100, i.shape).astype(i.dtype))
                continue
            bound = node.attrs.get("size") or node.inputs[0].shape[node.attrs["axis"]]
            arrays.append(rng.integers(0, bound, i.shape).astype(i.dtype))
        else:
            arrays.append(rng.uniform(0.5, 2.0, i.shape).astype(i.dtype))
    return arrays


def test_every_registered_op_has_a_sample_node() -> None:
    """A newly registered op fails here until it has an entry in SAMPLES."""
    missing = sorted(set(OPS) - set(SAMPLES))
    assert not missing, f"ops without a sample node: {missing}"


@pytest.mark.parametrize("op", OPS)
def test_cost_is_two_nonnegative_ints(op: str) -> None:
    """``cost(node)`` is ``(flops, bytes)``, both Python ints >= 0."""
    node = SAMPLES[op]()
    cost = get(op).cost(node)
    assert isinstance(cost, tuple) and len(cost) == 2
    for value in cost:
        assert type(value) is int and value >= 0, f"{op}: cost {cost}"


@pytest.mark.parametrize("op", [op for op in OPS if op != "input"])
def test_kernel_returns_declared_shape_and_dtype(op: str, rng: np.random.Generator) -> None:
    """The NumPy kernel honours the shape rule exactly (no backend cast needed)."""
    node = SAMPLES[op]()
    out = np.asarray(get(op).numpy(node, *_arrays_for(node, rng)))
    assert (out.shape, out.dtype.name) == (node.shape, node.dtype)


def test_input_placeholder_kernel_refuses_to_run() -> None:
    """``input`` nodes are bound by the backend, never executed as kernels."""
    with pytest.raises(RuntimeError, match="bound by the backend"):
        get("input").numpy(SAMPLES["input"]())


@pytest.mark.parametrize("op", [op for op in OPS if all_ops()[op].differentiable])
def test_vjp_gives_one_gradient_per_input_of_matching_shape(op: str) -> None:
    """``vjp(node, g)`` returns, per input, ``None`` or a node of the input's shape/dtype."""
    node = SAMPLES[op]()
    g = _in(99, node.shape, node.dtype)
    grads = get(op).vjp(node, g)
    assert len(grads) == len(node.inputs)
    assert any(gr is not None for gr in grads)
    for x, gr in zip(node.inputs, grads, strict=True):
        if gr is not None:
            assert (gr.shape, gr.dtype) == (x.shape, x.dtype), f"{op}: {gr} for input {x}"
        else:
            assert not x.dtype.startswith("float") or op == "where"


def test_differentiable_flag_matches_presence_of_a_vjp() -> None:
    """Ops declared non-differentiable have no VJP; all others have one."""
    for name, opdef in all_ops().items():
        assert opdef.differentiable == (opdef.vjp is not None), name


def test_leaves_are_arity_zero_and_not_differentiable() -> None:
    """``buffer``, ``input`` and ``const`` take no inputs and have no gradient rule."""
    for name in ("buffer", "input", "const"):
        opdef = get(name)
        assert (opdef.kind, opdef.arity, opdef.differentiable) == ("leaf", 0, False)


@pytest.mark.parametrize(
    ("op", "name"),
    [
        ("add", "AddBackward"),
        ("matmul", "MatmulBackward"),
        ("relu", "ReLUBackward"),
        ("concat", "CatBackward"),
        ("gather", "EmbeddingBackward"),
        ("slice_scatter", "SliceScatterBackward"),
        ("buffer", "AccumulateGrad"),
    ],
)
def test_backward_names_follow_the_book(op: str, name: str) -> None:
    """``grad_fn`` names: ``add`` -> ``AddBackward``, with the book's special cases."""
    assert get(op).backward_name == name


def test_comparisons_and_argmax_results_do_not_require_grad() -> None:
    """Bool and integer results never track gradients, even from a tracked input."""
    x = Tensor([1.0, -2.0], requires_grad=True)
    assert not (x > 0).requires_grad
    assert not x.argmax().requires_grad
    assert (x * 2).requires_grad


# ------------------------------------------------------------------ registering
def _opdef(**kw: object) -> OpDef:
    base = dict(
        name="test_only_op",
        kind="elementwise",
        infer=lambda s, d, a: (s[0], d[0]),
        numpy=lambda n, x: x,
        vjp=lambda n, g: (g,),
    )
    base.update(kw)
    return OpDef(**base)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"name": "add"}, "registered twice"),
        ({"vjp": None}, "has no VJP"),
        ({"kind": "pointwise"}, "kind"),
        ({"numpy": None}, "no numpy rule"),
        ({"infer": None}, "no infer rule"),
    ],
    ids=["duplicate", "no-vjp", "bad-kind", "no-kernel", "no-shape-rule"],
)
def test_incomplete_definitions_fail_at_registration(kw: dict, match: str) -> None:
    """An op missing a piece (or registered twice) is refused, and nothing is registered."""
    before = all_ops()
    with pytest.raises(RegistryError, match=match):
        register(_opdef(**kw))
    assert all_ops() == before


def test_non_differentiable_op_needs_no_vjp() -> None:
    """``differentiable=False`` is the explicit way to register an op without a VJP."""
    opdef = _opdef(name="test_only_nondiff", vjp=None, differentiable=False)
    from tinytorch.ir import registry

    try:
        register(opdef)
        assert get("test_only_nondiff") is opdef
    finally:
        registry._REGISTRY.pop("test_only_nondiff", None)


# ----------------------------------------------------------------- shape rules
def _bad(op: str, inputs: Callable[[], tuple], exc: type, **attrs: object) -> tuple:
    return op, inputs, attrs, exc


BAD = {
    "add-shapes": _bad("add", lambda: (_in(0, (2, 3)), _in(1, (3, 2))), ShapeError),
    "add-dtypes": _bad("add", lambda: (_in(0, X), _in(1, X, "float64")), DTypeError),
    "exp-int": _bad("exp", lambda: (_in(0, X, "int64"),), DTypeError),
    "neg-bool": _bad("neg", lambda: (_in(0, X, "bool"),), DTypeError),
    "arity": _bad("add", lambda: (_in(0, X),), ShapeError),
    "matmul-inner": _bad("matmul", lambda: (_in(0, (2, 3)), _in(1, (2, 2))), ShapeError),
    "matmul-batch": _bad("matmul", lambda: (_in(0, (2, 2, 3)), _in(1, (3, 3, 2))), ShapeError),
    "matmul-1d": _bad("matmul", lambda: (_in(0, (3,)), _in(1, (3, 2))), ShapeError),
    "where-cond-float": _bad("where", lambda: (_in(0, X), _in(1, X), _in(2, X)), DTypeError),
    "where-cond-shape": _bad(
        "where", lambda: (_in(0, (1, 4), "bool"), _in(1, X), _in(2, X)), ShapeError
    ),
    "reshape-size": _bad("reshape", lambda: (_in(0, X),), ShapeError, shape=(5, 2)),
    "reshape-negative": _bad("reshape", lambda: (_in(0, X),), ShapeError, shape=(-1, 12)),
    "permute-repeat": _bad("permute", lambda: (_in(0, X),), ShapeError, perm=(0, 0)),
    "expand-incompatible": _bad("expand", lambda: (_in(0, (3, 2)),), ShapeError, shape=(3, 4)),
    "expand-fewer-dims": _bad("expand", lambda: (_in(0, (1, 3)),), ShapeError, shape=(3,)),
    "slice-zero-step": _bad(
        "slice", lambda: (_in(0, X),), ShapeError, starts=(0, 0), stops=(3, 4), steps=(0, 1)
    ),
    "slice-rank": _bad(
        "slice", lambda: (_in(0, X),), ShapeError, starts=(0,), stops=(3,), steps=(1,)
    ),
    "slice_scatter-fit": _bad(
        "slice_scatter",
        lambda: (_in(0, (2, 2)),),
        ShapeError,
        shape=X,
        starts=(0, 0),
        stops=(3, 4),
        steps=(1, 1),
    ),
    "concat-mismatch": _bad("concat", lambda: (_in(0, (2, 3)), _in(1, (2, 4))), ShapeError, axis=0),
    "concat-dtypes": _bad(
        "concat", lambda: (_in(0, (2, 3)), _in(1, (2, 3), "float64")), DTypeError, axis=0
    ),
    "concat-axis-range": _bad("concat", lambda: (_in(0, (2, 3)),), ShapeError, axis=2),
    "concat-0d": _bad("concat", lambda: (_in(0, ()),), ShapeError, axis=0),
    "sum-unnormalised-axes": _bad(
        "sum", lambda: (_in(0, X),), ValueError, axes=(-1,), keepdims=False
    ),
    "max-empty-axis": _bad("max", lambda: (_in(0, (0, 3)),), ValueError, axes=(0,), keepdims=False),
    "argmax-bool": _bad("argmax", lambda: (_in(0, X, "bool"),), DTypeError, axis=0, keepdims=False),
    "argmax-empty-axis": _bad(
        "argmax", lambda: (_in(0, (0, 3)),), ValueError, axis=0, keepdims=False
    ),
    "argmax-empty-all": _bad(
        "argmax", lambda: (_in(0, (0, 3)),), ValueError, axis=None, keepdims=False
    ),
    "argmax-unnormalised-axis": _bad(
        "argmax", lambda: (_in(0, X),), ValueError, axis=-1, keepdims=False
    ),
    "gather-float-index": _bad("gather", lambda: (_in(0, X), _in(1, (2,))), DTypeError, axis=0),
    "gather-axis": _bad("gather", lambda: (_in(0, X), _in(1, (2,), "int64")), ShapeError, axis=2),
    "scatter_add-fit": _bad(
        "scatter_add", lambda: (_in(0, (3, 2)), _in(1, (2,), "int64")), ShapeError, axis=0, size=4
    ),
    "cast-unknown-dtype": _bad("cast", lambda: (_in(0, X),), DTypeError, dtype="complex64"),
    "const-unknown-dtype": _bad("const", lambda: (), DTypeError, value=1, shape=(), dtype="str"),
}


@pytest.mark.parametrize(("op", "inputs", "attrs", "exc"), BAD.values(), ids=BAD.keys())
def test_shape_rule_refuses_bad_inputs_when_the_node_is_built(
    op: str, inputs: Callable[[], tuple], attrs: dict, exc: type
) -> None:
    """Bad shapes/dtypes/attrs fail in ``make`` (at the user's line), with typed errors."""
    with pytest.raises(exc):
        make(op, inputs(), **attrs)
