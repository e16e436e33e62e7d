"""``from tinytorch.core.data_loader import TensorDataset, DataLoader`` (book Module 08)."""

from tinytorch.data.loader import DataLoader, Dataset, TensorDataset
from tinytorch.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Transform,
)

__all__ = [
    "Compose",
    "DataLoader",
    "Dataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "TensorDataset",
    "Transform",
]
