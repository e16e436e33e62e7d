"""The IDX file format (MNIST's), read and written with NumPy.

An IDX file is a tiny header followed by raw big-endian numbers::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions n
    then        n sizes, each a big-endian uint32
    then        prod(sizes) elements, row-major

So the 4-byte "magic number" of MNIST's image files is ``0x00000803`` (2051: uint8, 3 dims)
and of its label files ``0x00000801`` (2049: uint8, 1 dim). Files may be gzip-compressed
(detected from their first bytes, not from their name).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


MAX_DIMS = 32  # NumPy handles 64; no real IDX file has more than a handful
MAX_BYTES = 1 << 34  # 16 GiB: a header declaring more is not a dataset this reads


def _open(path: Path) -> BinaryIO:
    """The file's decompressed byte stream (gzip is detected from the first bytes). Read
    lazily: the header is checked before any data is decompressed."""
    f = open(path, "rb")  # noqa: SIM115 (returned; closed by the caller's `with`)
    if f.read(2) == _GZIP_MAGIC:
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    f.seek(0)
    return f


def _read_exactly(stream: BinaryIO, n: int, path: Path) -> bytes:
    try:
        return stream.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def read_idx(
    path: str | os.PathLike,
    expected_magic: int | None = None,
    expected_shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """The array stored in an IDX file (raw or gzip), in native byte order.

    The header is read and checked first, and only then the data, exactly as many bytes
    as the header declares (a gzip file is decompressed as a stream, never all at once).
    Raises ValueError naming the file for a wrong magic number (or one different from
    ``expected_magic``), dimensions outside ``expected_shape`` (None: any size), more than
    32 dimensions or an absurd declared size, a truncated file, or trailing bytes.
    """
    path = Path(path)
    with _open(path) as stream:
        head = _read_exactly(stream, 4, path)
        if len(head) < 4:
            raise ValueError(f"{path}: too short for an IDX header ({len(head)} bytes)")
        (magic,) = struct.unpack(">I", head)
        code, ndim = head[2], head[3]
        if head[:2] != b"\x00\x00" or code not in IDX_DTYPES or ndim == 0:
            raise ValueError(
                f"{path}: not an IDX file: bad magic number 0x{magic:08X} "
                "(expected 0x0000TTNN: two zero bytes, a type code 08/09/0B/0C/0D/0E, ndim >= 1)"
            )
        if expected_magic is not None and magic != expected_magic:
            raise ValueError(
                f"{path}: wrong magic number 0x{magic:08X} ({magic}), "
                f"expected 0x{expected_magic:08X} ({expected_magic})"
            )
        if ndim > MAX_DIMS:
            raise ValueError(f"{path}: IDX header declares {ndim} dimensions (at most {MAX_DIMS})")
        dims = _read_exactly(stream, 4 * ndim, path)
        if len(dims) < 4 * ndim:
            raise ValueError(
                f"{path}: truncated IDX header ({4 + len(dims)} of {4 + 4 * ndim} bytes)"
            )
        shape = struct.unpack(f">{ndim}I", dims)
        if expected_shape is not None and (
            len(shape) != len(expected_shape)
            or any(e is not None and d != e for d, e in zip(shape, expected_shape, strict=True))
        ):
            want = tuple("N" if e is None else e for e in expected_shape)
            raise ValueError(f"{path}: IDX array has shape {shape}, expected {want}")
        dtype = IDX_DTYPES[code]
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        if expected > MAX_BYTES:
            raise ValueError(
                f"{path}: IDX header declares shape {shape}, {expected} bytes of data "
                f"(more than {MAX_BYTES}): not a dataset file"
            )
        if not isinstance(stream, gzip.GzipFile):  # a plain file: check its size up front
            found = os.fstat(stream.fileno()).st_size - 4 - 4 * ndim
            if found != expected:
                _size_error(path, shape, expected, found)
        data = _read_exactly(stream, expected, path)
        if len(data) != expected:
            _size_error(path, shape, expected, len(data))
        if _read_exactly(stream, 1, path):
            _size_error(path, shape, expected, expected + 1)
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _size_error(path: Path, shape: tuple[int, ...], expected: int, found: int) -> None:
    what = "truncated" if found < expected else "has trailing bytes"
    raise ValueError(
        f"{path}: IDX file {what}: shape {shape} needs {expected} data bytes, "
        f"found {found if found <= expected else 'more'}"
    )


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip if ``compress``, default: name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX cannot store dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    payload = (
        bytes([0, 0, code, array.ndim])
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.astype(IDX_DTYPES[code]).tobytes()
    )
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


__all__ = ["IDX_DTYPES", "read_idx", "write_idx"]
