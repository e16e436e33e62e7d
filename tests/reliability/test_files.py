"""Files that are corrupt, hostile or half-written: checkpoints, MNIST's IDX files and
CIFAR-10 pickles. Each is the documented ``ValueError`` naming the file, raised before any
large amount of data is decompressed, and never runs code."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from tests.reliability.checks import user_error
from tinytorch.data.datasets.cifar10 import read_batch
from tinytorch.data.datasets.idx import read_idx, write_idx
from tinytorch.train.checkpoint import read_checkpoint, remove_stale_temporaries, write_checkpoint

ARRAYS = {"model/w": np.arange(6, dtype=np.float32).reshape(2, 3)}
META = {"epoch": 1}


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "ckpt.pkl"
    write_checkpoint(path, ARRAYS, META)
    return path


def patch_headers(path, local_offset: int, central_offset: int, value: bytes) -> None:
    """Overwrite a 2-byte field in every local and central zip header of ``path``."""
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = raw.find(signature)
        while start >= 0:
            raw[start + offset : start + offset + 2] = value
            start = raw.find(signature, start + 4)
    path.write_bytes(bytes(raw))


# ------------------------------------------------------------- checkpoints
def test_a_checkpoint_round_trips(ckpt):
    arrays, meta = read_checkpoint(ckpt)
    np.testing.assert_array_equal(arrays["model/w"], ARRAYS["model/w"])
    assert meta["epoch"] == 1


def test_an_unknown_compression_method_is_a_value_error(ckpt):
    patch_headers(ckpt, 8, 10, struct.pack("<H", 99))
    user_error(ValueError, lambda: read_checkpoint(ckpt), str(ckpt))


def test_an_encrypted_member_is_a_value_error(ckpt):
    patch_headers(ckpt, 6, 8, struct.pack("<H", 1))
    user_error(ValueError, lambda: read_checkpoint(ckpt), str(ckpt), "encrypted")


def test_deeply_nested_metadata_is_a_value_error(tmp_path):
    path = tmp_path / "deep.pkl"
    text = '{"format": "tinytorch-checkpoint", "version": 1, "x": ' + "[" * 200_000
    text += "]" * 200_000 + "}"
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.frombuffer(text.encode(), dtype=np.uint8))
    user_error(ValueError, lambda: read_checkpoint(path), str(path), "nested")


def test_a_zip_bomb_is_refused_before_it_is_decompressed(tmp_path):
    """A small file whose member inflates to 64 MiB of zeros, where the metadata lists a
    (2, 3) array: refused from the declared sizes, without decompressing it."""
    path = tmp_path / "bomb.pkl"
    write_checkpoint(path, ARRAYS, META)
    with zipfile.ZipFile(path) as z:
        meta_member = z.read("__meta__.npy")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2, 3 << 22)}
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__meta__.npy", meta_member)
        with z.open("model/w.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(24 * 2):
                member.write(zeros)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        user_error(ValueError, lambda: read_checkpoint(path), str(path), "model/w")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_member_whose_declared_size_disagrees_with_its_header_is_refused(tmp_path):
    path = tmp_path / "liar.pkl"
    write_checkpoint(path, ARRAYS, META)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["model/w.npy"] += bytes(1000)  # more data than a (2, 3) float32 array
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    user_error(ValueError, lambda: read_checkpoint(path), str(path), "model/w")


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_temporaries_of_killed_saves_are_removed_by_the_next_save_and_load(ckpt):
    directory = ckpt.parent
    stale = directory / f".{ckpt.name}.{_dead_pid()}.abc123.tmp"
    mine = directory / f".{ckpt.name}.{os.getpid()}.fresh.tmp"  # a save in progress here
    other = directory / f".other.pkl.{_dead_pid()}.abc.tmp"  # another target's
    for f in (stale, mine, other):
        f.write_bytes(b"half a checkpoint")
    write_checkpoint(ckpt, ARRAYS, META)
    assert not stale.exists() and mine.exists() and other.exists()
    stale.write_bytes(b"half a checkpoint")
    read_checkpoint(ckpt)
    assert not stale.exists()
    assert remove_stale_temporaries(ckpt) == []


# ------------------------------------------------------------------- MNIST
def idx_bytes(shape, payload: bytes = b"", code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_mnist_images_that_are_not_28x28_are_refused_naming_the_file(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 14, 14), np.uint8))
    user_error(
        ValueError,
        lambda: read_idx(path, 0x803, expected_shape=(None, 28, 28)),
        str(path),
        "(5, 14, 14)",
        "28",
    )


def test_255_dimensions_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "many.idx"
    path.write_bytes(idx_bytes((1,) * 255))
    user_error(ValueError, lambda: read_idx(path), str(path), "255 dimensions")


def test_dimensions_whose_product_overflows_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "huge.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes((2**32 - 1,) * 3, b"\x00" * 100)))
    user_error(ValueError, lambda: read_idx(path), str(path), "declares")


def test_a_gzip_bomb_behind_a_small_header_is_not_decompressed_in_full(tmp_path):
    """The header says 10 images of 28x28; 64 MiB of zeros follow. The reader stops after
    the declared data and one byte more: trailing bytes, with little memory used."""
    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes((10, 28, 28)))
        zeros = bytes(1 << 20)
        for _ in range(64):
            f.write(zeros)
    tracemalloc.start()
    try:
        user_error(ValueError, lambda: read_idx(path, 0x803), str(path), "trailing bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_a_truncated_gzip_is_a_value_error_naming_the_file(tmp_path):
    path = write_idx(tmp_path / "t-images.gz", np.zeros((50, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-30])
    user_error(ValueError, lambda: read_idx(path), str(path))


def test_a_valid_idx_file_still_reads_exactly(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    for name in ("a.idx", "a.idx.gz"):
        path = write_idx(tmp_path / name, images)
        np.testing.assert_array_equal(read_idx(path, 0x803, (None, 28, 28)), images)


# ---------------------------------------------------------------- CIFAR-10
def batch(n: int = 4) -> dict:
    rng = np.random.default_rng(0)
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": [1, 2, 3, 4]}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_cifar_batch_loads_with_every_pickle_protocol(protocol):
    expected = batch()
    images, labels = read_batch(pickle.dumps(expected, protocol=protocol), "data_batch_1")
    np.testing.assert_array_equal(images.reshape(4, -1), expected[b"data"])
    assert labels.tolist() == [1, 2, 3, 4]


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("protocol", [2, 5])
def test_a_cifar_pickle_that_names_code_is_refused(protocol):
    raw = pickle.dumps({b"data": Evil(), b"labels": []}, protocol=protocol)
    user_error(ValueError, lambda: read_batch(raw, "evil_batch"), "evil_batch", "refusing")
