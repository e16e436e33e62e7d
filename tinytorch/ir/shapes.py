"""Shape arithmetic shared by the op rules: broadcasting, axis normalisation, reshape ``-1``."""

from __future__ import annotations

import functools
import numbers
from collections.abc import Iterable, Sequence

from tinytorch.ir.errors import ShapeError
from tinytorch.ir.node import Shape


def prod(dims: Iterable[int]) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def broadcast_shapes(*shapes: Shape, op: str = "op") -> Shape:
    """NumPy broadcasting: align right, each pair of dims equal or one of them 1."""
    try:
        out = _broadcast_two(*shapes) if len(shapes) == 2 else None
    except TypeError:  # unhashable (list) shapes: the general path below
        out = None
    return out if out is not None else _broadcast_general(shapes, op)


@functools.lru_cache(maxsize=4096)
def _broadcast_two(a: Shape, b: Shape) -> Shape | None:
    """The common case, remembered: a training step broadcasts the same pairs every step.
    None when the shapes do not broadcast (the general path then raises the error)."""
    if len(a) < len(b):
        a, b = b, a
    out = list(a)
    for i in range(1, len(b) + 1):
        x, y = a[-i], b[-i]
        if x != y:
            if x == 1:
                out[-i] = y
            elif y != 1:
                return None
    return tuple(out)


def _broadcast_general(shapes: Sequence[Shape], op: str) -> Shape:
    ndim = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for i in range(-ndim, 0):
        dims = {s[i] for s in shapes if len(s) >= -i} - {1}
        if len(dims) > 1:
            listed = " and ".join(str(tuple(s)) for s in shapes)
            raise ShapeError(
                f"{op}: operands could not be broadcast together with shapes {listed} "
                f"(dimension {i} has sizes {sorted(dims)})"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def _describe(ndim: int, shape: Shape | None) -> str:
    if shape is not None:
        return f"a tensor of shape {tuple(shape)}"
    return f"a tensor with {ndim} dimension(s)"


def normalize_axis(axis: int, ndim: int, op: str = "op", shape: Shape | None = None) -> int:
    """``-1`` means the last axis. Out of range is a ShapeError (an IndexError in NumPy).
    Any integer counts, NumPy's included (``np.int64(1)``); bools and floats do not."""
    if type(axis) is not int:
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(
                f"{op}: axis must be an int, got {axis!r} ({type(axis).__name__}) "
                f"for {_describe(ndim, shape)}"
            )
        axis = int(axis)
    if ndim == 0:  # a scalar has one "axis" to name, 0 or -1, as in PyTorch
        if axis not in (0, -1):
            raise ShapeError(f"{op}: axis {axis} is out of range for a 0-dimensional tensor")
        return 0
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for {_describe(ndim, shape)}")
    return axis % ndim


def normalize_axes(
    axis: int | Sequence[int] | None, ndim: int, op: str = "op", shape: Shape | None = None
) -> tuple[int, ...]:
    """``None`` means every axis; returns sorted, unique, non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, numbers.Integral):
        axes: tuple = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        raise TypeError(
            f"{op}: axis must be an int or a tuple of ints, got {axis!r} "
            f"({type(axis).__name__}) for {_describe(ndim, shape)}"
        )
    out = sorted({normalize_axis(a, ndim, op, shape) for a in axes})
    if len(out) != len(axes):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return tuple(out)


def as_sizes(dims: Sequence, op: str, shape: Shape) -> Shape:
    """Sizes given to ``reshape``/``expand`` as ints. Python and NumPy integers are fine;
    anything else (``2.5``, ``"a"``, a nested tuple) is a TypeError naming the op and the
    tensor's shape, never silently truncated."""
    for d in dims:
        if type(d) is not int and (isinstance(d, bool) or not isinstance(d, numbers.Integral)):
            raise TypeError(
                f"{op}: sizes must be integers, got {d!r} ({type(d).__name__}) in "
                f"{tuple(dims)!r} for a tensor of shape {tuple(shape)}"
            )
    return tuple(int(d) for d in dims)


def reduced_shape(shape: Shape, axes: Sequence[int], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def infer_reshape(size: int, shape: Sequence[int], op: str = "reshape") -> Shape:
    """Resolve one ``-1``; the sizes must match (the book's message)."""
    shape = tuple(int(d) for d in shape)
    if shape.count(-1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    if any(d < -1 for d in shape):
        raise ShapeError(f"{op}: invalid dimension in shape {shape}")
    if -1 in shape:
        known = prod(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ShapeError(
                f"Total elements must match: {size} ≠ {shape} "
                f"(cannot reshape array of size {size} into shape {shape})"
            )
        shape = tuple(size // known if d == -1 else d for d in shape)
    if prod(shape) != size:
        raise ShapeError(
            f"Total elements must match: {size} ≠ {prod(shape)} "
            f"(cannot reshape array of size {size} into shape {shape})"
        )
    return shape
