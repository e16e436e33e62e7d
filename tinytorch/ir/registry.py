"""The op registry: the single place where an operation is defined.

An :class:`OpDef` carries everything every layer needs to know about one op:

* ``infer``  — the shape/dtype rule, run when a node is built (so errors surface at the
  user's line) and again by the verifier after every pass;
* ``numpy``  — the reference kernel: the NumPy backend interprets it, and a compiling backend
  runs it for any op it does not compile;
* ``vjp``    — the reverse-mode rule, which *emits IR* (autograd is a graph transform);
* ``kind``   — the pattern the fusion pass reasons about (elementwise, broadcast, injective,
  reduce, opaque, leaf);
* ``cost``   — flops and bytes, read by the profiler to report GFLOP/s and GB/s;
* ``effectful`` — whether passes must keep, and never reorder or merge, the node.

Registering checks that nothing is missing: an op without a kernel, a shape rule, or a VJP
(unless explicitly declared non-differentiable) fails at import, not when first used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tinytorch.ir.dtypes import itemsize
from tinytorch.ir.node import Node, Shape

KINDS = ("leaf", "elementwise", "broadcast", "injective", "reduce", "opaque")

InferFn = Callable[[Sequence[Shape], Sequence[str], dict[str, Any]], tuple[Shape, str]]
KernelFn = Callable[..., Any]  # (node, *arrays) -> ndarray
VjpFn = Callable[[Node, Node], Sequence["Node | None"]]
CostFn = Callable[[Node], tuple[int, int]]


class RegistryError(RuntimeError):
    """An op definition is incomplete or registered twice."""


def nbytes(node: Node) -> int:
    """Bytes of the node's output."""
    return node.size * itemsize(node.dtype)


def default_cost(flops_per_element: int = 1) -> CostFn:
    """Cost of an op that touches every input once and writes its output once."""

    def cost(node: Node) -> tuple[int, int]:
        moved = nbytes(node) + sum(nbytes(i) for i in node.inputs)
        return flops_per_element * node.size, moved

    return cost


@dataclass(frozen=True)
class OpDef:
    name: str
    kind: str
    infer: InferFn
    numpy: KernelFn
    vjp: VjpFn | None = None
    differentiable: bool = True
    cost: CostFn = field(default_factory=default_cost)
    grad_name: str | None = None
    arity: int | None = None  # None: any number of inputs
    effectful: bool = False
    doc: str = ""

    @property
    def backward_name(self) -> str:
        """The book's ``*Backward`` name shown on ``grad_fn`` (``add`` -> ``AddBackward``)."""
        if self.grad_name:
            return self.grad_name
        return "".join(p.capitalize() for p in self.name.split("_")) + "Backward"


_REGISTRY: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    """Add an op. Incomplete definitions fail here, at import time."""
    if opdef.name in _REGISTRY:
        raise RegistryError(f"op {opdef.name!r} is registered twice")
    if opdef.kind not in KINDS:
        raise RegistryError(f"op {opdef.name!r}: kind {opdef.kind!r} is not one of {KINDS}")
    for what in ("infer", "numpy", "cost"):
        if not callable(getattr(opdef, what)):
            raise RegistryError(f"op {opdef.name!r} has no {what} rule")
    if opdef.differentiable and opdef.vjp is None:
        raise RegistryError(
            f"op {opdef.name!r} has no VJP; give one or declare differentiable=False"
        )
    _REGISTRY[opdef.name] = opdef
    return opdef


def get(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RegistryError(f"unknown op {name!r}") from None


def all_ops() -> dict[str, OpDef]:
    """A snapshot of every registered op, by name."""
    return dict(_REGISTRY)
