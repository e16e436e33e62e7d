"""Running a fused graph: compiled kernels for fused groups, NumPy for everything else.

The plan is a list of steps in a topological order of *kernels* (a fused group is one step).
Matmul runs as NumPy's BLAS call; ``int8_matmul`` as a native integer kernel
(``int8_gemm.py``); ``fold`` and an im2col matrix a NumPy step reads are kernels of their
own, and ``windows`` is inlined into its readers (``windows.py``); gather, concat and other
opaque ops, views and any group the code generator cannot compile run their registry NumPy
kernels (the fusion report notes every such fallback). Kernels write into buffers recycled
from earlier steps and runs when possible (``buffers.py``). Every step reports to the
profiling hook; a kernel reports all its member nodes, so time is attributed back to the
user's lines.
"""

from __future__ import annotations

import ctypes
import heapq
import os
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tinytorch.backends.base import Executable, Hook, realize_error, run_numpy_node
from tinytorch.backends.llvm.buffers import MIN_BYTES, buffer_pool
from tinytorch.backends.llvm.group import group_args, kernel_body
from tinytorch.backends.llvm.int8_gemm import native_kernel
from tinytorch.backends.llvm.kernels import Kernel, kernel_cache
from tinytorch.backends.llvm.lltypes import Unsupported
from tinytorch.backends.llvm.runner import write_runner
from tinytorch.backends.llvm.windows import note_plan, plan_inlined
from tinytorch.ir.families import is_view
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.printer import format_graph, short_src
from tinytorch.ir.registry import get
from tinytorch.util.flags import env_int

# A kernel is split across threads only when it is big enough to pay for the hand-off
# (measured: below ~100k elements the split costs more than it saves).
PARALLEL_MIN_ELEMENTS = 1 << 17
_pool: ThreadPoolExecutor | None = None


def thread_count() -> int:
    """Threads for one kernel: TINYTORCH_THREADS, else every core this process may use."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return env_int("TINYTORCH_THREADS", cores)


def _address(array: np.ndarray) -> int:
    """The address of a C-contiguous array's first byte. ``array.ctypes.data`` builds a
    helper object on every call (~2 us, paid per argument per kernel run); reading the
    buffer through ctypes is ~5x quicker. Read-only or empty memory takes NumPy's route."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError):
        return array.ctypes.data


def _run_kernel(kernel: Kernel, outer: int, pointers: list[int], work: int) -> None:
    """Call the kernel over [0, outer), split across threads when large. ctypes releases
    the GIL during the call, so the threads run in parallel. Steps run one after another,
    so these threads never overlap with a multi-threaded BLAS call."""
    global _pool
    if work < PARALLEL_MIN_ELEMENTS or outer < 2:
        kernel.cfunc(0, outer, *pointers)
        return
    threads = min(thread_count(), outer)
    if threads <= 1:
        kernel.cfunc(0, outer, *pointers)
        return
    if _pool is None or _pool._max_workers < threads:
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tinytorch-kernel")
    bounds = [outer * k // threads for k in range(threads + 1)]
    futures = [_pool.submit(kernel.cfunc, lo, hi, *pointers)
               for lo, hi in zip(bounds[1:-1], bounds[2:], strict=True)]  # fmt: skip
    kernel.cfunc(bounds[0], bounds[1], *pointers)
    for f in futures:
        f.result()


def _native(array: np.ndarray) -> np.ndarray:
    """A row-major copy in the machine's byte order: kernels read raw memory, so a
    big-endian (``">f4"``) or strided buffer must be converted before they see it."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


def _capped(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters (a 10,000-op kernel must not produce a
    warning of 40 KB)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more chars)"


class KernelCompileWarning(RuntimeWarning):
    """A fused group failed to compile and ran on NumPy instead."""


# Runs of a plan through the step loop before it is written out as straight-line Python
# (runner.py). The test suite sets 0, so that plans its tests run once use the runner too.
RUNNER_AFTER_RUNS = 1

# Who wants to know what each run did (tests: "this test ran a compiled kernel, and no fused
# group fell back to NumPy"). Called once per ``run`` with the executable: its ``kernels``
# (compiled kernels it calls) and ``fallbacks`` (why each fused group it could not compile
# runs on NumPy). Fallbacks are recorded per run, not per compile, so a plan taken from the
# plan cache reports them again. Opaque ops (matmul, gather, windows...) that run their NumPy
# kernel by design are not fallbacks.
RunListener = Callable[["LLVMExecutable"], None]
_run_listener: RunListener | None = None


def set_run_listener(listener: RunListener | None) -> RunListener | None:
    """Call ``listener(executable)`` before every run of a compiled plan; returns the previous
    listener (None: nobody listens, the default)."""
    global _run_listener
    old, _run_listener = _run_listener, listener
    return old


def _units(graph: Graph) -> list[list[Node]]:
    """Fused groups and single nodes, in a topological order of the condensed graph."""
    position = {id(n): k for k, n in enumerate(graph.nodes)}
    groups: dict[int, list[Node]] = {}
    unit_of: dict[int, int] = {}
    units: list[list[Node]] = []
    for n in graph.nodes:
        if n.op == "input":
            continue
        gid = n.meta.get("group")
        if gid is None:
            unit_of[id(n)] = len(units)
            units.append([n])
        else:
            if gid not in groups:
                groups[gid] = []
                unit_of_g = len(units)
                units.append(groups[gid])
            else:
                unit_of_g = next(k for k, u in enumerate(units) if u is groups[gid])
            groups[gid].append(n)
            unit_of[id(n)] = unit_of_g
    deps = [set() for _ in units]
    for k, unit in enumerate(units):
        for n in unit:
            for i in n.inputs:
                j = unit_of.get(id(i))
                if j is not None and j != k:
                    deps[k].add(j)
    order, done = [], set()
    ready = sorted((min(position[id(n)] for n in u), k) for k, u in enumerate(units) if not deps[k])
    heapq.heapify(ready)
    users = [[] for _ in units]
    for k, d in enumerate(deps):
        for j in d:
            users[j].append(k)
    remaining = [len(d) for d in deps]
    while ready:
        _, k = heapq.heappop(ready)
        order.append(units[k])
        done.add(k)
        for u in users[k]:
            remaining[u] -= 1
            if remaining[u] == 0:
                heapq.heappush(ready, (min(position[id(n)] for n in units[u]), u))
    if len(order) != len(units):
        text = format_graph(graph, annotate=lambda n: f"kernel {n.meta.get('group', '-')}")
        raise RuntimeError(f"fusion produced kernels that depend on each other in a cycle:\n{text}")
    return order


class LLVMExecutable(Executable):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.position = {id(n): k for k, n in enumerate(graph.nodes)}
        self.steps: list[tuple] = []
        self.fallbacks: list[str] = []
        units = _units(graph)
        own = plan_inlined(graph)  # fold, and windows chains a NumPy step reads
        fused = [u for u in units if len(u) > 1 or "group" in u[0].meta or id(u[0]) in own]
        kernels = dict(zip(map(id, fused), kernel_cache.get_many(fused), strict=True))
        for unit in units:
            if id(unit) in kernels:
                kernel = self._accept(unit, kernels[id(unit)])
                if kernel is not None:
                    buffers = group_args(kernel_body(unit))
                    args = [self.position[id(a)] for a in buffers]
                    root = unit[-1]
                    work = max([root.size, *(a.size for a in buffers)])
                    self.steps.append(("kernel", kernel, self.position[id(root)], args, unit,
                                       root.shape, np.dtype(root.dtype), work))  # fmt: skip
                    continue
            for n in unit:
                ins = [self.position[id(i)] for i in n.inputs]
                fn = native_kernel(n) or get(n.op).numpy  # int8_matmul: a native kernel
                self.steps.append(("numpy", n, self.position[id(n)], ins, fn))
        self._drop_unread_constants()
        note_plan(graph, self.steps, own)
        self._plan_frees()
        self.has_numpy_steps = any(step[0] == "numpy" for step in self.steps)
        self.kernels = sum(step[0] == "kernel" for step in self.steps)
        self._straight: Callable[..., list] | None = None  # see _ensure_runner
        self._source: str | None = None
        self._runner_built = False
        self._runs = 0  # unprofiled runs so far (the runner is written after a first one)

    @property
    def source(self) -> str | None:
        """The plan as straight-line Python (``runner.py``), or None for a plan too long
        to be written out."""
        self._ensure_runner()
        return self._source

    def _ensure_runner(self) -> None:
        """Write the plan out as straight-line Python. Done after
        :data:`RUNNER_AFTER_RUNS` runs, not at compile time: writing and compiling the text
        costs ~35 us per step, which a plan run only once (a long eager graph) would never
        earn back."""
        if self._runner_built:
            return
        nodes = self.graph.nodes
        runner = write_runner(self.steps, self.frees, self.input_slots, self.output_slots,
                              PARALLEL_MIN_ELEMENTS, _RUNNER_HELPERS,
                              lambda p: buffer_pool.may_take(nodes[p]), _direct,
                              MIN_BYTES)  # fmt: skip
        if runner is not None:
            self._source, self._straight = runner
        self._runner_built = True

    def _drop_unread_constants(self) -> None:
        """Constants, views and ``windows`` are inlined into the kernels that read them; keep
        a NumPy step for one only while a NumPy step still reads it or it is returned
        (repeat: dropping a view can leave the view it reads unread)."""
        while True:
            read = {p for step in self.steps for p in step[3]}
            read |= {self.position[id(o)] for o in self.graph.outputs}
            kept = [s for s in self.steps if not (
                s[0] == "numpy" and (s[1].op in ("const", "windows") or is_view(s[1].op))
                and s[2] not in read)]  # fmt: skip
            if len(kept) == len(self.steps):
                return
            self.steps = kept

    def _accept(self, unit: list[Node], built: Kernel | Exception) -> Kernel | None:
        """The kernel, or None after recording why the group runs on NumPy instead."""
        if isinstance(built, Kernel):
            return built
        if isinstance(built, Unsupported):
            reason = f"llvm: runs on NumPy ({built})"
        else:  # an LLVM failure must not take the process down
            lines = sorted({short_src(n.src) for n in unit if n.src})
            error = _capped(f"{type(built).__name__}: {built}", 300)
            reason = f"llvm: compile failed, runs on NumPy ({error})"
            warnings.warn(
                f"kernel of {_capped(' '.join(n.op for n in unit), 200)} ({len(unit)} ops, from "
                f"{_capped(', '.join(lines), 200)}) failed to compile and runs on NumPy: {error}",
                KernelCompileWarning,
                stacklevel=3,
            )
        for n in unit:
            n.meta["fusion"] = f"{n.meta.get('fusion', '')}; {reason}"
        self.fallbacks.append(reason)
        return None

    def _plan_frees(self) -> None:
        keep = {self.position[id(o)] for o in self.graph.outputs}
        last: dict[int, int] = {}
        for k, step in enumerate(self.steps):
            for p in step[3]:
                last[p] = k
        self.frees = [[p for p in step[3] if last.get(p) == k and p not in keep]
                      for k, step in enumerate(self.steps)]  # fmt: skip
        self.input_slots = [self.position[id(i)] for i in self.graph.inputs]
        self.output_slots = [self.position[id(o)] for o in self.graph.outputs]

    def buffer_steps(self) -> list[tuple[Node, tuple[Node, ...]]]:
        """One entry per step: a kernel stores only its group's result (its members'
        values live in registers), and inlined constants and views store nothing."""
        nodes = self.graph.nodes
        return [(nodes[step[2]], tuple(nodes[p] for p in frees))
                for step, frees in zip(self.steps, self.frees, strict=True)]  # fmt: skip

    def run(self, inputs: Sequence[np.ndarray], hook: Hook | None = None) -> list[np.ndarray]:
        if _run_listener is not None:
            _run_listener(self)
        if hook is None and not self._runner_built:
            if self._runs >= RUNNER_AFTER_RUNS:
                self._ensure_runner()
            self._runs += 1
        if hook is None and self._straight is not None:
            if len(inputs) != len(self.input_slots):
                raise ValueError(f"plan takes {len(self.input_slots)} inputs, got {len(inputs)}")
            if self.has_numpy_steps:
                with np.errstate(all="ignore"):
                    return self._straight(*inputs)
            return self._straight(*inputs)
        values: list = [None] * len(self.graph.nodes)
        for slot, array in zip(self.input_slots, inputs, strict=True):
            values[slot] = array
        if self.has_numpy_steps:  # NaN/inf are values, not warnings (kernels never warn)
            with np.errstate(all="ignore"):
                self._run_steps(values, hook)
        else:
            self._run_steps(values, hook)
        return [values[s] for s in self.output_slots]

    def _run_steps(self, values: list, hook: Hook | None) -> None:
        for step, frees in zip(self.steps, self.frees, strict=True):
            start = time.perf_counter() if hook is not None else 0.0
            if step[0] == "kernel":
                _, kernel, out_slot, args, members, shape, dtype, work = step
                try:
                    out = buffer_pool.take(shape, dtype)
                    # Kernels assume row-major buffers; `alive` holds any contiguous copy
                    # made here until the call returns (a pointer alone does not keep
                    # memory alive).
                    alive = [values[a] for a in args]
                    alive = [x if x.flags.c_contiguous and x.dtype.isnative else _native(x)
                             for x in alive]  # fmt: skip
                except MemoryError as exc:  # the same RealizeError as the numpy backend
                    raise realize_error(members[-1], exc) from exc
                pointers = [_address(out)]
                pointers += [_address(x) for x in alive]
                _run_kernel(kernel, kernel.source.outer, pointers, work)
                del alive
                values[out_slot], out = out, None
                if hook is not None:
                    hook(members, time.perf_counter() - start, kernel.name)
            else:
                _, node, out_slot, args, fn = step
                values[out_slot] = run_numpy_node(node, fn, [values[a] for a in args])
                if hook is not None:
                    hook((node,), time.perf_counter() - start, node.op)
            for p in frees:  # a buffer nobody else holds is recycled for a later kernel
                array, values[p] = values[p], None
                buffer_pool.give(array)
                del array


def _direct(node: Node) -> bool:
    """A NumPy step whose function certainly returns an ndarray of the node's dtype: views
    (reshape, permute, slice, expand) and matmul of operands of the result's dtype (not a
    vector-vector product: NumPy returns that as a scalar, not an array)."""
    if is_view(node.op):
        return True
    return (node.op == "matmul" and len(node.shape) > 0
            and all(i.dtype == node.dtype for i in node.inputs))  # fmt: skip


_RUNNER_HELPERS = {
    "take": buffer_pool.take,
    "empty": np.empty,
    "give": buffer_pool.give,
    "addr": _address,
    "addressof": ctypes.addressof,  # with cfb: _address inlined, for writable arrays
    "cfb": ctypes.c_char.from_buffer,
    "_native": _native,
    "run_numpy_node": run_numpy_node,
    "run_kernel": _run_kernel,
    "realize_error": realize_error,
}
