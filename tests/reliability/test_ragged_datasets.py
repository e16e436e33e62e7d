"""Datasets a user writes: ragged samples are a ShapeError naming the sample and field."""

from __future__ import annotations

import numpy as np

from tests.reliability.checks import user_error
from tinytorch import DataLoader, Dataset
from tinytorch.ir.errors import ShapeError


class Ragged(Dataset):
    """Sample 3's features are one element short."""

    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int):
        return np.ones(4 if i != 3 else 3, np.float32), np.int64(i % 2)


def test_a_ragged_custom_dataset_names_the_sample_and_the_field():
    loader = DataLoader(Ragged(), batch_size=6)
    user_error(ShapeError, lambda: next(iter(loader)), "field 0", "sample 3", "(3,)", "(4,)")


def test_the_batches_before_the_ragged_sample_load_fine():
    batches = iter(DataLoader(Ragged(), batch_size=3))
    x, y = next(batches)
    assert x.shape == (3, 4) and y.numpy().tolist() == [0, 1, 0]


class NestedRagged(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        return [[1.0, 2.0], [3.0]] if i == 1 else [[1.0, 2.0], [3.0, 4.0]], 0


def test_a_ragged_nested_list_in_one_sample_names_the_sample():
    loader = DataLoader(NestedRagged(), batch_size=2)
    user_error(ShapeError, lambda: next(iter(loader)), "field 0", "sample 1")
