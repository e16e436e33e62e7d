"""Run a piece of model code once and keep everything the compiler can tell about the run.

The profiler never guesses from layer types. It runs the code, realizes what the code
returns, and reads what the runtime already knows:

* every **kernel** the backend ran (``tinytorch.profile()``'s hook): its member ops and user
  lines, time, flops from the op registry's cost rules, and the bytes it moved;
* every **compiled plan** the run used (the realize listener), from which the memory the run
  needed is replayed (:func:`replay_memory`).

Memory model (what :class:`MemoryUse` reports, all in bytes):

* ``parameters``: the model's parameter arrays, at their real dtype (an int8 weight counts one
  byte per element);
* ``inputs``: other arrays the plan reads that existed before the run (the input batch);
* ``activations``: the most bytes of the plan's *own* buffers alive at one time. The plan's
  steps are replayed in run order: a step that stores a result allocates ``size * itemsize``,
  a view (reshape, transpose, slice, expand) or a constant (a broadcast scalar) allocates
  nothing, a view keeps its base alive, and a buffer is released after its last reader
  (results returned to the caller are kept).
  On the llvm backend a fused kernel stores only its result (its members' values live in
  registers), so fusion shows up here as less memory, as it does in the machine;
* ``peak``: ``parameters + inputs + activations``, the high-water mark of the run;
* ``allocated``: the sum of every buffer the plan allocated (memory traffic for the
  allocator, whether or not the buffers were alive together).

The replay counts what the compiled plan asks for, not what the Python allocator happens to
do (NumPy temporaries inside one kernel, freed-list reuse), so it is exact for a given plan
and the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.ir.families import is_view
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get, nbytes
from tinytorch.runtime.profiler import KernelRecord, NodeRecord, profile
from tinytorch.runtime.realize import Plan, set_realize_listener


@dataclass
class MemoryUse:
    """Bytes a run needed (see the module docstring for what each field counts)."""

    parameters: int = 0
    inputs: int = 0
    activations: int = 0
    outputs: int = 0
    allocated: int = 0
    buffers: int = 0

    @property
    def peak(self) -> int:
        return self.parameters + self.inputs + self.activations


@dataclass
class Recording:
    """One recorded run: its kernels, per-node records and memory."""

    kernels: list[KernelRecord] = field(default_factory=list)
    nodes: list[NodeRecord] = field(default_factory=list)
    memory: MemoryUse = field(default_factory=MemoryUse)
    result: Any = None

    @property
    def flops(self) -> int:
        """Every flop the run executed, by the registry's cost rules."""
        return sum(k.flops for k in self.kernels)

    @property
    def contraction_flops(self) -> int:
        """Flops of the heavy ops the backends hand to BLAS-like kernels (matmul, the GEMM of
        a convolution): the registry's ``opaque`` ops, 2 per multiply-accumulate."""
        return sum(r.flops for r in self.nodes if get(r.op).kind == "opaque")

    @property
    def bytes(self) -> int:
        """Memory traffic of all kernels (each kernel's reads from outside plus its write)."""
        return sum(k.bytes for k in self.kernels)

    @property
    def kernel_seconds(self) -> float:
        return sum(k.seconds for k in self.kernels)


def tensors_in(value: Any) -> list[Tensor]:
    """The tensors in a model's return value (a Tensor, or tuples/lists/dicts of them)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in tensors_in(item)]
    return []


def record(fn: Callable[[], Any], parameters: Iterable[Tensor] = ()) -> Recording:
    """Run ``fn()``, realize the tensors it returns, and record kernels and memory."""
    param_nodes = {id(p._node): p for p in parameters}
    rec = Recording()
    runs: list[tuple[Plan, list[Node]]] = []

    def listen(plan, backend, sources, outputs, arrays) -> None:
        runs.append((plan, list(sources)))
        if previous is not None:
            previous(plan, backend, sources, outputs, arrays)

    previous = set_realize_listener(listen)
    try:
        with profile() as prof:
            rec.result = fn()
            outs = tensors_in(rec.result)
            if outs:
                realize(*outs)
    finally:
        set_realize_listener(previous)
    rec.kernels, rec.nodes = prof.kernels, prof.records
    rec.memory = MemoryUse(parameters=sum(_tensor_bytes(p) for p in param_nodes.values()))
    for plan, sources in runs:
        use = replay_memory(plan, sources, set(param_nodes))
        rec.memory.inputs = max(rec.memory.inputs, use.inputs)
        rec.memory.activations = max(rec.memory.activations, use.activations)
        rec.memory.outputs += use.outputs
        rec.memory.allocated += use.allocated
        rec.memory.buffers += use.buffers
    return rec


def _tensor_bytes(t: Tensor) -> int:
    return int(t.size) * t.dtype.itemsize


def _base(node: Node) -> Node:
    while is_view(node.op) and node.inputs:
        node = node.inputs[0]
    return node


def replay_memory(plan: Plan, sources: list[Node], parameter_ids: set[int]) -> MemoryUse:
    """Replay one plan's buffer steps: bytes allocated, and the most alive at once."""
    graph = plan.graph
    use = MemoryUse()
    for graph_input, source in zip(graph.inputs, sources, strict=True):
        if id(source) not in parameter_ids:
            use.inputs += nbytes(graph_input)
    own: dict[int, int] = {}  # base node id -> bytes, for buffers this plan allocated
    holders: dict[int, int] = {}  # base node id -> stored nodes still holding it
    live = peak = 0
    for stored, dropped in plan.executable.buffer_steps():
        base = _base(stored)
        if base is stored and base.op not in ("input", "const"):  # a const is a broadcast
            own[id(base)] = nbytes(base)
            holders[id(base)] = 0
            live += own[id(base)]
            use.allocated += own[id(base)]
            use.buffers += 1
        if id(base) in holders:
            holders[id(base)] += 1
        peak = max(peak, live)
        for node in dropped:
            key = id(_base(node))
            if key in holders:
                holders[key] -= 1
                if holders[key] <= 0:
                    live -= own.pop(key)
                    del holders[key]
    use.activations = peak
    use.outputs = sum(nbytes(o) for o in graph.outputs if id(_base(o)) in own)
    return use
