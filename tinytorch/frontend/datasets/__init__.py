"""Datasets for the milestones: TinyDigits (shipped, offline) and MNIST (IDX files, download
with checksums, or files you place yourself)."""

from tinytorch.frontend.datasets.download import (
    ChecksumError,
    DatasetNotFoundError,
    OfflineError,
    download_file,
)
from tinytorch.frontend.datasets.idx import read_idx, write_idx
from tinytorch.frontend.datasets.mnist import default_mnist_dir, load_mnist
from tinytorch.frontend.datasets.tinydigits import load_tinydigits, tinydigits_path

__all__ = [
    "ChecksumError",
    "DatasetNotFoundError",
    "OfflineError",
    "default_mnist_dir",
    "download_file",
    "load_mnist",
    "load_tinydigits",
    "read_idx",
    "tinydigits_path",
    "write_idx",
]
