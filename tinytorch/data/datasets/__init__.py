"""Datasets for the milestones: TinyDigits (shipped, offline), MNIST (IDX files) and CIFAR-10
(python-pickle batches read by a restricted unpickler): downloaded with checksums, or files
you place yourself."""

from tinytorch.data.datasets.cifar10 import default_cifar10_dir, load_cifar10
from tinytorch.data.datasets.download import (
    ChecksumError,
    DatasetNotFoundError,
    OfflineError,
    download_file,
)
from tinytorch.data.datasets.idx import read_idx, write_idx
from tinytorch.data.datasets.mnist import default_mnist_dir, load_mnist
from tinytorch.data.datasets.tinydigits import load_tinydigits, tinydigits_path

__all__ = [
    "ChecksumError",
    "DatasetNotFoundError",
    "OfflineError",
    "default_cifar10_dir",
    "default_mnist_dir",
    "download_file",
    "load_cifar10",
    "load_mnist",
    "load_tinydigits",
    "read_idx",
    "tinydigits_path",
    "write_idx",
]
