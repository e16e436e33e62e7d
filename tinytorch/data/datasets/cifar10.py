"""CIFAR-10: 60,000 colour images of 32x32 pixels in 10 classes (50,000 train + 10,000 test).

The "python version" of CIFAR-10 is one archive, ``cifar-10-python.tar.gz``, holding
``cifar-10-batches-py/data_batch_1`` ... ``data_batch_5`` and ``test_batch``. Each batch is a
Python pickle of a dict with byte-string keys: ``b"data"``, a ``(10000, 3072)`` uint8 array
(each row is the red, then green, then blue 32x32 plane), and ``b"labels"``, a list of 10,000
ints in 0-9 (CIFAR-100's files say ``b"fine_labels"``).

Unpickling runs whatever a file asks for, so a downloaded pickle must never go to
``pickle.load``. :class:`RestrictedUnpickler` allows only what this format needs to rebuild
its arrays (NumPy's array reconstructor, ``ndarray``, ``dtype``, and ``_codecs.encode``, which
protocol-2 pickles use for bytes); anything else — ``os.system``, ``builtins.eval`` — is
refused, and the loaded object must then be a dict with exactly the expected kinds of values.

Where the files are looked for (the same rules as MNIST):

1. ``data_dir`` if given (the milestone's ``--data-dir``);
2. ``$TINYTORCH_DATA_DIR/cifar-10`` if that variable is set;
3. ``~/.cache/tinytorch/datasets/cifar-10`` (the milestone script uses the book's
   ``milestones/datasets/cifar-10/`` instead).

The folder is ``cifar-10`` (with a hyphen), as the book names the download cache
(``milestones/datasets/cifar-10/``). The class names are the dataset's own
(``batches.meta``): the book's list says "car" where the files say ``"automobile"``.

In that directory, either the extracted ``cifar-10-batches-py/`` folder or the archive (read
in place: nothing is extracted to disk). Without either, the archive is downloaded and its
SHA-256 checked; offline, a ``DatasetNotFoundError`` says what to put where.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.data.datasets.download import (
    DEFAULT_TIMEOUT,
    DatasetNotFoundError,
    default_dataset_dir,
    download_or_explain,
)

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
SUBDIR = "cifar-10"  # the book's milestones/datasets/cifar-10/
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
# SHA-256 of the archive (its published MD5 is c58f30108f718f92721af3b95e74349a; the
# SHA-256 matches the one Keras and torchvision-based projects pin for the same file).
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
PIXELS = 3 * 32 * 32

_RECONSTRUCT = np.empty(0).__reduce__()[0]  # numpy's array rebuilder, wherever it lives
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): __import__("codecs").encode,
}
# Protocol 5 pickles an array as ``_frombuffer(bytes, dtype, shape, order)``: data only.
_FROMBUFFER = np.empty(1).__reduce_ex__(5)[0]
_ALLOWED.update(
    {(f"numpy{core}.numeric", "_frombuffer"): _FROMBUFFER for core in (".core", "._core")}
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only build NumPy arrays, dtypes, bytes and plain containers."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing {module}.{name}: not part of the CIFAR-10 batch format"
            ) from None


def read_batch(
    source: str | os.PathLike | bytes, name: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One batch file (a path, or its bytes) -> ``(images uint8 (N, 3, 32, 32), labels int64)``.

    Raises ``ValueError`` naming the file for anything that is not a CIFAR batch.
    """
    if isinstance(source, bytes):
        raw, name = source, name or "<bytes>"
    else:
        name = name or str(source)
        raw = Path(source).read_bytes()
    try:
        obj = RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # refused globals, truncation, garbage: all "not a batch"
        raise ValueError(f"{name}: not a CIFAR-10 batch file ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{name}: expected a dict, found {type(obj).__name__}")
    data = obj.get(b"data")
    labels = obj.get(b"labels", obj.get(b"fine_labels"))
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or (data.shape[1] != PIXELS)
    ):
        what = f"{data.dtype}{list(data.shape)}" if isinstance(data, np.ndarray) else type(data)
        raise ValueError(f"{name}: b'data' must be a uint8 array (N, {PIXELS}), found {what}")
    if not isinstance(labels, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in labels
    ):
        raise ValueError(f"{name}: b'labels' (or b'fine_labels') must be a list of ints")
    if len(labels) != len(data):
        raise ValueError(f"{name}: {len(data)} images but {len(labels)} labels")
    y = np.asarray(labels, dtype=np.int64)
    if y.size and (y.min() < 0 or y.max() > 99):
        raise ValueError(f"{name}: labels out of range: {y.min()}..{y.max()}")
    return data.reshape(-1, 3, 32, 32), y


def default_cifar10_dir() -> Path:
    """``$TINYTORCH_DATA_DIR/cifar-10``, else ``~/.cache/tinytorch/datasets/cifar-10``."""
    return default_dataset_dir(SUBDIR)


def missing_files_message(directory: Path, reason: str) -> str:
    return (
        f"CIFAR-10 is not available: {reason}.\n"
        f"Place {ARCHIVE} (from {MIRRORS[0]}{ARCHIVE}), or the folder {FOLDER}/ extracted "
        f"from it, in {directory},\n"
        "or point at a directory holding it with --data-dir DIR, or set TINYTORCH_DATA_DIR\n"
        "(it then goes in $TINYTORCH_DATA_DIR/cifar-10)."
    )


def _batch_bytes(directory: Path, download: bool, timeout: float) -> dict[str, tuple[bytes, str]]:
    """Each batch's bytes and a name for messages: from the folder, else the archive."""
    names = (*TRAIN_BATCHES, TEST_BATCH)
    folder = directory / FOLDER
    if all((folder / n).is_file() for n in names):
        return {n: ((folder / n).read_bytes(), str(folder / n)) for n in names}
    archive = directory / ARCHIVE
    if not archive.is_file():
        if not download:
            raise DatasetNotFoundError(
                missing_files_message(directory, f"no {FOLDER}/ or {ARCHIVE} in {directory}")
            )
        archive = download_or_explain(
            ARCHIVE,
            directory,
            MIRRORS,
            SHA256,
            lambda reason: missing_files_message(directory, reason),
            missing=f"nothing in {directory}",
            timeout=timeout,
        )
    out = {}
    with tarfile.open(archive, "r:gz") as tar:
        for n in names:
            try:
                member = tar.extractfile(f"{FOLDER}/{n}")
            except KeyError:
                member = None
            if member is None:
                raise ValueError(f"{archive}: no {FOLDER}/{n} inside")
            out[n] = (member.read(), f"{archive}:{FOLDER}/{n}")
    return out


def load_cifar10(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    normalize: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, y_train, X_test, y_test``: images ``(N, 3, 32, 32)`` (NCHW), float32 in
    [0, 1] (``normalize=True``) or the raw uint8; labels int64 in 0-9 (see ``CLASSES``)."""
    directory = Path(data_dir).expanduser() if data_dir is not None else default_cifar10_dir()
    batches = {n: read_batch(raw, name) for n, (raw, name) in
               _batch_bytes(directory, download, timeout).items()}  # fmt: skip
    x_train = np.concatenate([batches[n][0] for n in TRAIN_BATCHES])
    y_train = np.concatenate([batches[n][1] for n in TRAIN_BATCHES])
    x_test, y_test = batches[TEST_BATCH]
    if normalize:
        x_train = x_train.astype(np.float32) / np.float32(255.0)
        x_test = x_test.astype(np.float32) / np.float32(255.0)
    return x_train, y_train, x_test, y_test


__all__ = [
    "CLASSES",
    "RestrictedUnpickler",
    "default_cifar10_dir",
    "load_cifar10",
    "read_batch",
]
