"""``from tinytorch.core.data_loader import TensorDataset, DataLoader`` (book Module 08)."""

from tinytorch.frontend.data import (
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)

__all__ = [
    "Compose",
    "DataLoader",
    "Dataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "TensorDataset",
]
