"""The IR's one data structure: an immutable, typed operation node.

A lazy tensor is nothing but a pointer to a :class:`Node`. A node says *what* to compute
(``op`` and ``attrs``), *from what* (``inputs``), *what comes out* (``shape``, ``dtype``) and
*who asked for it* (``src``, the user's ``file:line``). Nothing is computed when a node is made.

Nodes are compared by identity (two ``x + 1`` written on two lines are two nodes); their
*structure* is available as :attr:`Node.key` for hashing, CSE and plan caching. Everything
that is not structure (a realized value, profiling numbers, the fusion group a pass chose,
whether autograd tracks the node) lives in the mutable, unhashed ``meta`` dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The dtypes a node may have are defined in tinytorch.ir.dtypes; the names stay importable
# from here too.
from tinytorch.ir.dtypes import DTYPES, FLOAT_DTYPES, INT_DTYPES

__all__ = ["DTYPES", "FLOAT_DTYPES", "INT_DTYPES", "Node", "Shape"]

Shape = tuple[int, ...]


def _freeze(value: Any) -> Any:
    """Make an attribute value hashable (lists become tuples, recursively)."""
    if isinstance(value, _SEQUENCES):
        return tuple([_freeze(v) if isinstance(v, _SEQUENCES) else v for v in value])
    return value


_SEQUENCES = (list, tuple)


class Node:
    """One operation in a lazy graph. Treat every field except ``meta`` as read-only."""

    __slots__ = ("op", "inputs", "shape", "dtype", "attrs", "src", "meta", "_key", "__weakref__")

    def __init__(
        self,
        op: str,
        inputs: Iterable[Node],
        shape: Iterable[int],
        dtype: str,
        attrs: Mapping[str, Any] | None = None,
        src: str | None = None,
    ) -> None:
        self.op = op
        self.inputs: tuple[Node, ...] = tuple(inputs)
        self.shape: Shape = tuple(map(int, shape))
        self.dtype = dtype if type(dtype) is str else str(dtype)
        self.attrs: dict[str, Any] = (
            {k: _freeze(v) if isinstance(v, _SEQUENCES) else v for k, v in attrs.items()}
            if attrs
            else {}
        )
        self.src = src
        self.meta: dict[str, Any] = {}
        self._key: tuple | None = None

    # ----------------------------------------------------------------- structure
    @property
    def key(self) -> tuple:
        """The node's own structure, without its inputs: ``(op, attrs, shape, dtype)``."""
        if self._key is None:
            attrs = self.attrs
            items = tuple(sorted(attrs.items())) if len(attrs) > 1 else tuple(attrs.items())
            self._key = (self.op, items, self.shape, self.dtype)
        return self._key

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_leaf(self) -> bool:
        return not self.inputs

    @property
    def value(self) -> Any:
        """The realized NumPy array, or ``None`` while the node is still lazy."""
        return self.meta.get("value")

    def with_inputs(self, inputs: Iterable[Node]) -> Node:
        """A copy of this node reading from other inputs (passes rewrite this way)."""
        new = Node(self.op, inputs, self.shape, self.dtype, self.attrs, self.src)
        for k in ("requires_grad", "grad_label"):
            if k in self.meta:
                new.meta[k] = self.meta[k]
        return new

    def __repr__(self) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in sorted(self.attrs.items()))
        dims = ",".join(str(d) for d in self.shape)
        return f"<Node {self.op}({attrs}) {self.dtype}[{dims}]>"
