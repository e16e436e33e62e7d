"""``realize()``: turn lazy nodes into arrays.

    capture -> plan cache lookup -> (on a miss: passes, then backend.compile) -> run -> bind

1. **Capture** the computation behind the requested nodes, cut at data that already exists.
2. **Look up** a compiled plan by (backend, its config, the pass pipeline, graph signature).
   A training loop builds the same graph every step, so from the second step on this skips
   all passes and compilation and only binds new buffers.
3. On a miss, run the pass pipeline (verified after every pass, dumped when asked) and let
   the backend compile the result. Cache it.
4. **Run** it on the captured inputs' arrays; store each result in its node's
   ``meta["value"]``, where later graphs find it as an input.

Every pending node of the captured graph that a live tensor holds is computed in the same run
(DESIGN: "realize all pending tensors that share the graph together"): when
``optimizer.step()`` realizes the parameter updates, the loss and activations the training
loop still holds come out of the same compiled graph, so reading ``loss.item()`` afterwards
costs nothing and the forward pass is not run twice.

Results that would alias memory the user did not ask to share (``x + 0`` simplified to ``x``,
two equal results merged by CSE, a read-only broadcast view) are copied, so only the view ops
of the book (reshape, transpose/permute, slicing, expand) share memory with their input.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytorch.backends import Executable, get_backend
from tinytorch.ir.families import is_view
from tinytorch.ir.graph import Capture, Graph
from tinytorch.ir.hashing import hash_signature
from tinytorch.ir.node import Node
from tinytorch.passes.base import PassManager, PassRecord
from tinytorch.runtime import config
from tinytorch.runtime.profiler import make_hook
from tinytorch.util.lru import LRUCache


@dataclass
class Plan:
    """A compiled graph and how it was made."""

    graph: Graph
    executable: Executable
    pass_records: list[PassRecord]
    compile_seconds: float


plan_cache = LRUCache(capacity=512)
_dump_counter = itertools.count()


def compile_plan(capture: Capture, backend_name: str, dump: Path | None = None) -> Plan:
    """Run the passes and the backend's compiler on a captured computation (no caching)."""
    start = time.perf_counter()
    manager = PassManager(config.get_pipeline(), dump_dir=dump)
    graph = manager.run(capture.graph())
    executable = get_backend(backend_name).compile(graph)
    source = getattr(executable, "source", None)  # llvm: the plan as straight-line Python
    if dump is not None and source:
        (dump / "plan.py").write_text(source)
    return Plan(graph, executable, manager.records, time.perf_counter() - start)


def get_plan(capture: Capture, backend_name: str) -> Plan:
    backend = get_backend(backend_name)
    key = (backend_name, backend.config(), config.pipeline_key(), capture.signature)
    plan = plan_cache.get(key)
    if plan is None:
        dump = config.dump_dir()
        if dump is not None:
            digest = hash_signature(capture.signature)[:10]
            dump = dump / f"{next(_dump_counter):04d}_{backend_name}_{digest}"
        plan = compile_plan(capture, backend_name, dump)
        plan_cache.put(key, plan)
        if config.debug_level() >= 1:
            print(
                f"[tinytorch] compiled plan: {len(capture.order)} nodes -> "
                f"{len(plan.graph.nodes)} after passes, {plan.compile_seconds * 1e3:.2f} ms"
                f" on {backend_name}",
                file=sys.stderr,
            )
    return plan


def realize(nodes: Sequence[Node]) -> None:
    """Compute every node in ``nodes`` that has no value yet, together, as one graph."""
    pending: list[Node] = []
    seen: set[int] = set()
    for n in nodes:
        if "value" not in n.meta and id(n) not in seen:
            seen.add(id(n))
            pending.append(n)
    if not pending:
        return
    backend_name = config.current_backend()
    capture = Capture(pending)
    also = _companions(capture, seen)
    if also:  # pending values the user holds that share this graph: compute them in this run
        pending += also
        capture.extend(also)
    plan = get_plan(capture, backend_name)
    inputs = [s.meta["value"] for s in capture.sources]
    arrays = run_plan(plan, backend_name, pending, inputs)
    for node, array in zip(pending, arrays, strict=True):
        node.meta["value"] = array
    listener = getattr(_local, "listener", None)
    if listener is not None:
        listener(plan, backend_name, capture.sources, pending, arrays)


def run_plan(
    plan: Plan, backend_name: str, outputs: Sequence[Node], inputs: list[np.ndarray]
) -> list[np.ndarray]:
    """Run a compiled plan on input arrays: one array per node of ``outputs``, each in
    memory of its own unless the node is a view (see :func:`_must_copy`)."""
    results = plan.executable.run(inputs, make_hook(backend_name))
    given: list[np.ndarray] = []
    for node, array in zip(outputs, results, strict=True):
        if _must_copy(node, array, inputs, given):
            array = np.array(array, copy=True)
        given.append(array)
    return given


_local = threading.local()
RealizeListener = Callable[[Plan, str, list[Node], list[Node], list[np.ndarray]], None]


def set_realize_listener(listener: RealizeListener | None) -> RealizeListener | None:
    """Call ``listener(plan, backend, sources, outputs, arrays)`` after every realization on
    this thread (``tinytorch.compile`` records a step this way); returns the previous one."""
    old = getattr(_local, "listener", None)
    _local.listener = listener
    return old


# (owner, node) weak pairs for the tensors handed to the user since the last realization.
_observed: list[tuple[weakref.ref, weakref.ref]] = []
COMPANION_LIMIT = 64  # extra nodes a companion may add to a run


OBSERVED_LIMIT = 4096  # a program that never realizes must not grow this list forever


def observe(node: Node, owner: object) -> None:
    """The frontend reports each tensor it hands to the user (weakly: no lifetime change)."""
    _observed.append((weakref.ref(owner), weakref.ref(node)))
    if len(_observed) > OBSERVED_LIMIT:
        del _observed[: OBSERVED_LIMIT // 2]  # companions are the recent tensors anyway


def _companions(capture: Capture, seen: set[int]) -> list[Node]:
    """Pending nodes held by live tensors created since the last realization that share
    computation with ``capture`` and need at most COMPANION_LIMIT more nodes: the loss
    beside the parameter updates, say. (Only recent tensors are considered, so a program
    holding thousands of pending tensors does not pay for them at every realization.)"""
    if not _observed:
        return []
    captured = {id(n) for n in capture.order}  # (a copy: the capture grows afterwards)
    found = []
    for owner_ref, node_ref in _observed:
        owner, node = owner_ref(), node_ref()
        if owner is None or node is None or "value" in node.meta:
            continue
        if id(node) not in seen and node.inputs and _shares(node, captured):
            found.append(node)
            seen.add(id(node))
    _observed.clear()
    return found


def _shares(node: Node, captured: set[int]) -> bool:
    todo, visited, touches = [node], set(), False
    while todo:
        n = todo.pop()
        if id(n) in visited or "value" in n.meta:
            continue
        visited.add(id(n))
        if id(n) in captured:
            touches = touches or bool(n.inputs)
            continue
        if len(visited) > COMPANION_LIMIT:
            return False
        todo.extend(n.inputs)
    return touches


def _must_copy(node: Node, array: np.ndarray, inputs: list, given: list) -> bool:
    flags = array.flags
    if not flags.writeable:
        return True
    if flags.owndata:  # memory of its own: shared only if it *is* an input or another result
        return any(array is x for x in inputs) or any(array is g for g in given)
    if any(array is g or np.may_share_memory(array, g) for g in given):
        return True
    if is_view(node.op):
        return False
    return any(np.may_share_memory(array, i) for i in inputs)
