"""Integer-array indexing: ``gather`` (``x[idx]`` along one axis, as embeddings use it) and
its gradient ``scatter_add`` (rows that were read several times get their gradients summed).
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir import build as B
from tinytorch.ir.dtypes import is_int
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.registry import OpDef, nbytes, register


def _check_index(op, dtype):
    if not is_int(dtype):
        raise DTypeError(f"{op}: indices must be integers, got {dtype}")


def _gather_shape(x_shape, idx_shape, axis):
    return x_shape[:axis] + idx_shape + x_shape[axis + 1 :]


def _gather_infer(shapes, dtypes, attrs):
    x, idx = shapes
    _check_index("gather", dtypes[1])
    axis = attrs["axis"]
    if not 0 <= axis < len(x):
        raise ShapeError(f"gather: axis {axis} out of range for shape {x}")
    return _gather_shape(x, idx, axis), dtypes[0]


def _gather_kernel(node, x, idx):
    axis = node.attrs["axis"]
    n = x.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].flat[0]
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
    return np.take(x, idx, axis=axis)


def _gather_vjp(node, g):
    x, idx = node.inputs
    axis = node.attrs["axis"]
    return B.make("scatter_add", (g, idx), axis=axis, size=x.shape[axis]), None


def _gather_cost(node):
    return 0, 2 * nbytes(node) + nbytes(node.inputs[1])


register(
    OpDef(
        name="gather",
        kind="opaque",
        arity=2,
        infer=_gather_infer,
        numpy=_gather_kernel,
        vjp=_gather_vjp,
        cost=_gather_cost,
        grad_name="EmbeddingBackward",
    )
)


def _scatter_add_infer(shapes, dtypes, attrs):
    g, idx = shapes
    _check_index("scatter_add", dtypes[1])
    axis, k = attrs["axis"], len(idx)
    if g[axis : axis + k] != idx:
        raise ShapeError(f"scatter_add: values {g} do not match indices {idx} at axis {axis}")
    return g[:axis] + (attrs["size"],) + g[axis + k :], dtypes[0]


def _scatter_add_kernel(node, g, idx):
    axis = node.attrs["axis"]
    out = np.zeros(node.shape, dtype=node.dtype)
    moved = np.moveaxis(out, axis, 0)  # a view: writes land in `out`
    g_moved = np.moveaxis(
        g.reshape(g.shape[:axis] + (idx.size,) + g.shape[axis + idx.ndim :]), axis, 0
    )
    np.add.at(moved, idx.reshape(-1), g_moved)
    return out


register(
    OpDef(
        name="scatter_add",
        kind="opaque",
        arity=2,
        infer=_scatter_add_infer,
        numpy=_scatter_add_kernel,
        cost=_gather_cost,
        vjp=lambda n, g: (B.make("gather", (g, n.inputs[1]), axis=n.attrs["axis"]), None),
        doc="Zeros with `size` rows on `axis`; row idx[i] accumulates values[i].",
    )
)
