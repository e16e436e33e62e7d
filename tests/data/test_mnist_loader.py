"""The MNIST loader on small IDX files the tests write; downloads are faked (no network)."""

import hashlib
import io
import shutil
import socket
import urllib.error
import urllib.request

import numpy as np
import pytest

from tinytorch.data.datasets import DatasetNotFoundError, load_mnist, mnist, write_idx
from tinytorch.data.datasets import download as dl

NAMES = list(mnist.FILES)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real download attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _write_mnist(directory, n_train=12, n_test=5, gz=True):
    """A tiny MNIST in the real format: 28x28 uint8 images, uint8 labels. Returns what was
    written: ``{"train": (images, labels), "t10k": (images, labels)}``."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    written = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        written[prefix] = (images, labels)
    return written


def test_loads_gzip_files_from_a_directory(tmp_path):
    """Four .gz files in a directory give float32 images in [0, 1] and int64 labels: the
    pixels written, divided by 255, in the same order and orientation (a transposed or
    shuffled image fails here)."""
    written = _write_mnist(tmp_path)
    x_train, y_train, x_test, y_test = load_mnist(tmp_path, download=False)
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.float32
    assert y_train.dtype == np.int64 and x_test.shape == (5, 28, 28) and y_test.shape == (5,)
    for (x, y), prefix in (((x_train, y_train), "train"), ((x_test, y_test), "t10k")):
        images, labels = written[prefix]
        np.testing.assert_array_equal(x, images.astype(np.float32) / np.float32(255))
        np.testing.assert_array_equal(y, labels.astype(np.int64))


def test_loads_gunzipped_files_too(tmp_path):
    """Uncompressed files (as gunzip leaves them) work, raw uint8 on request: exactly the
    bytes written."""
    written = _write_mnist(tmp_path, gz=False)
    x_train, y_train, x_test, _ = load_mnist(tmp_path, download=False, normalize=False)
    assert x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, written["train"][0])
    np.testing.assert_array_equal(x_test, written["t10k"][0])
    np.testing.assert_array_equal(y_train, written["train"][1])


def test_the_data_dir_variable_is_honoured(tmp_path, monkeypatch):
    """TINYTORCH_DATA_DIR=D means files in D/mnist."""
    _write_mnist(tmp_path / "mnist")
    monkeypatch.setenv("TINYTORCH_DATA_DIR", str(tmp_path))
    assert load_mnist(download=False)[0].shape == (12, 28, 28)


def test_swapped_files_are_caught_by_their_magic(tmp_path):
    """A labels file where images belong is a ValueError naming the file."""
    _write_mnist(tmp_path)
    shutil.copy(tmp_path / NAMES[1], tmp_path / NAMES[0])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*expected 0x00000803"):
        load_mnist(tmp_path, download=False)


def test_image_and_label_counts_must_agree(tmp_path):
    """12 images with 11 labels is refused."""
    _write_mnist(tmp_path)
    write_idx(tmp_path / NAMES[1], np.zeros(11, dtype=np.uint8))
    with pytest.raises(ValueError, match="12 images but .* 11 labels"):
        load_mnist(tmp_path, download=False)


def test_without_files_and_downloads_the_message_says_what_to_put_where(tmp_path):
    """download=False: the error lists the four files and the directory."""
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(tmp_path / "empty", download=False)
    message = str(info.value)
    assert str(tmp_path / "empty") in message and all(name in message for name in NAMES)


def test_offline_fails_fast_with_the_same_message(tmp_path, monkeypatch):
    """No network: the first failed lookup stops everything; nothing is left on disk."""
    calls = []

    def offline(request, timeout):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    target = tmp_path / "mnist"
    with pytest.raises(DatasetNotFoundError, match="network unreachable") as info:
        load_mnist(target)
    assert len(calls) == 1  # not 4 files x 3 mirrors
    assert all(name in str(info.value) for name in NAMES)
    assert list(target.iterdir()) == []


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_download_verifies_the_checksum_and_writes_atomically(tmp_path, monkeypatch):
    """A bad mirror's bytes are discarded; the good mirror's bytes land under the final name."""
    good = b"the right bytes"
    served = {"https://bad.example/f.gz": b"tampered", "https://good.example/f.gz": good}
    monkeypatch.setattr(urllib.request, "urlopen", lambda r, timeout: _Response(served[r.full_url]))
    sha = hashlib.sha256(good).hexdigest()
    path = dl.download_file(
        "f.gz", tmp_path, ["https://bad.example/", "https://good.example/"], sha, quiet=True
    )
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["f.gz"]


def test_download_with_only_bad_checksums_leaves_nothing(tmp_path, monkeypatch):
    """Every mirror wrong: an error naming the checksum, and no file, not even a temp file."""
    monkeypatch.setattr(urllib.request, "urlopen", lambda r, timeout: _Response(b"junk"))
    with pytest.raises(OSError, match="SHA-256"):
        dl.download_file("f.gz", tmp_path, ["https://a.example/"], "0" * 64, quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_midway_leaves_nothing(tmp_path, monkeypatch):
    """A connection dropped mid-file leaves no half-written file behind."""

    class Dropping(_Response):
        def read(self, n=-1):
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(urllib.request, "urlopen", lambda r, timeout: Dropping(b""))
    with pytest.raises(OSError):
        dl.download_file("f.gz", tmp_path, ["https://a.example/"], None, quiet=True)
    assert list(tmp_path.iterdir()) == []
