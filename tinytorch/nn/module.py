"""The ``Layer`` base class (book Module 03): what every layer, loss-free model and
container shares.

A layer is a callable object that owns parameters and builds graph in ``forward``. The
book's ``Layer`` has ``forward``, ``__call__`` and ``parameters() -> list``. As PyTorch users
expect, the base class also finds parameters by itself and adds:

* ``train()`` / ``eval()``: set ``self.training`` on the layer and on every sub-layer found in
  its attributes (directly, or inside lists, tuples and dicts). This is how the Trainer's
  "model.training = False" reaches a ``Dropout`` buried in a ``Sequential`` — the book leaves
  that path open (spec §3.4, §8.10);
* ``named_parameters()`` with dotted names (``layers.0.weight``), ``state_dict()`` /
  ``load_state_dict()`` with NumPy arrays under those names, and ``zero_grad()``.

What counts as a parameter: a leaf ``Tensor`` attribute with ``requires_grad=True``, in the
order the attributes were assigned, each tensor once. Objects that only answer
``parameters()`` (the activations, a user's own book-style layer) are asked for that list.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tinytorch.frontend import tracing
from tinytorch.frontend.tensor import Tensor


# ------------------------------------------------------------------ walking
def _children(obj: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted name, value) for the items of a container attribute."""
    if isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield f"{prefix}{i}", item
    elif isinstance(obj, Mapping):
        for key, item in obj.items():
            if isinstance(key, str):
                yield f"{prefix}{key}", item


def _walk_parameters(
    obj: Any, prefix: str, seen: set[int], visiting: set[int]
) -> Iterator[tuple[str, Tensor]]:
    if isinstance(obj, Tensor):
        if obj.requires_grad and obj.is_leaf and id(obj) not in seen:
            seen.add(id(obj))
            yield prefix.rstrip("."), obj
        return
    if id(obj) in visiting:  # a layer that refers back to a parent
        return
    if isinstance(obj, Layer):
        visiting.add(id(obj))
        for name, value in vars(obj).items():
            yield from _walk_parameters(value, f"{prefix}{name}.", seen, visiting)
        visiting.discard(id(obj))
    elif isinstance(obj, (list, tuple, Mapping)):
        visiting.add(id(obj))
        for name, value in _children(obj, prefix):
            yield from _walk_parameters(value, f"{name}.", seen, visiting)
        visiting.discard(id(obj))
    elif callable(getattr(obj, "parameters", None)) and not isinstance(obj, type):
        for i, p in enumerate(obj.parameters()):
            yield from _walk_parameters(p, f"{prefix}{i}.", seen, visiting)


def _sublayers(layer: Layer) -> Iterator[Layer]:
    """Every Layer reachable from ``layer``'s attributes (and containers), once each."""
    seen = {id(layer)}
    todo: list[Any] = list(vars(layer).values())
    while todo:
        obj = todo.pop()
        if isinstance(obj, Layer):
            if id(obj) not in seen:
                seen.add(id(obj))
                yield obj
                todo.extend(vars(obj).values())
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
        elif isinstance(obj, Mapping):
            todo.extend(obj.values())


# --------------------------------------------------------------------- Layer
class Layer:
    """Base class of every layer: override ``forward``; call the layer like a function.

    ``training`` is a class attribute (``True``) so that a subclass written the book's way,
    without calling ``super().__init__()``, still has it.
    """

    training: bool = True

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        tracing.guard(self, "training")  # a compiled step re-traces after train()/eval()
        if not isinstance(x, Tensor):
            x = as_layer_input(self, x)
        return self.forward(x, *args, **kwargs)

    # ------------------------------------------------------------ parameters
    def named_parameters(self) -> list[tuple[str, Tensor]]:
        """``[(dotted_name, tensor), ...]`` in attribute order, e.g. ``layers.0.weight``."""
        return list(_walk_parameters(self, "", set(), set()))

    def parameters(self) -> list[Tensor]:
        """The trainable tensors, as a list (the book's choice; PyTorch gives a generator)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``, as ``Optimizer.zero_grad``)."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Layer:
        """Set ``training`` here and in every sub-layer (Dropout reads it). Returns self."""
        self.training = bool(mode)
        for layer in _sublayers(self):
            layer.training = bool(mode)
        return self

    def eval(self) -> Layer:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, keyed by its dotted name."""
        return {name: np.array(p.data, copy=True) for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from ``state`` (arrays or Tensors, keyed as ``state_dict``).

        Names and shapes must match exactly; otherwise a ``ValueError`` lists every missing,
        unexpected and wrongly shaped entry, and no parameter is changed.
        """
        params = dict(self.named_parameters())
        arrays = {k: np.asarray(v.data if isinstance(v, Tensor) else v) for k, v in state.items()}
        problems = state_mismatches(
            {k: p.shape for k, p in params.items()}, {k: a.shape for k, a in arrays.items()}
        )
        if problems:
            raise ValueError(
                f"state does not fit {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        for name, p in params.items():
            p.data = np.array(arrays[name], dtype=p.dtype, copy=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


ARRAY_LIKE = (list, tuple, np.ndarray, np.generic, numbers.Number)


def as_layer_input(layer: Any, x: Any) -> Any:
    """Every layer (and activation) accepts array-likes as input: a list, tuple, ndarray or
    number becomes a constant ``Tensor`` (no gradient), as the losses already do. So
    ``Linear(3, 2)(np.ones((2, 3)))`` works like ``Linear(3, 2)(Tensor(np.ones((2, 3))))``.
    A list that holds tensors is left alone (a layer may take several inputs), and so is
    anything else, for a user's layer to handle or refuse."""
    if isinstance(x, ARRAY_LIKE) and not (
        isinstance(x, (list, tuple)) and any(isinstance(v, (Tensor, Layer)) for v in x)
    ):
        return Tensor(x)
    return x


def state_mismatches(
    expected: Mapping[str, tuple[int, ...]], given: Mapping[str, tuple[int, ...]]
) -> list[str]:
    """Human-readable differences between two ``{name: shape}`` maps (empty if they agree)."""
    problems = [f"missing: {k} {tuple(s)}" for k, s in expected.items() if k not in given]
    problems += [f"unexpected: {k} {tuple(s)}" for k, s in given.items() if k not in expected]
    problems += [
        f"shape of {k}: expected {tuple(s)}, got {tuple(given[k])}"
        for k, s in expected.items()
        if k in given and tuple(given[k]) != tuple(s)
    ]
    return problems


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int, for a layer's size argument: a TypeError for non-integers (bools
    included), a ValueError for zero or negatives."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)
