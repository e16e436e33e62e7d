"""The reference backend: interpret the graph node by node with the registry's NumPy kernels.

It is deliberately simple — no fusion, no code generation — because it is the oracle every
other backend is tested against. It frees each intermediate array right after its last
reader, and lets NaN and inf flow as values (NumPy's warnings are silenced) rather than crash.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from tinytorch.backends.base import Backend, Executable, Hook, run_numpy_node
from tinytorch.ir.graph import Graph
from tinytorch.ir.registry import get


class NumpyExecutable(Executable):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        position = {id(n): k for k, n in enumerate(graph.nodes)}
        self._input_slots = [position[id(i)] for i in graph.inputs]
        self._output_slots = [position[id(o)] for o in graph.outputs]
        keep = set(self._output_slots)
        last_use: dict[int, int] = {}
        for k, n in enumerate(graph.nodes):
            for i in n.inputs:
                last_use[position[id(i)]] = k
        # One step per computing node: (node, kernel, input slots, slots to free after it).
        self._steps = []
        for k, n in enumerate(graph.nodes):
            if n.op == "input":
                continue
            free = [
                s for s in {position[id(i)] for i in n.inputs} if last_use[s] == k and s not in keep
            ]
            self._steps.append((k, n, get(n.op).numpy, [position[id(i)] for i in n.inputs], free))

    def run(self, inputs: Sequence[np.ndarray], hook: Hook | None = None) -> list[np.ndarray]:
        values: list[np.ndarray | None] = [None] * len(self.graph.nodes)
        for slot, array in zip(self._input_slots, inputs, strict=True):
            values[slot] = array
        with np.errstate(all="ignore"):
            for k, node, kernel, args, free in self._steps:
                start = time.perf_counter() if hook is not None else 0.0
                values[k] = run_numpy_node(node, kernel, [values[a] for a in args])
                if hook is not None:
                    hook((node,), time.perf_counter() - start, node.op)
                for s in free:
                    values[s] = None
        return [values[s] for s in self._output_slots]


class NumpyBackend(Backend):
    name = "numpy"

    def compile(self, graph: Graph) -> Executable:
        return NumpyExecutable(graph)
