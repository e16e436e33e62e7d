"""``x[key]``: NumPy-style indexing, lowered to ``slice`` + ``gather`` + ``reshape`` nodes.

Supported keys: integers, slices (any step), ``None`` (new axis), ``...``, and at most one
integer array (a list, ndarray or integer Tensor, possibly lazy) — the gather embeddings use.
Integer indices are slices of length one whose axis is then dropped. The array's dimensions
land where NumPy puts them: in place, or first when integers and the array are apart in the
key. Boolean masks are not supported: their result's shape depends on the data, which a lazy
graph cannot know ahead; use ``tinytorch.where`` instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor_type import tensor_class
from tinytorch.ir import build as B
from tinytorch.ir.node import Node

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor


def _is_int(k: Any) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _is_array_index(k: Any) -> bool:
    Tensor = tensor_class()

    return isinstance(k, (list, np.ndarray, Tensor))


def _expand_ellipsis(x: Tensor, key: tuple) -> tuple:
    # Compare by identity: ``Ellipsis in key`` would call ``Tensor.__eq__`` on tensor keys.
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    dots = [i for i, k in enumerate(key) if k is Ellipsis]
    if len(dots) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(
            f"too many indices for tensor of dimension {x.ndim}: tensor has shape {x.shape}"
        )
    fill = (slice(None),) * (x.ndim - consumed)
    if dots:
        i = dots[0]
        return key[:i] + fill + key[i + 1 :]
    return key + fill


def _check_bounds(arr: np.ndarray, size: int, axis: int) -> None:
    bad = arr[(arr < -size) | (arr >= size)]
    if bad.size:
        raise IndexError(f"index {bad.flat[0]} is out of bounds for axis {axis} with size {size}")


def _index_tensor(k: Any, size: int, axis: int) -> Tensor:
    """The index as an integer tensor. Indices whose values are known now are checked now;
    a lazy index tensor is checked by the gather kernel when it runs."""
    Tensor = tensor_class()

    if isinstance(k, Tensor):
        if k.dtype not in ("int8", "uint8", "int16", "int32", "int64"):
            raise IndexError(
                f"tensors used as indices must be integer tensors, got {k.dtype}"
                " (boolean masks are not supported: use tinytorch.where)"
            )
        if k._node.value is not None:
            _check_bounds(k._node.value, size, axis)
        return k
    arr = np.asarray(k)
    if arr.dtype == bool:
        raise IndexError(
            "boolean mask indexing is not supported on lazy tensors (the "
            "result's shape depends on the data); use tinytorch.where instead"
        )
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise IndexError(f"arrays used as indices must be of integer type, got {arr.dtype}")
    _check_bounds(arr, size, axis)
    return Tensor(arr.astype(np.int64))


@user_op("getitem")
def getitem(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` as ``slice`` (ints and slices), then ``gather`` (the integer array), then
    ``reshape`` (drop the integer axes, add the ``None`` axes)."""
    Tensor = tensor_class()

    if not isinstance(key, tuple):
        key = (key,)
    key = _expand_ellipsis(x, key)
    starts, stops, steps = [], [], []
    layout: list[Any] = []  # the output's axes, in order: None (new), an input axis, "g"
    advanced: list[int] = []  # positions in ``key`` of integers and the integer array
    gather_axis, gather_index = None, None
    axis = 0
    for pos, k in enumerate(key):
        if k is None:
            layout.append(None)
            continue
        size = x.shape[axis]
        if _is_int(k):
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
            i %= size
            starts.append(i), stops.append(i + 1), steps.append(1)
            advanced.append(pos)
        elif isinstance(k, slice):
            b, e, st = k.indices(size)
            if not range(b, e, st):
                b, e, st = 0, 0, 1  # empty: say so plainly (a reversed empty range starts at -1)
            starts.append(b), stops.append(e), steps.append(st)
            layout.append(axis)
        elif _is_array_index(k):
            if gather_axis is not None:
                raise IndexError(
                    "only one integer-array index is supported; index in two "
                    "steps, e.g. x[idx1][:, idx2]"
                )
            gather_axis, gather_index = axis, _index_tensor(k, size, axis)
            starts.append(0), stops.append(size), steps.append(1)
            layout.append("g")
            advanced.append(pos)
        else:
            raise IndexError(
                f"unsupported index {k!r} of type {type(k).__name__}; use "
                "integers, slices, None, ..., or an integer array"
            )
        axis += 1

    node = x._node
    parents = [x]
    if not all(
        b == 0 and e == d and st == 1
        for b, e, st, d in zip(starts, stops, steps, x.shape, strict=True)
    ):
        node = B.make(
            "slice", (node,), starts=tuple(starts), stops=tuple(stops), steps=tuple(steps)
        )
    if gather_axis is None:
        out_shape = [1 if item is None else node.shape[item] for item in layout]
    else:
        node, out_shape = _gather(node, gather_index, gather_axis, layout, advanced)
        parents.append(gather_index)
    label = "EmbeddingBackward" if gather_axis is not None else "SliceBackward"
    if tuple(out_shape) != node.shape or node is x._node:
        node = B.make("reshape", (node,), shape=tuple(out_shape))
    return Tensor._from_op(node, parents, label)


def _gather(
    node: Node, index: Tensor, axis: int, layout: list[Any], advanced: list[int]
) -> tuple[Node, list[int]]:
    """Gather ``index`` along ``axis``; return the node and the output's shape.

    NumPy's rule for where the index's dimensions land: in place when the integers and the
    array sit next to each other in the key (``x[:, 1, idx]``), else first
    (``x[1, :, idx]``, ``x[1, None, idx]``), which takes a permute.
    """
    k = index.ndim
    node = B.make("gather", (node, index._node), axis=axis)
    gathered = node.shape

    def dims(item: Any) -> list[int]:
        if item is None:
            return [1]
        if item == "g":
            return list(index.shape)
        return [gathered[item if item < axis else item + k - 1]]

    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return node, [d for item in layout for d in dims(item)]
    rest = [i for i in range(node.ndim) if not axis <= i < axis + k]
    node = B.permute(node, [*range(axis, axis + k), *rest])
    return node, list(index.shape) + [d for item in layout if item != "g" for d in dims(item)]
