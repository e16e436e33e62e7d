"""``from tinytorch.core.tensor import Tensor`` (book Module 01)."""

from tinytorch.frontend.tensor import Tensor

__all__ = ["Tensor"]
