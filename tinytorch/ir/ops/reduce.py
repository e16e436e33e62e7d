"""Reductions over a set of axes: ``sum``, ``max``, ``min``, ``argmax``.

``mean`` and ``var`` are not ops: the frontend writes them with ``sum`` and elementwise ops,
so the fusion pass can turn ``mean``/``var``/normalise into one kernel.
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir import build as B
from tinytorch.ir.dtypes import is_bool
from tinytorch.ir.errors import DTypeError
from tinytorch.ir.registry import OpDef, nbytes, register
from tinytorch.ir.shapes import normalize_axes, reduced_shape


def _reduce_infer(op):
    def infer(shapes, dtypes, attrs):
        axes = normalize_axes(attrs["axes"], len(shapes[0]), op)
        if tuple(attrs["axes"]) != axes:
            raise ValueError(
                f"{op}: axes must be normalised (sorted, non-negative), got {attrs['axes']}"
            )
        # A 0-d tensor has one element and no real axis: its axis 0 (or -1) reduces nothing.
        if op in ("max", "min") and any(shapes[0][a] == 0 for a in axes if a < len(shapes[0])):
            raise ValueError(
                f"{op}: cannot reduce over an empty axis of shape {shapes[0]} "
                "(a maximum of nothing is undefined)"
            )
        dtype = dtypes[0]
        if op == "sum" and is_bool(dtype):
            dtype = "int64"
        return reduced_shape(shapes[0], axes, attrs["keepdims"]), dtype

    return infer


def _reduce_cost(node):
    (x,) = node.inputs
    return x.size, nbytes(x) + nbytes(node)


def _keepdims_shape(node):
    x = node.inputs[0]
    return reduced_shape(x.shape, node.attrs["axes"], True)


def _sum_vjp(node, g):
    """Every input element contributed once: spread the gradient back over the axes."""
    x = node.inputs[0]
    return (B.expand(B.reshape(g, _keepdims_shape(node)), x.shape),)


def _extremum_vjp(node, g):
    """Only the elements equal to the extremum get gradient, shared evenly among ties."""
    x = node.inputs[0]
    kd = _keepdims_shape(node)
    hit = B.make("eq", (x, B.expand(B.reshape(node, kd), x.shape)))
    hit_f = B.cast(hit, x.dtype)
    count = B.reduce_sum(hit_f, node.attrs["axes"], keepdims=True)
    share = B.div(B.reshape(g, kd), count)
    return (B.mul(hit_f, B.expand(share, x.shape)),)


def _kernel(fn):
    def kernel(node, x):
        axes = node.attrs["axes"] if x.ndim else None  # NumPy refuses axis=(0,) on 0-d
        out = fn(x, axis=axes, keepdims=node.attrs["keepdims"])
        return np.asarray(out, dtype=node.dtype)

    return kernel


for _name, _fn, _vjp in (
    ("sum", np.sum, _sum_vjp),
    ("max", np.max, _extremum_vjp),
    ("min", np.min, _extremum_vjp),
):
    register(
        OpDef(
            name=_name,
            kind="reduce",
            arity=1,
            infer=_reduce_infer(_name),
            numpy=_kernel(_fn),
            vjp=_vjp,
            cost=_reduce_cost,
        )
    )


def _argmax_infer(shapes, dtypes, attrs):
    shape = shapes[0]
    axis = attrs["axis"]
    if is_bool(dtypes[0]):
        raise DTypeError("argmax: not defined for bool tensors")
    if axis is None:
        if 0 in shape:
            raise ValueError(f"argmax: cannot take argmax of an empty tensor of shape {shape}")
        return ((1,) * len(shape) if attrs["keepdims"] else ()), "int64"
    if normalize_axes(axis, len(shape), "argmax") != (axis,):
        raise ValueError(f"argmax: axis must be normalised (non-negative), got {axis}")
    if not shape:
        return (), "int64"  # the one element of a 0-d tensor is at index 0
    if shape[axis] == 0:
        raise ValueError(f"argmax: cannot take argmax over an empty axis of shape {shape}")
    return reduced_shape(shape, (axis,), attrs["keepdims"]), "int64"


def _argmax_kernel(node, x):
    axis = node.attrs["axis"] if x.ndim else None
    out = np.argmax(x, axis=axis, keepdims=node.attrs["keepdims"])
    return np.asarray(out, dtype=np.int64)


register(
    OpDef(
        name="argmax",
        kind="reduce",
        arity=1,
        infer=_argmax_infer,
        numpy=_argmax_kernel,
        differentiable=False,
        cost=_reduce_cost,
    )
)
