"""The tape of a compiled step: what one traced call did, and how to do it again.

:class:`Recorder` collects, while ``fn`` runs lazily under :func:`tinytorch.compile`, every
realization (the plan that ran and where each input came from), every rebinding of a
tensor's data, every ``.grad`` assigned, every fresh value and every Python effect (the
hooks of :mod:`tinytorch.frontend.tracing` land here). :meth:`Recorder.finalize` turns that
into a :class:`Tape`: a list of steps that :meth:`Tape.replay` runs on new arguments, with no
op built and no graph captured. See :mod:`tinytorch.frontend.compile` for the guarantees.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.frontend import tracing
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.node import Node
from tinytorch.runtime.realize import Plan, run_plan

TraceError = tracing.TraceError

# Where a plan's input comes from at replay.
ARG, SLOT, STATE, GRAD, CONST = range(5)
Source = tuple[int, Any]


# ------------------------------------------------------------------ the tape
class _Realize:
    """One recorded realization: a plan, its inputs' sources, its outputs' slots."""

    __slots__ = ("plan", "backend", "sources", "outputs", "slots")

    def __init__(self, plan: Plan, backend: str, sources, outputs, slots) -> None:
        self.plan, self.backend, self.sources = plan, backend, sources
        self.outputs, self.slots = outputs, slots

    def run(self, args: list[np.ndarray], slots: list[Any]) -> None:
        inputs = [_fetch(src, args, slots) for src in self.sources]
        arrays = run_plan(self.plan, self.backend, self.outputs, inputs)
        for s, a in zip(self.slots, arrays, strict=True):
            slots[s] = a


def _fetch(src: Source, args: list[np.ndarray], slots: list[Any]) -> np.ndarray:
    kind, what = src
    if kind == SLOT:
        return slots[what]
    if kind == ARG:
        return args[what]
    if kind == STATE:
        return value_of(what)
    if kind == GRAD:
        grad = what._grad
        if grad is None:
            raise TraceError(
                "a compiled step read a gradient that was cleared since it was traced "
                "(call zero_grad() inside the step, or in the same place every time)"
            )
        return value_of(grad)
    return what  # CONST


def value_of(t: Tensor) -> np.ndarray:
    value = t._node.meta.get("value")
    return value if value is not None else t._realize()


class Tape:
    """The replayable recording of one trace: events in order, then results."""

    def __init__(self, steps, n_slots, result, grads, guards, key) -> None:
        self.steps = steps  # callables (args, slots) -> None, in recorded order
        self.n_slots = n_slots
        self.result = result  # structure of the return value, with Sources at the leaves
        self.grads = grads  # (tensor, Source | None): final .grad of every touched tensor
        self.guards = guards  # (weakref to obj, attr, value)
        self.key = key

    def guards_hold(self) -> str | None:
        """None if every guard still holds, else why not."""
        for ref, attr, value in self.guards:
            obj = ref()
            if obj is None:
                return f"an object the step used ({attr}) no longer exists"
            if attr == "grad":  # (a Recorder.grad_set guard: was .grad empty?)
                if (obj._grad is None) != value:
                    return "a gradient the step adds to was " + (
                        "empty when traced and is not now" if value else "cleared since"
                    )
            elif getattr(obj, attr, None) != value:
                return f"{type(obj).__name__}.{attr} changed from {value!r}"
        return None

    def replay(self, args: list[np.ndarray]) -> Any:
        slots: list[Any] = [None] * self.n_slots
        for step in self.steps:
            step(args, slots)
        for tensor, src in self.grads:
            tensor._grad = None if src is None else Tensor._of_array(_fetch(src, args, slots))
        return _rebuild(self.result, lambda src: Tensor._of_array(_fetch(src, args, slots)))


def _rebuild(structure: Any, make: Callable[[Source], Any]) -> Any:
    kind = structure[0]
    if kind == "tensor":
        return make(structure[1])
    if kind == "seq":
        return structure[1](_rebuild(s, make) for s in structure[2])
    if kind == "dict":
        return {k: _rebuild(s, make) for k, s in structure[1]}
    return structure[1]  # a plain Python value, returned as traced


# ----------------------------------------------------------------- recording
class Recorder:
    """Collects what one traced call does (the hooks of :mod:`tracing` land here)."""

    def __init__(self, name: str, arg_nodes: dict[int, int]) -> None:
        self.name = name
        self.arg_nodes = arg_nodes
        self.events: list[tuple] = []
        self.created_ids: set[int] = set()
        self.grad_tensors: dict[int, tuple[Tensor, Node | None]] = {}
        self.guards: dict[tuple[int, str], tuple[weakref.ref, str, Any]] = {}
        self.keep: list[Any] = []  # nodes whose ids are used as keys stay alive

    # hooks --------------------------------------------------------------
    def fresh(self, make: Callable[[], Any], dtype: Any, node: Node) -> None:
        self.events.append(("fresh", make, dtype, node))

    def effect(self, fn: Callable[[], None]) -> None:
        self.events.append(("effect", fn))

    def guard(self, obj: Any, attr: str) -> None:
        if (id(obj), attr) not in self.guards:
            self.guards[(id(obj), attr)] = (weakref.ref(obj), attr, getattr(obj, attr, None))

    def created(self, node: Node) -> None:
        self.created_ids.add(id(node))
        self.keep.append(node)

    def rebound(self, tensor: Tensor, old_node: Node) -> None:
        self.events.append(("rebind", tensor, old_node, tensor._node))

    def grad_set(self, tensor: Tensor, accumulate: bool) -> None:
        if id(tensor) not in self.grad_tensors:
            before = tensor._grad._node if tensor._grad is not None else None
            self.grad_tensors[id(tensor)] = (tensor, before)
            node = tensor._node
            if accumulate and node.is_leaf and id(node) not in self.created_ids:
                # The step adds to what .grad of a tensor from outside holds, or starts it
                # if empty: two different programs, so whether it was empty is a guard.
                # (Tensors the step makes itself start empty at every call.)
                self.guards[(id(tensor), "grad")] = (weakref.ref(tensor), "grad", before is None)

    def on_realize(self, plan, backend, sources, outputs, arrays) -> None:
        owners = []
        for n in sources:
            ref = n.meta.get("tensor")
            owner = ref() if ref is not None else None
            owners.append(owner if owner is not None and owner._node is n else None)
        self.events.append(("realize", plan, backend, list(sources), owners, outputs, arrays))

    # the tape -------------------------------------------------------------
    def finalize(self, result: Any, key: tuple) -> Tape:
        rebound = {id(e[1]) for e in self.events if e[0] == "rebind"}
        prior_grads = {
            id(before): t for t, before in self.grad_tensors.values() if before is not None
        }
        where: dict[int, Source] = {}  # node id -> its source from here on
        by_array: dict[int, int] = {}  # id(array) -> slot, for rebinding to a result
        steps: list[Callable] = []
        n_slots = 0

        def resolve(n: Node, owner: Tensor | None) -> Source:
            if id(n) in where:
                return where[id(n)]
            if id(n) in self.arg_nodes:
                return (ARG, self.arg_nodes[id(n)])
            if id(n) in prior_grads:
                return (GRAD, prior_grads[id(n)])
            if owner is not None and (id(n) not in self.created_ids or id(owner) in rebound):
                return (STATE, owner)
            return (CONST, n.meta["value"])

        for event in self.events:
            kind = event[0]
            if kind == "fresh":
                _, make, dtype, node = event
                slot, n_slots = n_slots, n_slots + 1
                where[id(node)] = (SLOT, slot)
                steps.append(_fresh_step(make, dtype, slot))
            elif kind == "effect":
                fn = event[1]
                steps.append(lambda args, slots, fn=fn: fn())
            elif kind == "realize":
                _, plan, backend, sources, owners, outputs, arrays = event
                srcs = [resolve(n, o) for n, o in zip(sources, owners, strict=True)]
                out_slots = list(range(n_slots, n_slots + len(outputs)))
                n_slots += len(outputs)
                for node, array, slot in zip(outputs, arrays, out_slots, strict=True):
                    where[id(node)] = (SLOT, slot)
                    by_array[id(array)] = slot
                steps.append(_Realize(plan, backend, srcs, list(outputs), out_slots).run)
            else:  # rebind
                _, tensor, old_node, new_node = event
                old_slot, n_slots = n_slots, n_slots + 1
                where[id(old_node)] = (SLOT, old_slot)
                array = new_node.meta["value"]
                src = (SLOT, by_array[id(array)]) if id(array) in by_array else (CONST, array)
                where[id(new_node)] = src
                steps.append(_rebind_step(tensor, src, old_slot))

        def describe(value: Any) -> Any:
            if isinstance(value, Tensor):
                return ("tensor", resolve(value._node, value))
            if isinstance(value, (tuple, list)):
                return ("seq", type(value), [describe(v) for v in value])
            if isinstance(value, dict):
                return ("dict", [(k, describe(v)) for k, v in value.items()])
            return ("value", value)

        grads = []
        for tensor, _ in self.grad_tensors.values():
            g = tensor._grad
            grads.append((tensor, None if g is None else resolve(g._node, g)))
        guards = list(self.guards.values())
        return Tape(steps, n_slots, describe(result), grads, guards, key)


def _fresh_step(make: Callable[[], Any], dtype: Any, slot: int) -> Callable:
    def step(args: list, slots: list) -> None:
        slots[slot] = np.asarray(make(), dtype=dtype)

    return step


def _rebind_step(tensor: Tensor, src: Source, old_slot: int) -> Callable:
    def step(args: list, slots: list) -> None:
        slots[old_slot] = value_of(tensor)
        tensor.data = _fetch(src, args, slots)

    return step
