"""Constant folding: compute at compile time what cannot change from one run to the next.

A node whose inputs are all ``const`` nodes gives the same value on every run, so there is no
reason to compute it on every run. This pass computes it once, now, with the op's NumPy
reference kernel (the very kernel the NumPy backend would run later), and puts the answer in
the graph as a constant:

    expand(const 2.0 : float32[])  ->  const 2.0 : float32[3,4]
    mul(const 2, const 3)          ->  const 6

The IR's ``const`` is one Python scalar broadcast to a shape, so an answer can become a
``const`` only when all its elements are equal. An answer whose elements differ (``concat``
of a 1 and a 2) is left as it was: the IR has no constant to hold it. So is a node whose
kernel fails (a ``gather`` out of bounds): that error must surface when the program runs, at
the user's line, exactly as it would without this pass. NaN and inf are ordinary answers.

The graph is walked in order and each node sees its inputs already folded, so one run folds a
whole chain (``mul(expand(const 2), expand(const 3))`` becomes one ``const 6``). The folded
constant keeps the ``src`` of the node it replaces, so a profile or an error still names the
user's line. The constants it read become dead; the DCE pass removes them. Effectful nodes
are never folded: their point is what they *do*, not what they return.
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir import build
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.ir.registry import get
from tinytorch.passes.base import Pass
from tinytorch.passes.rewrite import rewrite_nodes

Scalar = float | int | bool


def is_foldable(node: Node, inputs: tuple[Node, ...]) -> bool:
    """A computing (non-leaf) node that reads constants only. (Effectful nodes never get
    this far: the rewrite driver keeps them out of every rule.)"""
    return (
        bool(inputs)
        and all(i.op == "const" for i in inputs)
        and node.size > 0  # an empty result holds no value to fold into a const
    )


def evaluate(node: Node, inputs: tuple[Node, ...]) -> np.ndarray | None:
    """The array ``node`` computes from the constants ``inputs``; ``None`` if its kernel fails.

    An elementwise op computes each element from the same position of its inputs, and a
    constant has the same value at every position, so one element is the whole answer: the
    kernel runs on 0-d arrays, however large the shape. Other ops run on the full arrays.
    """
    opdef = get(node.op)
    try:
        with np.errstate(all="ignore"):
            if opdef.kind == "elementwise":
                arrays = [np.asarray(i.attrs["value"], dtype=i.dtype) for i in inputs]
            else:
                arrays = [get("const").numpy(i) for i in inputs]
            out = np.asarray(opdef.numpy(node, *arrays))
            return out.astype(node.dtype, copy=False)
    except Exception:  # leave the failure to run time, where it names the user's line
        return None


def uniform_value(array: np.ndarray) -> Scalar | None:
    """The single value every element of ``array`` holds, as a Python scalar, else ``None``.

    "The same" is strict, so that the constant reproduces the array exactly: NaN counts as
    the same as NaN, but -0.0 is not the same as 0.0 (``1 / x`` tells them apart).
    """
    flat = array.reshape(-1)
    if flat.size == 0:
        return None
    first = flat[0]
    if flat.dtype.kind == "f":
        if np.isnan(first):
            same = np.isnan(flat)
        else:
            same = (flat == first) & (np.signbit(flat) == np.signbit(first))
    else:
        same = flat == first
    return first.item() if bool(same.all()) else None


def fold(node: Node, inputs: tuple[Node, ...]) -> Node | None:
    """The rule: the ``const`` that ``node`` computes from constant ``inputs``, or ``None``."""
    if not is_foldable(node, inputs):
        return None
    array = evaluate(node, inputs)
    value = None if array is None else uniform_value(array)
    if value is None:
        return None
    with build.source(node.src):
        return build.const(value, node.shape, node.dtype)


class ConstantFolding(Pass):
    """Replace every node computed only from constants by the constant it computes."""

    name = "constant_folding"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        return rewrite_nodes(graph, fold)
