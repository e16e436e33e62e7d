"""Typed errors a user can catch. Shape errors are ``ValueError`` and dtype errors are
``TypeError``, so the book's ``except ValueError`` / ``pytest.raises(ValueError)`` keep working."""

from __future__ import annotations


class ShapeError(ValueError):
    """Shapes that do not fit the op (broadcasting, matmul, reshape, concat, axis range)."""


class DTypeError(TypeError):
    """A dtype the op does not accept (for example ``requires_grad`` on integers)."""


class OutOfRangeError(OverflowError, ValueError):
    """A value the tensor's dtype cannot hold (``Tensor([2**63])`` as int64, ``t * 2**70``).
    Refused rather than wrapped around; also a ``ValueError`` so ``except ValueError``
    catches it."""


class RealizeError(RuntimeError):
    """Computing a node failed inside a backend. Names the op and the user's line."""

    def __init__(self, message: str, op: str | None = None, src: str | None = None) -> None:
        super().__init__(message)
        self.op = op
        self.src = src
