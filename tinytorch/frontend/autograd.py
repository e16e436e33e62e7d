"""Autograd as a graph transform (book Module 05).

``loss.backward()`` does not compute anything. It walks the lazy graph from ``loss`` back to
the tensors that require gradients and, for each op, asks the registry's VJP rule to *emit
IR* for the input gradients. Each tensor's ``.grad`` becomes a lazy tensor in the same graph;
reading it (or ``optimizer.step()``) realizes forward and backward together, through the same
passes and fusion as any other graph.

The book's surface stays: ``requires_grad``, ``.grad`` (a Tensor), ``backward(gradient=None)``
with its error for non-scalars, accumulation across calls and across shared uses,
``zero_grad()``, ``enable_autograd()`` and the ``*Backward`` names on ``grad_fn``. As in the
book's own implementation, every live tensor on the path receives a ``.grad``, not only
leaves. ``no_grad()`` is added, as PyTorch users expect.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from tinytorch.frontend.dtypes import is_float
from tinytorch.frontend.tensor_type import tensor_class
from tinytorch.ir import build as B
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.graph import topo_order
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get
from tinytorch.runtime.realize import observe, realize

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


@contextmanager
def no_grad() -> Iterator[None]:
    """Ops inside build graphs that autograd will not differentiate (for evaluation)."""
    old = is_grad_enabled()
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = old


@contextmanager
def enable_grad() -> Iterator[None]:
    old = is_grad_enabled()
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = old


def enable_autograd(quiet: bool = False) -> None:
    """The book's switch (Module 05). Here gradients are part of the graph compiler and
    always available, so this only confirms it (``quiet=True`` prints nothing)."""
    if not quiet:
        print(
            "Autograd enabled: tinytorch builds gradients as graph transforms "
            "(always on; use tinytorch.no_grad() to turn tracking off)."
        )


# ---------------------------------------------------------------- grad_fn view
class Function:
    """The book's view of "the op that made this tensor": ``y.grad_fn`` is an instance of a
    subclass named ``AddBackward``, ``MatmulBackward``...

    ``saved_tensors`` are the tensors the user passed to the op (``x`` and ``bias`` in
    ``x + bias``), and ``apply(grad_output)`` computes their gradients right now, as NumPy
    arrays of *their* shapes (``None`` for inputs that need no gradient). The nodes the
    frontend added in between (broadcasts, casts, the steps of ``softmax``) are walked
    through, so a composite op looks like one function, as in the book.
    """

    def __init__(self, node: Node) -> None:
        self._node = node

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        Tensor = tensor_class()

        out = []
        for p in _user_inputs(self._node):
            ref = p.meta.get("tensor")
            tensor = ref() if ref is not None else None
            out.append(tensor if tensor is not None else Tensor._view_of(p))
        return tuple(out)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grad_output: Any) -> tuple[np.ndarray | None, ...]:
        Tensor = tensor_class()

        g = Tensor(grad_output, dtype=self._node.dtype)
        if g.shape != self._node.shape:
            raise ShapeError(
                f"{self.name()}.apply: grad_output has shape {g.shape}, the "
                f"op's output has shape {self._node.shape}"
            )
        inputs = _user_inputs(self._node)
        grads = _backprop(self._node, g._node, targets={id(i) for i in inputs})
        nodes = [grads.get(id(i)) for i in inputs]
        realize([n for n in nodes if n is not None])
        out: list[np.ndarray | None] = []
        for n in nodes:  # ``a + b`` gives both inputs one gradient node: copy the second
            value = None if n is None else n.value
            shared = value is not None and any(value is v for v in out)
            out.append(value.copy() if shared else value)
        return tuple(out)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


_FUNCTION_CLASSES: dict[str, type[Function]] = {}


def function_class(name: str) -> type[Function]:
    """The ``Function`` subclass called ``name`` (made once, so ``isinstance`` works)."""
    if name not in _FUNCTION_CLASSES:
        _FUNCTION_CLASSES[name] = type(name, (Function,), {"__module__": __name__})
    return _FUNCTION_CLASSES[name]


def grad_fn_of(node: Node) -> Function | None:
    if node.is_leaf or not node.meta.get("requires_grad", False):
        return None
    name = node.meta.get("grad_label") or get(node.op).backward_name
    return function_class(name)(node)


# ------------------------------------------------------------- the transform
def _tracks(node: Node, memo: dict[int, bool]) -> bool:
    """Does gradient flow into ``node``? Tensors record it; nodes the frontend built in
    between (casts, broadcasts) inherit it from their inputs."""
    if "requires_grad" in node.meta:
        return node.meta["requires_grad"]
    if id(node) not in memo:
        memo[id(node)] = (
            is_float(node.dtype)
            and get(node.op).differentiable
            and any(_tracks(i, memo) for i in node.inputs)
        )
    return memo[id(node)]


def _user_inputs(node: Node) -> list[Node]:
    """The nodes of the tensors the user passed to the op that built ``node``."""
    return list(node.meta.get("parents", node.inputs))


def _backprop(
    root: Node,
    seed: Node,
    targets: set[int] | frozenset[int] = frozenset(),
    visit: Callable[[Node, Node], None] | None = None,
) -> dict[int, Node]:
    """Push the gradient ``seed`` of ``root`` back through every node gradient flows into,
    in reverse topological order, emitting VJP nodes. ``visit(node, grad)`` sees each
    node's total gradient. The walk stops at the nodes in ``targets``; returns the
    gradients that arrived there (by ``id``)."""
    memo: dict[int, bool] = {}
    order = topo_order([root], stop=lambda n: id(n) in targets or not _tracks(n, memo))
    grads: dict[int, Node] = {id(root): seed}
    for n in reversed(order):
        if id(n) in targets:
            continue
        g = grads.pop(id(n), None)
        if g is None or not _tracks(n, memo):
            continue
        if visit is not None:
            visit(n, g)
        if n.is_leaf:
            continue
        # VJP nodes record the forward op's line (what ``B.source`` does, without a
        # context manager's overhead: this runs for every node of every backward pass).
        outer = B.swap_source(n.src)
        try:
            contributions = get(n.op).vjp(n, g)
        finally:
            B.swap_source(outer)
        for i, gi in zip(n.inputs, contributions, strict=True):
            if gi is None or not _tracks(i, memo):
                continue
            if gi.dtype != i.dtype:
                gi = B.cast(gi, i.dtype)
            grads[id(i)] = B.add(grads[id(i)], gi) if id(i) in grads else gi
    return grads


def backward(root: Tensor, gradient: Any = None) -> None:
    """Append the backward graph of ``root`` and accumulate into every live tensor's
    ``.grad``. Nothing is computed until a gradient is read."""
    Tensor = tensor_class()

    node = root._node
    if not root.requires_grad:
        raise RuntimeError(
            "backward() called on a tensor that does not require grad: no tensor it was "
            "computed from has requires_grad=True (or it was built under no_grad())"
        )
    if gradient is None:
        if root.size != 1:
            raise ValueError(
                f"backward() requires gradient for non-scalar tensors (this tensor has shape "
                f"{root.shape}); pass gradient=... of that shape, or reduce it first"
            )
        seed = B.const(1.0, node.shape, node.dtype)
    else:
        g = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=node.dtype)
        if g.shape != root.shape:
            raise ShapeError(
                f"backward(): gradient has shape {g.shape} but the tensor has shape {root.shape}"
            )
        seed = B.cast(g._node, node.dtype)

    def accumulate(n: Node, g: Node) -> None:
        ref = n.meta.get("tensor")
        tensor = ref() if ref is not None else None
        if tensor is not None:
            tensor._accumulate_grad(g)

    _backprop(node, seed, visit=accumulate)


def record_op(node: Node, parents: Sequence[Tensor], label: str | None = None) -> None:
    """Remember, for ``grad_fn``, which user tensors the op read (each once, so ``x * x``
    saves ``x`` once and ``apply`` returns its whole gradient) and, when the node's own op
    is not the book's name for it (``mean`` ends in a ``mul``), that name."""
    if len(parents) == 1:
        p_node = parents[0]._node
        p_node.meta["read"] = True  # a pending op reads it: see Tensor.data's snapshot
        node.meta["parents"] = (p_node,)
    else:
        unique: dict[int, Node] = {}
        for p in parents:
            unique.setdefault(id(p._node), p._node)
            p._node.meta["read"] = True
        node.meta["parents"] = tuple(unique.values())
    if label is not None:
        node.meta["grad_label"] = label


def register_tensor(node: Node, tensor: Tensor) -> None:
    """Let backward() find the tensor that owns ``node`` (weakly: no lifetime extension)."""
    node.meta["tensor"] = weakref.ref(tensor)
    observe(node, tensor)
