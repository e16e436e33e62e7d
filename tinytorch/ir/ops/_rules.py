"""Shape/dtype rules shared by several op families."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinytorch.ir.dtypes import DTYPES, is_bool, is_float
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.node import Shape


def same_shape(op: str, shapes: Sequence[Shape], dtypes: Sequence[str]) -> None:
    """Elementwise ops read inputs of one shape and one dtype; the frontend inserts the
    ``expand`` and ``cast`` nodes that make them so (broadcasting is explicit in the IR)."""
    first_shape, first_dtype = shapes[0], dtypes[0]
    for s in shapes:  # a plain loop: this runs for every elementwise node built
        if s != first_shape:
            raise ShapeError(
                f"{op}: inputs must have one shape after broadcasting, got {list(shapes)}"
            )
    for d in dtypes:
        if d != first_dtype:
            raise DTypeError(f"{op}: inputs must have one dtype, got {list(dtypes)}")


def check_dtype(op: str, dtype: Any) -> str:
    dtype = str(dtype)
    if dtype not in DTYPES:
        raise DTypeError(f"{op}: unsupported dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    return dtype


def unary_float(op: str):
    """Rule for ``exp``, ``log``...: one float input, same shape and dtype out."""

    def infer(shapes, dtypes, attrs):
        if not is_float(dtypes[0]):
            raise DTypeError(f"{op}: needs a floating-point input, got {dtypes[0]}")
        return shapes[0], dtypes[0]

    return infer


def unary_same(op: str):
    def infer(shapes, dtypes, attrs):
        if is_bool(dtypes[0]):
            raise DTypeError(f"{op}: not defined for bool tensors")
        return shapes[0], dtypes[0]

    return infer


def binary_same(op: str, out_dtype: str | None = None):
    """Rule for ``add``, ``lt``...: two inputs of one shape and dtype."""

    def infer(shapes, dtypes, attrs):
        same_shape(op, shapes, dtypes)
        return shapes[0], out_dtype or dtypes[0]

    return infer
