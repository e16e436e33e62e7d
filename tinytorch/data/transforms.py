"""Augmentation (book Module 08): ``RandomHorizontalFlip``, ``RandomCrop``, ``Compose``, plus
``Normalize``.

Each works on one image at a time, a NumPy array or a Tensor shaped ``(..., H, W)``
(channels first, as ``Conv2d`` expects), and returns the same kind. Give
``DataLoader(..., transform=t)`` to apply it to the first field of every sample before
batching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch.data.loader import _as_array
from tinytorch.frontend.tensor import Tensor

# --------------------------------------------------------------------------- transforms


class Transform:
    """A per-sample augmentation: call it on one image ``(..., H, W)``.

    ``seed=None`` draws from NumPy's global generator (so ``np.random.seed`` makes a run
    reproducible); an int gives the transform its own generator.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _uniform(self) -> float:
        return float(self._rng.random() if self._rng is not None else np.random.random())

    def _integer(self, high: int) -> int:
        """A random int in ``[0, high)``."""
        return int(self._rng.integers(high) if self._rng is not None else np.random.randint(high))

    def apply(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: Any) -> Any:
        array = _as_array(image)
        if array.ndim < 2:
            raise ValueError(
                f"{type(self).__name__} expects an image shaped (..., H, W), got shape "
                f"{array.shape}"
            )
        out = self.apply(array)
        return Tensor(out) if isinstance(image, Tensor) else out


class RandomHorizontalFlip(Transform):
    """``RandomHorizontalFlip(p=0.5)``: mirror the image along its width (last) axis with
    probability ``p``."""

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip probability p must be in [0, 1], got {p}")
        super().__init__(seed)
        self.p = p

    def apply(self, image: np.ndarray) -> np.ndarray:
        if self._uniform() < self.p:
            return image[..., ::-1].copy()
        return image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(Transform):
    """``RandomCrop(size, padding=4)``: zero-pad ``padding`` pixels on each side, then cut a
    random ``size`` window (an int for a square, or ``(H, W)``). CIFAR-10's standard: pad
    32x32 to 40x40, crop back to 32x32."""

    def __init__(
        self, size: int | tuple[int, int], padding: int = 4, *, seed: int | None = None
    ) -> None:
        hw = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(hw) != 2 or any(int(s) <= 0 for s in hw):
            raise ValueError(f"RandomCrop size must be a positive int or (H, W), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop padding must be >= 0, got {padding}")
        super().__init__(seed)
        self.size = (int(hw[0]), int(hw[1]))
        self.padding = int(padding)

    def apply(self, image: np.ndarray) -> np.ndarray:
        p = self.padding
        if p:
            pad = [(0, 0)] * (image.ndim - 2) + [(p, p), (p, p)]
            image = np.pad(image, pad)
        h, w = self.size
        H, W = image.shape[-2:]
        if h > H or w > W:
            raise ValueError(
                f"RandomCrop size {self.size} is larger than the padded image ({H}, {W})"
            )
        top, left = self._integer(H - h + 1), self._integer(W - w + 1)
        return image[..., top : top + h, left : left + w].copy()

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class Normalize(Transform):
    """``Normalize(mean, std)``: ``(x - mean) / std``, with one value per channel (axis -3)
    or a single value for all. Deterministic."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        super().__init__()
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if np.any(self.std == 0):
            raise ValueError("Normalize std must be non-zero")

    def apply(self, image: np.ndarray) -> np.ndarray:
        return (
            (image - self._per_channel(self.mean, image)) / self._per_channel(self.std, image)
        ).astype(np.float32)

    @staticmethod
    def _per_channel(value: np.ndarray, image: np.ndarray) -> np.ndarray:
        if value.ndim == 0 or value.size == 1:
            return value.reshape(())
        if image.ndim < 3 or image.shape[-3] != value.size:
            raise ValueError(
                f"Normalize has {value.size} per-channel values but the image has shape "
                f"{image.shape} (channels on axis -3)"
            )
        return value.reshape(-1, 1, 1)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Compose:
    """``Compose([t1, t2, ...])``: apply each transform in turn."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose needs callables, got {type(t).__name__}")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Transform"]
