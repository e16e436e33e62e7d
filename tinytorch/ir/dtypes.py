"""Dtype facts, defined once: which dtypes exist, what each one is, how many bytes it takes.

A dtype in the IR is a plain string, NumPy's name for it (``"float32"``, ``"int64"``,
``"bool"``), so a node's dtype can be handed to NumPy as it is. Every layer that needs to know
something *about* a dtype asks this module instead of inspecting the string itself:

* :func:`is_float`, :func:`is_int`, :func:`is_bool` sort the dtypes into three families
  (floats are the differentiable ones; ``uint8`` counts as an integer);
* :func:`itemsize` gives the bytes of one element, which the profiler turns into GB/s and a
  compiling backend into the width of its machine types.

The three families partition :data:`DTYPES`: every dtype is exactly one of them.
"""

from __future__ import annotations

FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int8", "uint8", "int16", "int32", "int64")
DTYPES = ("bool", *INT_DTYPES, *FLOAT_DTYPES)

# Bytes per element, as NumPy stores them (a bool takes a whole byte).
ITEMSIZE: dict[str, int] = {
    "bool": 1,
    "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8,
    "float16": 2, "float32": 4, "float64": 8,
}  # fmt: skip


def itemsize(dtype: str) -> int:
    """Bytes of one element of ``dtype``."""
    return ITEMSIZE[dtype]


def is_float(dtype: str) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: str) -> bool:
    return dtype in INT_DTYPES


def is_bool(dtype: str) -> bool:
    return dtype == "bool"
