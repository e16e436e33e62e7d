"""Leaves: where values enter a graph.

* ``buffer`` — a tensor's data (``meta["value"]``), as the user built it.
* ``input``  — a numbered placeholder. The runtime swaps every buffer (and every already
  realized node) for an ``input`` before running passes, so one compiled plan serves every
  call with new data of the same shapes.
* ``const``  — a Python scalar broadcast to a shape. Constants are *structure*: passes may
  fold them, and the plan cache keys on their value.
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir.ops._rules import check_dtype
from tinytorch.ir.registry import OpDef, register


def _no_cost(node):
    return 0, 0


def _buffer_kernel(node):
    return node.meta["value"]


def _input_kernel(node):
    raise RuntimeError("input placeholders are bound by the backend, never executed")


def _const_kernel(node):
    value = np.asarray(node.attrs["value"], dtype=node.dtype)
    return np.broadcast_to(value, node.shape)  # a read-only view: no memory per element


def _leaf_infer(shapes, dtypes, attrs):
    return tuple(attrs["shape"]), check_dtype("leaf", attrs["dtype"])


for _name, _kernel in (
    ("buffer", _buffer_kernel),
    ("input", _input_kernel),
    ("const", _const_kernel),
):
    register(
        OpDef(
            name=_name,
            kind="leaf",
            arity=0,
            infer=_leaf_infer,
            numpy=_kernel,
            differentiable=False,
            cost=_no_cost,
            grad_name="AccumulateGrad" if _name == "buffer" else None,
        )
    )
