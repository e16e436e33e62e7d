"""The IDX reader on files these tests write byte by byte (raw and gzip)."""

import gzip
import struct

import numpy as np
import pytest

from tinytorch.data.datasets import read_idx, write_idx


def _idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file by hand: 0x0000, type code, ndim, big-endian sizes, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


IMAGES = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


def test_reads_a_raw_uint8_file(tmp_path):
    """A hand-written 3-D uint8 IDX file reads back exactly."""
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(_idx_bytes(IMAGES))
    out = read_idx(path, expected_magic=0x00000803)
    assert out.dtype == np.uint8 and np.array_equal(out, IMAGES)


def test_reads_a_gzip_file_whatever_its_name(tmp_path):
    """gzip is detected from the bytes, not the file name."""
    path = tmp_path / "images-no-extension"
    path.write_bytes(gzip.compress(_idx_bytes(IMAGES)))
    assert np.array_equal(read_idx(path), IMAGES)


def test_reads_big_endian_int32_and_float32(tmp_path):
    """Multi-byte types are big-endian on disk and native in memory."""
    ints = np.array([1, -2, 70000], dtype=np.int32)
    floats = np.array([[1.5, -2.25]], dtype=np.float32)
    (tmp_path / "i").write_bytes(_idx_bytes(ints, 0x0C))
    (tmp_path / "f").write_bytes(_idx_bytes(floats, 0x0D))
    assert read_idx(tmp_path / "i").tolist() == [1, -2, 70000]
    assert read_idx(tmp_path / "f").tolist() == [[1.5, -2.25]]


def test_write_idx_round_trips_raw_and_gzip(tmp_path):
    """write_idx produces what read_idx reads, compressed when the name ends in .gz."""
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    raw, packed = write_idx(tmp_path / "l", labels), write_idx(tmp_path / "l.gz", labels)
    assert raw.read_bytes() == _idx_bytes(labels)
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert np.array_equal(read_idx(packed), labels)


def test_wrong_magic_names_the_file_and_the_magic(tmp_path):
    """A file that is not IDX is refused with its name and the magic found."""
    path = tmp_path / "not-idx.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    with pytest.raises(ValueError, match=r"not-idx\.bin.*0x89504E47"):
        read_idx(path)


def test_an_images_file_where_labels_were_expected_is_refused(tmp_path):
    """expected_magic catches swapped files (2051 images vs 2049 labels)."""
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_idx_bytes(IMAGES)))
    with pytest.raises(ValueError, match=r"labels\.gz.*0x00000803.*expected 0x00000801"):
        read_idx(path, expected_magic=0x00000801)


def test_truncated_data_is_refused(tmp_path):
    """Fewer data bytes than the header promises."""
    path = tmp_path / "short"
    path.write_bytes(_idx_bytes(IMAGES)[:-7])
    with pytest.raises(ValueError, match=r"short.*truncated.*needs 60 data bytes, found 53"):
        read_idx(path)


def test_truncated_header_and_gzip_stream_are_refused(tmp_path):
    """A cut header, or a cut gzip stream, is a ValueError naming the file."""
    (tmp_path / "h").write_bytes(_idx_bytes(IMAGES)[:9])
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(tmp_path / "h")
    (tmp_path / "g.gz").write_bytes(gzip.compress(_idx_bytes(IMAGES))[:-12])
    with pytest.raises(ValueError, match=r"g\.gz.*gzip"):
        read_idx(tmp_path / "g.gz")


def test_trailing_bytes_are_refused(tmp_path):
    """More data than the header says is as suspicious as less."""
    (tmp_path / "long").write_bytes(_idx_bytes(IMAGES) + b"\x00")
    with pytest.raises(ValueError, match="trailing bytes"):
        read_idx(tmp_path / "long")
