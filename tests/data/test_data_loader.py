"""Dataset, TensorDataset and DataLoader (book Module 08), as a learner would use them."""

import random

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.data_loader import DataLoader, Dataset, TensorDataset


def _dataset(n: int = 100, features: int = 3) -> TensorDataset:
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    return TensorDataset(Tensor(x), Tensor(np.arange(n)))


def _epoch_ids(loader: DataLoader) -> list[int]:
    return [int(i) for _, y in loader for i in y.data]


def test_dataset_is_abstract():
    """Dataset itself cannot be instantiated: it only names the interface."""
    with pytest.raises(TypeError):
        Dataset()


def test_a_subclass_with_len_and_getitem_works():
    """Implementing __len__ and __getitem__ is all a dataset needs."""

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, idx):
            return Tensor([float(idx)]), Tensor(idx * idx)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[0].shape for b in batches] == [(2, 1), (2, 1), (1, 1)]
    assert batches[1][1].data.tolist() == [4, 9]


def test_tensor_dataset_returns_one_row_per_tensor():
    """Sample i is (features[i], labels[i])."""
    ds = _dataset()
    x, y = ds[7]
    assert len(ds) == 100
    assert x.data.tolist() == [21.0, 22.0, 23.0] and y.item() == 7


def test_tensor_dataset_size_mismatch_is_the_books_error():
    """(100, 10) features with 90 labels cannot be paired."""
    with pytest.raises(ValueError, match="All tensors must have same size in first dimension"):
        TensorDataset(Tensor(np.random.randn(100, 10)), Tensor(np.random.randn(90)))


def test_bad_index_is_the_books_index_error():
    """Valid indices are 0 <= idx < len(dataset)."""
    ds = _dataset()
    with pytest.raises(IndexError, match="Index 100 out of range for dataset of size 100"):
        ds[100]
    with pytest.raises(IndexError):
        ds[-1]
    with pytest.raises(TypeError):
        ds[1.5]


def test_length_is_ceil_and_last_batch_is_partial():
    """100 samples in batches of 32 give [32, 32, 32, 4]."""
    loader = DataLoader(_dataset(), batch_size=32)
    assert len(loader) == 4
    assert [x.shape[0] for x, _ in loader] == [32, 32, 32, 4]
    assert len(DataLoader(_dataset(96), batch_size=32)) == 3


def test_batches_are_stacked_tensors_in_order_without_shuffle():
    """Without shuffle the samples come in dataset order, stacked along a new first axis."""
    x, y = next(iter(DataLoader(_dataset(), batch_size=32)))
    assert isinstance(x, Tensor) and x.shape == (32, 3) and x.dtype == np.float32
    assert y.shape == (32,) and y.dtype == np.int64
    assert y.data.tolist() == list(range(32))


def test_every_sample_exactly_once_per_epoch_when_shuffled():
    """Shuffling reorders indices; each epoch still visits every sample once."""
    loader = DataLoader(_dataset(), batch_size=32, shuffle=True, seed=1)
    for _ in range(3):
        ids = _epoch_ids(loader)
        assert sorted(ids) == list(range(100)) and ids != list(range(100))


def test_shuffle_is_reproducible_with_a_seed_and_fresh_each_epoch():
    """The same seed gives the same sequence of epochs; consecutive epochs differ."""
    a = DataLoader(_dataset(), batch_size=10, shuffle=True, seed=123)
    b = DataLoader(_dataset(), batch_size=10, shuffle=True, seed=123)
    first, second = _epoch_ids(a), _epoch_ids(a)
    assert first == _epoch_ids(b) and second == _epoch_ids(b)
    assert first != second


def test_without_a_seed_shuffle_follows_pythons_random_like_the_book():
    """seed=None shuffles with random.shuffle, so random.seed reproduces it."""
    loader = DataLoader(_dataset(), batch_size=10, shuffle=True)
    random.seed(5)
    first = _epoch_ids(loader)
    random.seed(5)
    assert _epoch_ids(loader) == first


def test_features_and_labels_stay_paired_after_shuffle():
    """Shuffling moves whole samples, never features apart from their labels."""
    for x, y in DataLoader(_dataset(), batch_size=16, shuffle=True, seed=0):
        assert np.array_equal(x.data[:, 0], y.data * 3)


def test_bad_batch_sizes_are_refused():
    """batch_size must be a positive int."""
    for bad in (0, -4):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(_dataset(), batch_size=bad)
    with pytest.raises(TypeError):
        DataLoader(_dataset(), batch_size=2.5)
    with pytest.raises(TypeError):
        DataLoader(5, batch_size=2)  # not a dataset


def test_numpy_arrays_are_accepted_as_dataset_tensors():
    """TensorDataset wraps NumPy arrays in Tensors."""
    ds = TensorDataset(np.ones((4, 2)), np.arange(4))
    ((x, y),) = list(DataLoader(ds, batch_size=4))
    assert x.shape == (4, 2) and y.data.tolist() == [0, 1, 2, 3]


def test_lazy_dataset_tensors_are_realized_once_for_batching():
    """A TensorDataset over lazy results batches their values."""
    base = Tensor(np.arange(12, dtype=np.float32).reshape(6, 2))
    ds = TensorDataset(base * 2, Tensor(np.arange(6)))
    ((x, _),) = list(DataLoader(ds, batch_size=6))
    assert np.array_equal(x.data, np.arange(12).reshape(6, 2) * 2)
