"""Ops that move data without arithmetic: ``reshape``, ``permute``, ``expand``, ``slice``,
``slice_scatter`` (the gradient of ``slice``) and ``concat``.

On realized contiguous data, ``reshape``, ``permute``, ``expand`` and ``slice`` are *views*
in the NumPy backend (the book's "views vs copies", §1.3): they share memory with their input.
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir import build as B
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.registry import OpDef, nbytes, register
from tinytorch.ir.shapes import broadcast_shapes, normalize_axis, prod


def _view_cost(node):
    return 0, 0  # a view moves no data; a backend that copies reports it itself


def _copy_cost(node):
    return 0, 2 * nbytes(node)


# ----------------------------------------------------------------------- reshape
def _reshape_infer(shapes, dtypes, attrs):
    shape = tuple(attrs["shape"])
    if prod(shape) != prod(shapes[0]) or any(d < 0 for d in shape):
        raise ShapeError(
            f"reshape: cannot reshape array of size {prod(shapes[0])} into shape {shape}"
        )
    return shape, dtypes[0]


register(
    OpDef(
        name="reshape",
        kind="injective",
        arity=1,
        infer=_reshape_infer,
        numpy=lambda n, x: np.reshape(x, n.shape),
        vjp=lambda n, g: (B.reshape(g, n.inputs[0].shape),),
        cost=_view_cost,
    )
)


# ----------------------------------------------------------------------- permute
def _permute_infer(shapes, dtypes, attrs):
    perm = tuple(attrs["perm"])
    if sorted(perm) != list(range(len(shapes[0]))):
        raise ShapeError(
            f"permute: {perm} is not a permutation of the {len(shapes[0])} "
            f"axes of shape {shapes[0]}"
        )
    return tuple(shapes[0][p] for p in perm), dtypes[0]


def _permute_vjp(node, g):
    perm = node.attrs["perm"]
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return (B.permute(g, inverse),)


register(
    OpDef(
        name="permute",
        kind="injective",
        arity=1,
        infer=_permute_infer,
        numpy=lambda n, x: np.transpose(x, n.attrs["perm"]),
        vjp=_permute_vjp,
        cost=_view_cost,
    )
)


# ------------------------------------------------------------------------ expand
def _expand_infer(shapes, dtypes, attrs):
    target = tuple(attrs["shape"])
    src = shapes[0]
    if (
        len(target) < len(src)
        or any(d < 0 for d in target)
        or broadcast_shapes(src, target, op="expand") != target
    ):
        raise ShapeError(f"expand: cannot broadcast shape {src} to {target}")
    return target, dtypes[0]


register(
    OpDef(
        name="expand",
        kind="broadcast",
        arity=1,
        infer=_expand_infer,
        numpy=lambda n, x: np.broadcast_to(x, n.shape),
        vjp=lambda n, g: (B.sum_to_shape(g, n.inputs[0].shape),),
        cost=_view_cost,
    )
)


# ------------------------------------------------------------------------- slice
def _slice_shape(shape, attrs):
    return tuple(
        len(range(b, e, s))
        for b, e, s in zip(attrs["starts"], attrs["stops"], attrs["steps"], strict=True)
    )


def _slices(attrs):
    """NumPy slices for normalised ``range``-style triples. A stop of -1 with a negative step
    means "past the first element" (``None`` in a slice); an empty range is ``0:0``."""
    return tuple(
        slice(0, 0, 1) if not len(range(b, e, s)) else slice(b, None if e < 0 else e, s)
        for b, e, s in zip(attrs["starts"], attrs["stops"], attrs["steps"], strict=True)
    )


def _slice_infer(shapes, dtypes, attrs):
    """Normalised slices: one ``(start, stop, step)`` per axis, as ``range`` would take."""
    if len(attrs["starts"]) != len(shapes[0]):
        raise ShapeError(f"slice: {len(attrs['starts'])} slices for shape {shapes[0]}")
    if any(s == 0 for s in attrs["steps"]):
        raise ShapeError("slice: step cannot be zero")
    return _slice_shape(shapes[0], attrs), dtypes[0]


def _slice_vjp(node, g):
    x = node.inputs[0]
    return (
        B.make(
            "slice_scatter",
            (g,),
            shape=x.shape,
            starts=node.attrs["starts"],
            stops=node.attrs["stops"],
            steps=node.attrs["steps"],
        ),
    )


register(
    OpDef(
        name="slice",
        kind="injective",
        arity=1,
        infer=_slice_infer,
        numpy=lambda n, x: x[_slices(n.attrs)],
        vjp=_slice_vjp,
        cost=_view_cost,
    )
)


def _slice_scatter_infer(shapes, dtypes, attrs):
    full = tuple(attrs["shape"])
    if _slice_shape(full, attrs) != shapes[0]:
        raise ShapeError(
            f"slice_scatter: values of shape {shapes[0]} do not fill the slice of {full}"
        )
    return full, dtypes[0]


def _slice_scatter_kernel(node, values):
    out = np.zeros(node.shape, dtype=node.dtype)
    out[_slices(node.attrs)] = values
    return out


register(
    OpDef(
        name="slice_scatter",
        kind="injective",
        arity=1,
        infer=_slice_scatter_infer,
        numpy=_slice_scatter_kernel,
        cost=_copy_cost,
        vjp=lambda n, g: (
            B.make(
                "slice",
                (g,),
                starts=n.attrs["starts"],
                stops=n.attrs["stops"],
                steps=n.attrs["steps"],
            ),
        ),
        doc="Zeros of `shape` with `values` written into the slice: the gradient of `slice`.",
    )
)


# ------------------------------------------------------------------------ concat
def _concat_infer(shapes, dtypes, attrs):
    if not shapes:
        raise ShapeError("concat: needs at least one tensor")
    first = shapes[0]
    if not first:
        raise ShapeError("concat: zero-dimensional tensors cannot be concatenated")
    axis = normalize_axis(attrs["axis"], len(first), "concat")  # -1 is the last axis
    for s, d in zip(shapes, dtypes, strict=True):
        if len(s) != len(first) or any(
            a != b for i, (a, b) in enumerate(zip(s, first, strict=True)) if i != axis
        ):
            raise ShapeError(f"concat: shapes {list(shapes)} differ outside axis {axis}")
        if d != dtypes[0]:
            raise DTypeError(f"concat: dtypes {list(dtypes)} differ")
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out), dtypes[0]


def _concat_vjp(node, g):
    axis = node.attrs["axis"] % g.ndim
    grads, offset = [], 0
    for x in node.inputs:
        starts = [0] * g.ndim
        stops = list(g.shape)
        starts[axis], stops[axis] = offset, offset + x.shape[axis]
        grads.append(
            B.make("slice", (g,), starts=tuple(starts), stops=tuple(stops), steps=(1,) * g.ndim)
        )
        offset += x.shape[axis]
    return tuple(grads)


register(
    OpDef(
        name="concat",
        kind="injective",
        arity=None,
        infer=_concat_infer,
        numpy=lambda n, *xs: np.concatenate(xs, axis=n.attrs["axis"]),
        vjp=_concat_vjp,
        cost=_copy_cost,
        grad_name="CatBackward",
    )
)
