"""Datasets and batching (book Module 08).

Training never looks at one sample at a time, nor at the whole dataset at once: it looks at
*batches*. Three small pieces make that work:

* ``Dataset`` says how many samples there are and how to get sample ``idx``; nothing more.
  It is abstract, so a disk-backed dataset can load each sample only when asked.
* ``TensorDataset(features, labels)`` is the in-memory case: sample ``i`` is
  ``(features[i], labels[i])``.
* ``DataLoader(dataset, batch_size, shuffle)`` shuffles the *indices* (not the data) once per
  epoch, walks them in chunks of ``batch_size`` and stacks each chunk into one Tensor per
  field. ``len(loader)`` is ``ceil(len(dataset) / batch_size)``; the last batch may be smaller.

    dataset = TensorDataset(Tensor(X), Tensor(y))
    loader = DataLoader(dataset, batch_size=32, shuffle=True, seed=0)
    for batch_x, batch_y in loader:         # batch_x: (32, ...), batch_y: (32,)
        ...

Beyond the book: ``seed=`` makes shuffling reproducible without touching global state (with
``seed=None`` the loader shuffles with Python's ``random``, as the book does, so
``random.seed`` also works); for a ``TensorDataset`` a batch is cut out of the underlying
arrays with one NumPy index, not sample by sample, so batching costs one copy.

Augmentation lives in :mod:`tinytorch.data.transforms`; give ``DataLoader(..., transform=t)``
to apply a transform to the first field of every sample before batching.
"""

from __future__ import annotations

import math
import operator
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.ir.errors import ShapeError

# --------------------------------------------------------------------------- datasets


class Dataset(ABC):
    """A collection of samples: ``len(ds)`` and ``ds[idx]`` for ``0 <= idx < len(ds)``."""

    @abstractmethod
    def __len__(self) -> int:
        """Total number of samples."""

    @abstractmethod
    def __getitem__(self, idx: int) -> Any:
        """The sample at ``idx`` (0-indexed)."""


def check_index(idx: Any, size: int) -> int:
    """``idx`` as an int in ``[0, size)``, or the book's IndexError."""
    try:
        i = operator.index(idx)
    except TypeError:
        raise TypeError(f"dataset indices must be integers, got {type(idx).__name__}") from None
    if not 0 <= i < size:
        raise IndexError(f"Index {i} out of range for dataset of size {size}")
    return i


class TensorDataset(Dataset):
    """``TensorDataset(*tensors)``: sample ``i`` is ``(t1[i], t2[i], ...)``.

    Every tensor must have the same size in its first (sample) dimension. NumPy arrays are
    accepted too and wrapped in Tensors.
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        for t in self.tensors:
            if not t.shape:
                raise ValueError(
                    "TensorDataset tensors need a first (sample) dimension; got a 0-d tensor"
                )
        sizes = [t.shape[0] for t in self.tensors]
        if len(set(sizes)) > 1:
            raise ValueError(
                "All tensors must have same size in first dimension "
                f"(got {', '.join(map(str, sizes))})"
            )

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, idx: int) -> tuple[Tensor, ...]:
        i = check_index(idx, len(self))
        return tuple(t[i] for t in self.tensors)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The values of every tensor (realized together, once) as NumPy arrays."""
        realize(*self.tensors)
        return tuple(t.data for t in self.tensors)


# --------------------------------------------------------------------------- loader


class DataLoader:
    """``DataLoader(dataset, batch_size, shuffle=False, *, seed=None, transform=None)``.

    Iterating yields one batch at a time: a tuple with one Tensor per field of the samples,
    stacked along a new first dimension. Each ``iter()`` is one epoch, with a fresh shuffle.

    * ``seed``: an int makes the sequence of epochs' orders reproducible (the loader owns its
      own generator); ``None`` uses Python's ``random.shuffle`` like the book.
    * ``transform``: a callable applied to the first field of each sample before stacking.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        shuffle: bool = False,
        *,
        seed: int | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader needs a dataset with __len__ and __getitem__, "
                f"got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.transform = transform
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        indices = self._epoch_order()
        for start in range(0, len(indices), self.batch_size):
            yield self._load_batch(indices[start : start + self.batch_size])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, batches={len(self)})"
        )

    # ------------------------------------------------------------------ internals
    def _epoch_order(self) -> list[int]:
        """This epoch's sample order: shuffled indices, never shuffled data."""
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        if self._rng is not None:
            return self._rng.permutation(n).tolist()
        indices = list(range(n))
        random.shuffle(indices)
        return indices

    def _load_batch(self, indices: list[int]) -> tuple[Tensor, ...]:
        if type(self.dataset).__getitem__ is TensorDataset.__getitem__:
            # Fast path: one NumPy fancy index per field instead of one graph node per sample.
            fields = [a[indices] for a in self.dataset.arrays()]
            if self.transform is not None:
                transformed = [self.transform(x) for x in fields[0]]
                fields[0] = _stack_field(transformed, 0, indices)
            return tuple(Tensor(f) for f in fields)
        samples = [self.dataset[i] for i in indices]
        if self.transform is not None:
            samples = [_with_first(s, self.transform) for s in samples]
        return self._collate_batch(samples, indices)

    def _collate_batch(
        self, batch: Sequence[Any], indices: Sequence[int] | None = None
    ) -> tuple[Tensor, ...]:
        """Stack a list of samples ``[(x0, y0), (x1, y1), ...]`` into ``(X, Y)``. Samples
        whose fields differ in shape are a ShapeError naming the sample and the field."""
        if len(batch) == 0:
            return ()
        samples = [s if isinstance(s, (tuple, list)) else (s,) for s in batch]
        lazy = [f for s in samples for f in s if isinstance(f, Tensor)]
        if lazy:
            realize(*lazy)  # one compiled run for the whole batch, not one per sample
        num_fields = len(samples[0])
        if any(len(s) != num_fields for s in samples):
            raise ValueError("every sample in a batch must have the same number of fields")
        indices = list(range(len(samples))) if indices is None else list(indices)
        return tuple(
            Tensor(_stack_field([s[k] for s in samples], k, indices)) for k in range(num_fields)
        )


def _stack_field(values: Sequence[Any], field: int, indices: Sequence[int]) -> np.ndarray:
    """One field of every sample in a batch, stacked along a new first axis."""
    arrays = []
    for value, index in zip(values, indices, strict=True):
        try:
            arrays.append(_as_array(value))
        except ValueError as exc:  # a ragged nested list inside one sample
            raise ShapeError(
                f"DataLoader: field {field} of sample {index} is not rectangular ({exc})"
            ) from None
    first = arrays[0].shape
    for array, index in zip(arrays, indices, strict=True):
        if array.shape != first:
            raise ShapeError(
                f"DataLoader: field {field} of sample {index} has shape {array.shape}, but "
                f"sample {indices[0]} has shape {first}; every sample's field {field} must "
                "have one shape to be stacked into a batch"
            )
    return np.stack(arrays, axis=0)


def _as_array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _with_first(sample: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(sample, (tuple, list)):
        return (fn(sample[0]), *sample[1:])
    return fn(sample)


__all__ = ["DataLoader", "Dataset", "TensorDataset", "check_index"]
