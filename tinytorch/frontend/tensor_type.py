"""How the op functions hand back Tensors without importing ``tensor.py``.

``Tensor``'s methods call into ``functional``, ``indexing`` and ``autograd``, so those modules
cannot import ``tensor.py`` back: that would be an import cycle, where neither module can be
read on its own. Instead ``tensor.py`` registers its class here once, as it is imported, and
the op functions ask this module for it. (Only type annotations name ``Tensor`` directly.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor
    from tinytorch.ir.node import Node

_tensor_class: Any = None


def register_tensor_class(cls: type) -> None:
    """Called once by ``tensor.py`` right after ``class Tensor`` is defined."""
    global _tensor_class
    _tensor_class = cls


def tensor_class() -> type[Tensor]:
    """The ``Tensor`` class (for ``isinstance`` checks and constructing constants)."""
    return _tensor_class


def wrap(node: Node, parents: Sequence[Any], label: str | None = None) -> Tensor:
    """A new Tensor holding an op's result ``node``; ``parents`` are the tensors it read."""
    return _tensor_class._from_op(node, parents, label)


def as_tensor(x: Any) -> Tensor:
    """Tensors pass through; lists, arrays and scalars become constant tensors."""
    return x if isinstance(x, _tensor_class) else _tensor_class(x)
