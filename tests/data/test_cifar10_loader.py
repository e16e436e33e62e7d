"""The CIFAR-10 loader on small batch files the tests write in the real format (a pickle of a
dict with byte-string keys), a malicious pickle that must be refused, and the augmentations on
CHW images. Downloads are faked: no test touches the network."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import socket
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tinytorch import DataLoader, Tensor, TensorDataset
from tinytorch.data.datasets import DatasetNotFoundError, cifar10, load_cifar10
from tinytorch.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip

NAMES = [*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def batch_bytes(n: int, seed: int, key: bytes = b"labels") -> bytes:
    """One batch as CIFAR's authors wrote it: data (n, 3072) uint8, labels a list of ints."""
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": b"testing batch",
        key: [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(batch, protocol=2)


def write_folder(directory: Path, n: int = 4) -> Path:
    folder = directory / cifar10.FOLDER
    folder.mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (folder / name).write_bytes(batch_bytes(n, i))
    return folder


def write_archive(directory: Path, n: int = 3) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / cifar10.ARCHIVE
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(NAMES):
            raw = batch_bytes(n, i)
            info = tarfile.TarInfo(f"{cifar10.FOLDER}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def test_loads_the_extracted_folder_as_nchw_floats(tmp_path):
    write_folder(tmp_path, n=4)
    x_train, y_train, x_test, y_test = load_cifar10(tmp_path, download=False)
    assert x_train.shape == (20, 3, 32, 32) and x_test.shape == (4, 3, 32, 32)
    assert x_train.dtype == np.float32 and x_train.min() >= 0.0 and x_train.max() <= 1.0
    assert y_train.dtype == np.int64 and y_train.shape == (20,)
    # The first row of data_batch_1 is the red plane, then green, then blue.
    raw = pickle.loads(batch_bytes(4, 0))[b"data"][0]
    np.testing.assert_array_equal(x_train[0, 1], raw[1024:2048].reshape(32, 32) / np.float32(255))
    # Every pixel and label, in file order: row r of a batch is image r; within a row, 1024
    # bytes per channel, each 32 rows of 32 pixels (a transposed image fails here).
    batches = [pickle.loads(batch_bytes(4, i)) for i in range(len(NAMES))]
    pixels = [b[b"data"][r] for b in batches for r in range(4)]
    labels = [label for b in batches for label in b[b"labels"]]
    for k, row in enumerate(pixels):
        for c in range(3):
            for i in range(32):
                got = x_train[k] if k < 20 else x_test[k - 20]
                want = row[c * 1024 + i * 32 : c * 1024 + (i + 1) * 32] / np.float32(255)
                np.testing.assert_array_equal(got[c, i], want, err_msg=f"image {k} ch {c} row {i}")
    assert y_train.tolist() + y_test.tolist() == labels


def test_reads_the_archive_in_place(tmp_path):
    write_archive(tmp_path, n=3)
    x_train, y_train, x_test, y_test = load_cifar10(tmp_path, download=False, normalize=False)
    assert x_train.shape == (15, 3, 32, 32) and x_train.dtype == np.uint8
    assert sorted(p.name for p in tmp_path.iterdir()) == [cifar10.ARCHIVE]  # nothing extracted


def test_the_data_dir_variable_is_honoured(tmp_path, monkeypatch):
    """$TINYTORCH_DATA_DIR/cifar-10: the folder name the book gives the download cache."""
    write_folder(tmp_path / "cifar-10", n=2)
    monkeypatch.setenv("TINYTORCH_DATA_DIR", str(tmp_path))
    assert load_cifar10(download=False)[0].shape == (10, 3, 32, 32)


def test_cifar100_fine_labels_are_accepted():
    images, labels = cifar10.read_batch(batch_bytes(2, 0, key=b"fine_labels"), "b")
    assert images.shape == (2, 3, 32, 32) and labels.shape == (2,)


class Exploit:
    """Unpickling this would run ``os.system``: the classic pickle attack."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_malicious_pickle_is_refused(tmp_path):
    folder = write_folder(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_3: not a CIFAR-10 batch file.*refusing"):
        load_cifar10(tmp_path, download=False)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2, 3], "expected a dict"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, "uint8 array"),
        ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, "uint8 array"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, "list of ints"),
    ],
)
def test_unexpected_content_is_a_value_error_naming_the_file(obj, message):
    with pytest.raises(ValueError, match=f"my_batch: .*{message}"):
        cifar10.read_batch(pickle.dumps(obj, protocol=2), "my_batch")


def test_without_files_and_downloads_the_message_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10(tmp_path / "empty", download=False)
    message = str(info.value)
    assert str(tmp_path / "empty") in message and cifar10.ARCHIVE in message
    assert "--data-dir" in message and "TINYTORCH_DATA_DIR" in message


def test_offline_fails_fast_with_the_same_message(tmp_path, monkeypatch):
    def offline(request, timeout):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetNotFoundError, match="network unreachable") as info:
        load_cifar10(tmp_path / "cifar10")
    assert cifar10.ARCHIVE in str(info.value)


def test_download_is_checked_against_the_checksum(tmp_path, monkeypatch):
    """The archive is fetched through download.py: accepted only with the published SHA-256."""
    archive = write_archive(tmp_path / "served")
    served = archive.read_bytes()

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    monkeypatch.setattr(urllib.request, "urlopen", lambda r, timeout: Response(served))
    with pytest.raises(DatasetNotFoundError, match="does not match"):
        load_cifar10(tmp_path / "bad")
    monkeypatch.setattr(cifar10, "SHA256", hashlib.sha256(served).hexdigest())
    assert load_cifar10(tmp_path / "good")[0].shape == (15, 3, 32, 32)


def test_augmentations_work_on_chw_samples_in_a_data_loader():
    """RandomCrop(32, padding=4), RandomHorizontalFlip and Normalize per (3, 32, 32) image."""
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 32, 32)).astype(np.float32)
    y = np.arange(6)
    transform = Compose([RandomCrop(32, padding=4, seed=1), RandomHorizontalFlip(seed=2),
                         Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])])  # fmt: skip
    loader = DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=3, transform=transform)
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(3, 3, 32, 32)] * 2
    assert not np.allclose(batches[0][0].data, (x[:3] - 0.5) / 0.25)  # something was augmented
    flip = RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(x[0]), x[0][:, :, ::-1])
