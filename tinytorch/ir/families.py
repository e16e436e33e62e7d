"""Op families: the groups of ops that several layers treat alike, named in one place.

The fusion pass, the LLVM code generator and the runtime all need to ask "is this op a
view?" or "is this a reduction?". They ask here, so the answer cannot drift apart between
them.

* **Views** — ``reshape``, ``permute``, ``slice``, ``expand`` — compute nothing: each output
  element *is* one input element, found at another position. NumPy returns them as views
  sharing the input's memory; a compiled kernel reads through them with index arithmetic (a
  broadcast is a stride of 0); the fusion pass lets them join any kernel. ``concat`` and
  ``slice_scatter`` also only move data (kind ``injective``), but they build a new array, so
  they are not views.
* **Reductions** — ``sum``, ``max``, ``min`` — fold the reduced axes with an associative
  combine (``+``, ``max``, ``min``) starting from its identity, so a kernel can keep one
  running accumulator per row. ``argmax`` has kind ``reduce`` too, but its result is a
  position, not a combined value: it is not in this family and runs alone.
* **Comparisons** — ``lt``, ``le``, ``gt``, ``ge``, ``eq``, ``ne`` — are elementwise ops whose
  result is ``bool`` whatever their inputs' dtype (so they accept bool inputs that arithmetic
  refuses).
* **Elementwise** ops need no list: they are the ops whose registry ``kind`` is
  ``"elementwise"``.

Why sets of names here rather than a flag on each :class:`~tinytorch.ir.registry.OpDef`?
A family is a contract between layers: every member is handled *by name* by the code that
consumes it (the code generator rewrites an index differently for each view, and starts and
combines each reduction its own way). Seeing the whole family in one line is what a reader
of those layers needs; the op files say what each op computes. ``tests/ir`` checks that every
member is registered with the kind its family implies.
"""

from __future__ import annotations

from tinytorch.ir.registry import get

VIEWS = frozenset({"reshape", "permute", "slice", "expand"})
REDUCTIONS = frozenset({"sum", "max", "min"})
COMPARISONS = frozenset({"lt", "le", "gt", "ge", "eq", "ne"})


def is_view(op: str) -> bool:
    """Does ``op`` only re-address its input's elements (see the module docstring)?"""
    return op in VIEWS


def is_reduction(op: str) -> bool:
    """Is ``op`` a reduction a kernel computes with one accumulator per row?"""
    return op in REDUCTIONS


def is_elementwise(op: str) -> bool:
    """Does ``op`` compute each output element from the same position of each input?"""
    return get(op).kind == "elementwise"
