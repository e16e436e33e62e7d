"""Matrix multiplication: an opaque op (the backends hand it to BLAS).

The IR form is strict: both inputs at least 2-D, equal batch dimensions. The frontend turns
NumPy's conveniences (1-D operands, broadcast batch dimensions) into ``reshape``/``expand``
nodes around it, so every backend sees one simple contract.
"""

from __future__ import annotations

import numpy as np

from tinytorch.ir import build as B
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.ops._rules import same_shape
from tinytorch.ir.registry import OpDef, nbytes, register


def _matmul_infer(shapes, dtypes, attrs):
    a, b = shapes
    if len(a) < 2 or len(b) < 2 or a[:-2] != b[:-2] or a[-1] != b[-2]:
        raise ShapeError(
            f"Cannot perform matrix multiplication: {a} @ {b}. "
            f"Inner dimensions must match: {a[-1] if a else None} ≠ "
            f"{b[-2] if len(b) > 1 else None}"
        )
    same_shape("matmul", [(), ()], dtypes)
    return a[:-1] + (b[-1],), dtypes[0]


def _matmul_cost(node):
    a, b = node.inputs
    return 2 * node.size * a.shape[-1], nbytes(a) + nbytes(b) + nbytes(node)


def _matmul_vjp(node, g):
    """dA = dC @ B^T and dB = A^T @ dC (the book's MatmulBackward, batched)."""
    a, b = node.inputs
    return B.make("matmul", (g, B.swap_last(b))), B.make("matmul", (B.swap_last(a), g))


register(
    OpDef(
        name="matmul",
        kind="opaque",
        arity=2,
        infer=_matmul_infer,
        numpy=lambda n, a, b: np.matmul(a, b),
        vjp=_matmul_vjp,
        cost=_matmul_cost,
    )
)
