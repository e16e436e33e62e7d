"""The book's import paths for Module 08 and the datasets all lead to one implementation."""

import tinytorch
from tinytorch.core import data_loader
from tinytorch.data import datasets, loader, transforms


def test_book_path_and_top_level_are_the_same_classes():
    """from tinytorch.core.data_loader import TensorDataset, DataLoader (book L5688)."""
    for name in ("Dataset", "TensorDataset", "DataLoader"):
        assert getattr(data_loader, name) is getattr(loader, name) is getattr(tinytorch, name)
    for name in ("RandomHorizontalFlip", "RandomCrop", "Compose", "Normalize"):
        assert getattr(data_loader, name) is getattr(transforms, name)


def test_dataset_loaders_are_exported_at_the_top():
    """load_tinydigits and load_mnist are reachable as tinytorch.load_*."""
    assert tinytorch.load_tinydigits is datasets.load_tinydigits
    assert tinytorch.load_mnist is datasets.load_mnist
