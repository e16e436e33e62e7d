"""MNIST: 70,000 handwritten digits, 28x28 grayscale (60,000 train + 10,000 test).

MNIST is four IDX files (see ``idx.py``). ``load_mnist()`` looks for them in a directory —
gzip-compressed or not — and downloads the missing ones from the standard mirrors,
verifying each against its published SHA-256. Where the files are looked for:

1. ``data_dir`` if given (the milestone's ``--data-dir``);
2. ``$TINYTORCH_DATA_DIR/mnist`` if that variable is set;
3. ``~/.cache/tinytorch/datasets/mnist`` (the milestone script uses the book's
   ``milestones/datasets/mnist/`` instead).

Offline and without the files, it fails at once with a ``DatasetNotFoundError`` saying
which four files to place in which directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinytorch.data.datasets.download import (
    DEFAULT_TIMEOUT,
    DatasetNotFoundError,
    default_dataset_dir,
    download_or_explain,
)
from tinytorch.data.datasets.idx import read_idx

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# Published SHA-256 of each gzip file (MD5s, as torchvision lists them: f68b3c2d..., d53e105e...,
# 9fb629c4..., ec29112d...).
FILES = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
IMAGES_MAGIC = 0x00000803  # uint8, 3 dims
LABELS_MAGIC = 0x00000801  # uint8, 1 dim


def default_mnist_dir() -> Path:
    """``$TINYTORCH_DATA_DIR/mnist``, else ``~/.cache/tinytorch/datasets/mnist``."""
    return default_dataset_dir("mnist")


def _candidates(gz_name: str) -> list[str]:
    """Names a file may have on disk: as downloaded, gunzipped, or gunzipped with a dot."""
    raw = gz_name[: -len(".gz")]
    return [gz_name, raw, raw.replace("-idx", ".idx")]


def find_file(directory: Path, gz_name: str) -> Path | None:
    for name in _candidates(gz_name):
        if (directory / name).is_file():
            return directory / name
    return None


def missing_files_message(directory: Path, reason: str) -> str:
    files = "\n".join(f"    {name}" for name in FILES)
    return (
        f"MNIST is not available: {reason}.\n"
        f"Place these four files (gzip-compressed or not) in {directory}:\n{files}\n"
        f"(from {MIRRORS[0]} or any MNIST mirror),\n"
        "or point at a directory holding them with --data-dir DIR, or set TINYTORCH_DATA_DIR\n"
        "(the files then go in $TINYTORCH_DATA_DIR/mnist)."
    )


def ensure_mnist_files(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Path]:
    """The path of each of the four files, downloading what is missing when allowed."""
    directory = Path(data_dir).expanduser() if data_dir is not None else default_mnist_dir()
    found = {name: find_file(directory, name) for name in FILES}
    missing = [name for name, path in found.items() if path is None]
    if missing and not download:
        raise DatasetNotFoundError(
            missing_files_message(
                directory, f"{len(missing)} of its 4 files missing from {directory}, download off"
            )
        )
    for name in missing:
        found[name] = download_or_explain(
            name,
            directory,
            MIRRORS,
            FILES[name],
            lambda reason: missing_files_message(directory, reason),
            missing=f"{len(missing)} of its 4 files missing from {directory}",
            timeout=timeout,
        )
    return {name: path for name, path in found.items() if path is not None}


def _load_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, expected_magic=IMAGES_MAGIC, expected_shape=(None, 28, 28))
    labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} has {images.shape[0]} images but {labels_path} has "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0-9, found {labels.max()}")
    return images, labels.astype(np.int64)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    normalize: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, y_train, X_test, y_test`` as NumPy arrays.

    Images are ``(N, 28, 28)``: float32 in [0, 1] (``normalize=True``) or the raw uint8.
    Labels are int64 digits 0-9.
    """
    paths = ensure_mnist_files(data_dir, download=download, timeout=timeout)
    x_train, y_train = _load_split(
        paths["train-images-idx3-ubyte.gz"], paths["train-labels-idx1-ubyte.gz"]
    )
    x_test, y_test = _load_split(
        paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"]
    )
    if normalize:
        x_train = x_train.astype(np.float32) / np.float32(255.0)
        x_test = x_test.astype(np.float32) / np.float32(255.0)
    return x_train, y_train, x_test, y_test


__all__ = ["FILES", "MIRRORS", "default_mnist_dir", "ensure_mnist_files", "load_mnist"]
