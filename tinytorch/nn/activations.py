"""Activations (book Module 02) as callable classes, built on the graph ops.

Each is also a Tensor method (``x.relu()``). Activations have no parameters, but do answer
``parameters() -> []`` so ``Sequential`` can ask every layer (spec §3.4 ambiguity).
"""

from __future__ import annotations

from tinytorch.frontend import functional as F
from tinytorch.frontend.tensor import Tensor
from tinytorch.nn.module import as_layer_input


class Activation:
    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor, *args, **kwargs) -> Tensor:
        if not isinstance(x, Tensor):
            x = as_layer_input(self, x)  # lists and arrays become constants, as for layers
        return self.forward(x, *args, **kwargs)

    def parameters(self) -> list[Tensor]:
        return []

    def backward(self, grad: Tensor) -> Tensor:
        """The book's Module 02 stub. Gradients come from autograd (``loss.backward()``)."""
        raise NotImplementedError(
            f"{type(self).__name__}.backward is handled by autograd: call .backward() on "
            "the loss and read .grad"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Activation):
    """max(0, x). Its gradient is exactly 1 for positive inputs and 0 otherwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Sigmoid(Activation):
    """1 / (1 + e^-x), in the book's stable two-branch form (never overflows)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Activation):
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class GELU(Activation):
    """x·Φ(x) in the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).

    The book's Module 02 leaves the formula open (spec §2 [AMBIG]: "x·Φ(x)", and a mention
    of a sigmoid approximation); we use the tanh form the book itself uses later (its
    transformer chapters), which is also PyTorch's ``approximate="tanh"``.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x)


class Softmax(Activation):
    """e^(x - max) / Σ e^(x - max) along ``dim`` (default the last axis)."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: Tensor, dim: int | None = None) -> Tensor:
        return F.softmax(x, self.dim if dim is None else dim)
