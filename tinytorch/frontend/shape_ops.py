"""Shape ops behind Tensor's methods: reshape, permute/transpose, expand, squeeze and
unsqueeze, flatten, concat and stack. Each checks its arguments at the user's line and adds
IR nodes (views where the IR has them: reshape, permute, expand); nothing computes.
:mod:`~tinytorch.frontend.functional` re-exports them, so ``F.reshape`` is this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tinytorch.frontend.autograd import record_op
from tinytorch.frontend.dtypes import promote
from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor_type import as_tensor, wrap
from tinytorch.ir import build as B
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.shapes import (
    as_sizes,
    broadcast_shapes,
    infer_reshape,
    normalize_axes,
    normalize_axis,
    prod,
)

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor


@user_op("reshape")
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """``reshape(2, 3)`` or ``reshape((2, 3))``; one ``-1`` is inferred."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    new = infer_reshape(x.size, as_sizes(shape, "reshape", x.shape))
    return wrap(B.make("reshape", (x._node,), shape=new), [x], "ReshapeBackward")


@user_op("permute")
def permute(x: Tensor, *dims: Any) -> Tensor:
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != x.ndim:
        raise ShapeError(
            f"permute: got {len(dims)} dims {dims} for a {x.ndim}-D tensor of shape {x.shape}"
        )
    perm = tuple(normalize_axis(d, x.ndim, "permute", x.shape) for d in dims)
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"permute: {dims} repeats an axis")
    return wrap(B.make("permute", (x._node,), perm=perm), [x], "PermuteBackward")


@user_op("transpose")
def transpose(x: Tensor, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swap two axes; with no arguments, the last two (a 0-D or 1-D tensor is returned
    unchanged, as ``.T`` does in NumPy and PyTorch). Giving only one axis is an error."""
    if (dim0 is None) != (dim1 is None):
        raise TypeError("transpose: give both dim0 and dim1, or neither (the last two axes)")
    if dim0 is None:
        if x.ndim < 2:
            perm = tuple(range(x.ndim))
            return wrap(B.make("permute", (x._node,), perm=perm), [x], "TransposeBackward")
        dim0, dim1 = -2, -1
    a, b = (
        normalize_axis(dim0, x.ndim, "transpose", x.shape),
        normalize_axis(dim1, x.ndim, "transpose", x.shape),
    )
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return wrap(B.make("permute", (x._node,), perm=tuple(perm)), [x], "TransposeBackward")


@user_op("expand")
def expand(x: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` without copying (``-1`` keeps a dimension)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = as_sizes(shape, "expand", x.shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand shape {x.shape} to fewer dims {shape}")
    if any(int(d) < 0 for d in shape[:lead]) or any(int(d) < -1 for d in shape):
        raise ShapeError(
            f"expand: -1 can only keep an existing dimension, got {shape} for shape {x.shape}"
        )
    target = tuple(
        x.shape[i - lead] if d == -1 and i >= lead else int(d) for i, d in enumerate(shape)
    )
    if broadcast_shapes(x.shape, target, op="expand") != target:
        raise ShapeError(f"expand: cannot broadcast shape {x.shape} to {target}")
    return wrap(B.make("expand", (x._node,), shape=target), [x], "ExpandBackward")


@user_op("squeeze")
def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Drop size-1 axes (all of them, or the ones given; a given axis that is not size 1
    is left alone, as in PyTorch)."""
    axes = (
        [i for i, d in enumerate(x.shape) if d == 1]
        if axis is None
        else [a for a in normalize_axes(axis, x.ndim, "squeeze", x.shape) if x.shape[a] == 1]
    )
    new = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return wrap(B.make("reshape", (x._node,), shape=new), [x], "SqueezeBackward")


@user_op("unsqueeze")
def unsqueeze(x: Tensor, axis: int) -> Tensor:
    a = normalize_axis(axis, x.ndim + 1, "unsqueeze")
    new = x.shape[:a] + (1,) + x.shape[a:]
    return wrap(B.make("reshape", (x._node,), shape=new), [x], "UnsqueezeBackward")


@user_op("flatten")
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    s = normalize_axis(start_dim, x.ndim, "flatten", x.shape)
    e = normalize_axis(end_dim, x.ndim, "flatten", x.shape)
    new = x.shape[:s] + (prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return wrap(B.make("reshape", (x._node,), shape=new), [x], "FlattenBackward")


@user_op("concat")
def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``torch.cat``)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    first = tensors[0]
    if first.ndim == 0:
        raise ShapeError("concat: zero-dimensional tensors cannot be concatenated")
    ax = normalize_axis(axis, first.ndim, "concat")
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first.shape, strict=True)) if i != ax
        ):
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"concat: shapes {shapes} must match except in axis {ax}")
    dtype = first.dtype
    for t in tensors[1:]:
        dtype = promote(dtype, t.dtype)
    node = B.make("concat", tuple(B.cast(t._node, dtype) for t in tensors), axis=ax)
    return wrap(node, tensors)


@user_op("stack")
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    if any(t.shape != tensors[0].shape for t in tensors):
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    ax = normalize_axis(axis, tensors[0].ndim + 1, "stack")
    out = concat([unsqueeze(t, ax) for t in tensors], axis=ax)
    record_op(out._node, tensors, "StackBackward")
    return out
