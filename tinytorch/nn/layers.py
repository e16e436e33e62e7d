"""Layers (book Module 03): ``Linear``, ``Dropout``, ``Sequential``, ``Flatten``.

Nothing computes here: ``Linear(784, 256)(x)`` adds a matmul and an add node to the lazy
graph. The base class, with the parameter walk, ``train()``/``eval()`` and state dicts, is
:class:`tinytorch.nn.module.Layer`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinytorch.frontend import tracing
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.module import Layer, positive_int

XAVIER_SCALE_FACTOR = 1.0  # the book names it and implies 1.0: scale = sqrt(1 / in_features)
DROPOUT_MIN_PROB = 0.0  # p == 0: dropout is the identity
DROPOUT_MAX_PROB = 1.0  # p == 1: everything is dropped


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
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
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
    reproduces it, and a training step's compiled plan is reused with each new mask (a
    ``tinytorch.compile``-d step draws a new mask at every replay).
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
        shape = x.shape
        mask = tracing.fresh(lambda: np.random.random(shape) < keep_prob, np.float32)
        return x * mask * (1.0 / keep_prob)

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
