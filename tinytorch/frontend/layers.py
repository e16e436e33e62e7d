"""Layers (book Module 03): ``Layer``, ``Linear``, ``Dropout``, ``Sequential``, ``Flatten``.

A layer is a callable object that owns parameters and builds graph in ``forward``. Nothing
computes here: ``Linear(784, 256)(x)`` adds a matmul and an add node to the lazy graph.

The book's ``Layer`` has ``forward``, ``__call__`` and ``parameters() -> list``. As PyTorch
users expect, the base class also finds parameters by itself and adds:

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

from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError

XAVIER_SCALE_FACTOR = 1.0  # the book names it and implies 1.0: scale = sqrt(1 / in_features)
DROPOUT_MIN_PROB = 0.0  # p == 0: dropout is the identity
DROPOUT_MAX_PROB = 1.0  # p == 1: everything is dropped


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


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


# -------------------------------------------------------------------- Linear
class Linear(Layer):
    """``y = x @ W + b`` with ``W`` of shape ``(in_features, out_features)``.

    Initialisation is the book's: ``W = randn(in, out) * sqrt(XAVIER_SCALE_FACTOR / in)``
    (drawn from NumPy's global RNG, so ``np.random.seed`` reproduces it) and ``b = 0``.
    The weight is stored ``(in, out)`` as in the book, so ``forward`` needs no transpose
    (PyTorch stores ``(out, in)``). A wrong input width raises the book's matmul error:
    "Cannot perform matrix multiplication: (32, 128) @ (256, 10). Inner dimensions must
    match: 128 ≠ 256". ``parameters()`` (from ``Layer``) is ``[weight, bias]``, or just
    ``[weight]`` with ``bias=False``: the book's order, the order they are assigned here.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        scale = np.sqrt(XAVIER_SCALE_FACTOR / self.in_features)
        weight = np.random.randn(self.in_features, self.out_features) * scale
        self.weight = Tensor(weight.astype(np.float32), requires_grad=True)
        self.bias = (
            Tensor(np.zeros(self.out_features, dtype=np.float32), requires_grad=True)
            if bias
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = x.matmul(self.weight)
        if self.bias is not None:
            out = out + self.bias  # (out,) broadcasts over the batch
        return out

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )


# ------------------------------------------------------------------- Dropout
class Dropout(Layer):
    """Zero each element with probability ``p`` while training; scale survivors by 1/(1-p).

    The scaling keeps the expected value: E[out] = x, so inference (no dropout) needs no
    correction. ``forward(x, training=None)``: the book passes ``training`` by hand (its
    default is True); here ``None`` means "use ``self.training``", which ``train()``,
    ``eval()`` and the Trainer set — so the Trainer's mode reaches Dropout inside a
    ``Sequential`` (the book's ambiguity, spec §3.4). Passing ``training=`` still works.

    The mask is drawn with NumPy's global RNG (``np.random.random``) each time ``forward``
    runs and enters the graph as a data buffer, not as structure: seeding ``np.random``
    reproduces it, and a training step's compiled plan is reused with each new mask.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not isinstance(p, numbers.Real) or isinstance(p, bool):
            raise TypeError(f"Dropout probability must be a number, got {type(p).__name__}")
        if not DROPOUT_MIN_PROB <= p <= DROPOUT_MAX_PROB:
            raise ValueError(f"Dropout probability must be between 0 and 1, got {p}")
        self.p = float(p)

    def forward(self, x: Tensor, training: bool | None = None) -> Tensor:
        if training is None:
            training = self.training
        if not training or self.p == DROPOUT_MIN_PROB:
            return x  # the same object, as in the book
        if self.p == DROPOUT_MAX_PROB:
            # Every element dropped: zeros that stay in the graph (gradient 0), rather than
            # the book's new graph-less Tensor, so backward still reaches earlier layers.
            return x * Tensor(np.zeros(x.shape, dtype=np.float32))
        keep_prob = 1.0 - self.p
        mask = (np.random.random(x.shape) < keep_prob).astype(np.float32)
        return x * Tensor(mask) * (1.0 / keep_prob)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


# ---------------------------------------------------------------- Sequential
class Sequential(Layer):
    """Layers applied in order: ``Sequential(Linear(2, 4), ReLU(), Linear(4, 1))``.

    Also accepts one list or tuple (``Sequential([l1, l2])``). ``layers`` is the book's list;
    ``parameters()`` collects every layer's parameters in order (activations give ``[]``).
    """

    def __init__(self, *layers: Any) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} ({type(layer).__name__}) is not callable")
        self.layers = list(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)" if inner else "Sequential()"


# ------------------------------------------------------------------- Flatten
class Flatten(Layer):
    """Flatten every dimension after the batch: ``(N, C, H, W) -> (N, C*H*W)``.

    ``start_dim=1`` (keep the batch dim) and ``end_dim=-1``, as ``torch.nn.Flatten``.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim <= self.start_dim and self.start_dim >= 0:
            raise ShapeError(
                f"Flatten(start_dim={self.start_dim}) needs at least {self.start_dim + 1} "
                f"dimensions (a batch dimension first), got shape {x.shape}"
            )
        return x.flatten(self.start_dim, self.end_dim)

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"
