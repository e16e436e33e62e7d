"""The backend contract, and the registry of backends by name.

A backend turns a post-pass :class:`~tinytorch.ir.graph.Graph` into an :class:`Executable`
once (``compile``), and the executable then runs many times on new input arrays. Every node
execution is reported to a ``hook`` (the runtime's profiler): a backend that runs nodes one by
one reports each; a backend that fuses reports one call per kernel with all its member nodes.
That is the whole contract: a new backend plugs in here without touching the frontend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinytorch.ir.errors import RealizeError
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node

# hook(nodes_run_as_one_kernel, seconds, kernel_label)
Hook = Callable[[Sequence[Node], float, str], None]


class Executable:
    """A compiled graph. ``run`` takes one array per ``graph.inputs`` (in order) and returns
    one array per ``graph.outputs``."""

    graph: Graph

    def run(self, inputs: Sequence[np.ndarray], hook: Hook | None = None) -> list[np.ndarray]:
        raise NotImplementedError

    def buffer_steps(self) -> list[tuple[Node, tuple[Node, ...]]]:
        """The plan's memory, step by step in run order: (the node whose result the step
        stores, the nodes whose results are dropped after it). The profiler replays this to
        find the bytes a run allocates and holds at its peak. The default is one step per
        computing node, each result dropped after its last reader and outputs kept: how the
        NumPy interpreter runs. A backend that runs steps differently overrides it."""
        position = {id(n): k for k, n in enumerate(self.graph.nodes)}
        keep = {id(o) for o in self.graph.outputs}
        last_use: dict[int, int] = {}
        for k, n in enumerate(self.graph.nodes):
            for i in n.inputs:
                last_use[id(i)] = k
        steps = []
        for k, n in enumerate(self.graph.nodes):
            if n.op == "input":
                continue
            done = {id(i): i for i in n.inputs if last_use[id(i)] == k and id(i) not in keep}
            steps.append((n, tuple(sorted(done.values(), key=lambda i: position[id(i)]))))
        return steps


class Backend:
    name = "backend"

    def compile(self, graph: Graph) -> Executable:
        raise NotImplementedError

    def config(self) -> tuple:
        """Anything that changes compiled code (CPU features, flags): part of cache keys."""
        return ()


class UnknownBackendError(ValueError):
    """No backend is registered under that name."""


_BACKENDS: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make ``factory()`` available as ``name``. Backends are built lazily, on first use."""
    _BACKENDS[name] = factory


def available_backends() -> list[str]:
    return sorted(_BACKENDS)


def check_backend_name(name: str) -> str:
    if name not in _BACKENDS:
        raise UnknownBackendError(
            f"unknown backend {name!r}; known backends: {', '.join(available_backends())}"
        )
    return name


def get_backend(name: str) -> Backend:
    if name not in _INSTANCES:
        _INSTANCES[name] = _BACKENDS[check_backend_name(name)]()
    return _INSTANCES[name]


def realize_error(node: Node, exc: BaseException) -> RealizeError:
    """Wrap a failure inside a kernel so it names the op and the user's line."""
    where = f" (created at {node.src})" if node.src else ""
    shapes = ", ".join(str(i.shape) for i in node.inputs)
    err = RealizeError(
        f"{node.op} on inputs of shape {shapes or '()'}{where} failed: {type(exc).__name__}: {exc}",
        op=node.op,
        src=node.src,
    )
    return err


def run_numpy_node(node: Node, kernel: Callable[..., np.ndarray], args: Sequence) -> np.ndarray:
    """Run one node's registry NumPy kernel: the result in the node's dtype, and any failure
    as a RealizeError naming the op and the user's line. Both backends run nodes this way."""
    try:
        out = np.asarray(kernel(node, *args))
    except RealizeError:
        raise
    except Exception as exc:
        raise realize_error(node, exc) from exc
    return out if out.dtype == node.dtype else out.astype(node.dtype)
