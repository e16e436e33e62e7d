"""Building nodes: the one constructor every layer uses (frontend, autograd, passes).

:func:`make` looks the op up in the registry, runs its shape/dtype rule (so a bad shape fails
*now*, at the line that wrote the op) and stamps the node with the current source location.
The frontend sets that location to the user's ``file:line``; autograd sets it to the line of
the forward op whose gradient it is building, so backward kernels are attributed to the
forward line that caused them.

The short helpers below (``add``, ``mul``, ``where`` ...) exist so VJP rules and passes read
like the math they implement.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tinytorch.ir.errors import ShapeError
from tinytorch.ir.node import Node, Shape
from tinytorch.ir.registry import get

_state = threading.local()


def current_src() -> str | None:
    return getattr(_state, "src", None)


@contextmanager
def source(src: str | None) -> Iterator[None]:
    """Nodes built inside this block record ``src`` as their origin."""
    old = getattr(_state, "src", None)
    _state.src = src
    try:
        yield
    finally:
        _state.src = old


def swap_source(src: str | None) -> str | None:
    """Set the current source location and return the previous one: :func:`source` without
    a context manager's overhead, for loops that run once per node."""
    old = getattr(_state, "src", None)
    _state.src = src
    return old


def make(op: str, inputs: Sequence[Node], src: str | None = None, **attrs: Any) -> Node:
    """Build a node of a registered op, checking shapes and dtypes now."""
    opdef = get(op)
    if opdef.arity is not None and len(inputs) != opdef.arity:
        raise ShapeError(f"{op}: expects {opdef.arity} input(s), got {len(inputs)}")
    # (list comprehensions, not generators: make() runs for every node the program builds)
    shape, dtype = opdef.infer(
        tuple([i.shape for i in inputs]), tuple([i.dtype for i in inputs]), attrs
    )
    return Node(op, inputs, shape, dtype, attrs, src if src is not None else current_src())


# --------------------------------------------------------------------------- helpers
def const(value: float | int | bool, shape: Shape = (), dtype: str = "float32") -> Node:
    """A scalar literal, broadcast to ``shape``. Part of the graph's structure."""
    return make("const", (), value=value, shape=tuple(shape), dtype=dtype)


def full_like(node: Node, value: float | int | bool) -> Node:
    return const(value, node.shape, node.dtype)


def add(a: Node, b: Node) -> Node:
    return make("add", (a, b))


def sub(a: Node, b: Node) -> Node:
    return make("sub", (a, b))


def mul(a: Node, b: Node) -> Node:
    return make("mul", (a, b))


def div(a: Node, b: Node) -> Node:
    return make("div", (a, b))


def neg(a: Node) -> Node:
    return make("neg", (a,))


def scale(a: Node, c: float) -> Node:
    """``a * c`` for a Python number ``c``."""
    return mul(a, full_like(a, c))


def where(cond: Node, a: Node, b: Node) -> Node:
    return make("where", (cond, a, b))


def cast(a: Node, dtype: str) -> Node:
    return a if a.dtype == dtype else make("cast", (a,), dtype=dtype)


def reshape(a: Node, shape: Shape) -> Node:
    return a if a.shape == tuple(shape) else make("reshape", (a,), shape=tuple(shape))


def expand(a: Node, shape: Shape) -> Node:
    return a if a.shape == tuple(shape) else make("expand", (a,), shape=tuple(shape))


def permute(a: Node, perm: Sequence[int]) -> Node:
    perm = tuple(perm)
    return a if perm == tuple(range(a.ndim)) else make("permute", (a,), perm=perm)


def swap_last(a: Node) -> Node:
    """Swap the last two axes (the matrix transpose inside a batch)."""
    perm = list(range(a.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return permute(a, perm)


def reduce_sum(a: Node, axes: Sequence[int], keepdims: bool = False) -> Node:
    axes = tuple(axes)
    if not axes:
        return a
    return make("sum", (a,), axes=axes, keepdims=keepdims)


def sum_to_shape(a: Node, shape: Shape) -> Node:
    """Undo broadcasting: sum ``a`` over the axes that were broadcast to reach its shape.

    This is the "un-broadcasting" the book leaves implicit: the gradient of a bias of shape
    ``(out,)`` added to ``(batch, out)`` is the gradient summed over the batch.
    """
    shape = tuple(shape)
    if a.shape == shape:
        return a
    lead = a.ndim - len(shape)
    axes = list(range(lead))
    axes += [lead + i for i, d in enumerate(shape) if d == 1 and a.shape[lead + i] != 1]
    return reshape(reduce_sum(a, axes, keepdims=True), shape) if axes else reshape(a, shape)
