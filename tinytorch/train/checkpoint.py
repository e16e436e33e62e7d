"""Checkpoint files: NumPy arrays plus a JSON metadata entry, in one ``.npz`` (zip) archive.

The book pickles a dict of Python objects (spec §7.3). Loading a pickle runs whatever code
the file names, so a checkpoint downloaded from somewhere is a program you execute. Here a
checkpoint holds only data:

* one ``.npy`` member per array (parameters, optimizer buffers), under names like
  ``model/layers.0.weight`` and ``optimizer/m_buffers/3``;
* one ``__meta__`` member: UTF-8 JSON (epoch, step, history, settings, names and shapes);

and it is read with ``np.load(..., allow_pickle=False)``, which refuses object arrays.

Writes are atomic: the archive goes to a temporary file in the target's directory, is
flushed and fsync'ed, then ``os.replace``d over the target, so a crash leaves either the old
file or the new one, never half of one. The file name is the caller's choice — the book's
``checkpoint_10.pkl`` works as a name; the content is this format, not a pickle.

A temporary file carries the writer's process id (``.ckpt.pkl.<pid>.<random>.tmp``); one
left behind by a process that was killed is removed by the next save or load of the same
target. Reading never trusts the archive: every member is checked against what it claims
(its ``.npy`` header, the metadata's list of arrays, a plain or deflate compression, no
encryption) *before* anything is decompressed, so a small file cannot expand to gigabytes,
and anything wrong is the documented ``ValueError``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "tinytorch-checkpoint"
VERSION = 1
META_KEY = "__meta__"
ARRAYS_KEY = "__arrays__"  # in the metadata: {member: [shape, dtype]} of every array
META_LIMIT = 64 << 20  # bytes of JSON metadata a checkpoint may declare
STALE_SECONDS = 3600  # a temporary without a readable writer pid is stale after this


def write_checkpoint(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: dict) -> None:
    """Atomically write ``arrays`` and the JSON-serialisable ``meta`` to ``path``.

    Parent directories are created. On any failure the target is untouched and the
    temporary file is removed.
    """
    path = Path(path)
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved for the metadata")
    data = {k: np.asarray(v) for k, v in arrays.items()}
    for name, array in data.items():
        if array.dtype.hasobject:
            raise TypeError(f"checkpoint entry {name!r} holds Python objects, not numbers")
    listing = {k: [list(a.shape), a.dtype.str] for k, a in data.items()}
    header = {"format": FORMAT, "version": VERSION, **meta, ARRAYS_KEY: listing}
    encoded = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    members = {META_KEY: encoded, **data}
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)  # a file object: np.savez does not append ".npz"
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` from a file :func:`write_checkpoint` made.

    A missing file is ``FileNotFoundError``; anything that is not a complete, readable
    checkpoint of this format (truncated, corrupted, a pickle, another archive) is a
    ``ValueError`` saying what is wrong.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {path} is a directory, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    remove_stale_temporaries(path)
    try:
        arrays = _read_archive(path)
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        KeyError,
        NotImplementedError,  # an unknown compression method
        RuntimeError,  # an encrypted member
        RecursionError,
        MemoryError,
        zlib.error,
    ) as exc:
        raise ValueError(
            f"{path} is not a valid tinytorch checkpoint (truncated or corrupted?): "
            f"{type(exc).__name__}: {exc}"
        ) from None
    except ValueError as exc:
        raise ValueError(f"{path} is not a valid tinytorch checkpoint: {exc}") from None
    meta = _decode_meta(path, arrays.pop(META_KEY, None))
    return arrays, meta


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Every member of the .npz at ``path``, read in full (so CRC errors show up here)."""
    with open(path, "rb") as f:
        if f.read(1) == b"\x80":  # pickle protocols 2+ start with PROTO (0x80)
            raise ValueError(
                "it is a pickle (the book's format?). tinytorch checkpoints are .npz archives "
                "of arrays with JSON metadata and are never unpickled: loading a pickle can "
                "run arbitrary code"
            )
        f.seek(0)
        try:
            archive = np.load(f, allow_pickle=False)
        except ValueError:  # NumPy's "contains pickled data": neither a zip nor an .npy
            raise ValueError("unrecognised content (neither a .npz archive nor .npy)") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single NumPy array, not a checkpoint archive")
        with archive:
            _check_members(archive.zip)
            return {name: archive[name] for name in archive.files}


def _check_members(archive: zipfile.ZipFile) -> None:
    """Refuse, before decompressing anything big, members that are encrypted, use another
    compression than none/deflate, or declare a size other than their array's: the size
    their own ``.npy`` header gives and, when the metadata lists the arrays, the size it
    gives. (A zip bomb declares gigabytes for a small file; it fails here.)"""
    infos = {i.filename: i for i in archive.infolist()}
    for info in infos.values():
        if info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(
                f"member {info.filename!r} uses compression method {info.compress_type}, "
                "not stored or deflate"
            )
    meta_info = infos.get(META_KEY + ".npy")
    if meta_info is None:
        return  # reported as "no __meta__ entry" by the caller
    if meta_info.file_size > META_LIMIT:
        raise ValueError(f"its metadata declares {meta_info.file_size} bytes (limit {META_LIMIT})")
    listing = _listing(archive, meta_info)
    for name, info in infos.items():
        if name == meta_info.filename:
            continue
        with archive.open(info) as member:
            expected, shape, dtype = _npy_size(member, name)
        if info.file_size != expected:
            raise ValueError(
                f"member {name!r} declares {info.file_size} bytes but holds a {dtype}"
                f"{list(shape)} array of {expected} bytes"
            )
        key = name[: -len(".npy")] if name.endswith(".npy") else name
        if listing is not None:
            if key not in listing:
                raise ValueError(f"member {key!r} is not in the metadata's list of arrays")
            if [list(shape), dtype.str] != [list(listing[key][0]), listing[key][1]]:
                raise ValueError(
                    f"member {key!r} is {dtype}{list(shape)} but the metadata lists "
                    f"{listing[key][1]}{list(listing[key][0])}"
                )


def _listing(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict | None:
    """The metadata's ``{member: [shape, dtype]}``, or None (files written before it)."""
    with archive.open(info) as member:
        _npy_size(member, info.filename)
        raw = member.read(META_LIMIT + 1)
    try:
        listing = _parse_json(raw.decode("utf-8")).get(ARRAYS_KEY)
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None  # reported in detail by _decode_meta
    return listing if isinstance(listing, dict) else None


def _npy_size(member: Any, name: str) -> tuple[int, tuple[int, ...], np.dtype]:
    """(total bytes, shape, dtype) from the ``.npy`` header at the start of ``member``."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ValueError(f"member {name!r} has no valid .npy header: {exc}") from None
    count = 1
    for d in shape:
        count *= d
    return member.tell() + count * dtype.itemsize, shape, dtype


def _parse_json(text: str) -> Any:
    """``json.loads``, with deep nesting (200,000 levels) a ValueError, not a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete temporaries of ``path`` left by killed saves: those whose writer process no
    longer exists (or, for names without a pid, older than an hour). Returns them."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(?:(\d+)\.)?.*\.tmp$")
    removed = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.match(candidate.name)
        if match is None:
            continue
        pid = match.group(1)
        if pid is not None and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if pid is None or int(pid) == os.getpid():
            try:
                if time.time() - candidate.stat().st_mtime < STALE_SECONDS:
                    continue
            except OSError:
                continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (someone else's), or we cannot tell: keep its file
    return True


def _decode_meta(path: Path, raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None:
        raise ValueError(f"{path} is not a tinytorch checkpoint: it has no {META_KEY} entry")
    try:
        meta = _parse_json(raw.astype(np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: the checkpoint's metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a tinytorch checkpoint (no '{FORMAT}' format tag)")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {meta.get('version')} is not supported "
            f"(this tinytorch reads version {VERSION})"
        )
    meta.pop(ARRAYS_KEY, None)
    return meta


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------- the Trainer's state
def save_state(path: str | os.PathLike, state: Mapping[str, Any]) -> None:
    """Write the Trainer's checkpoint dict (the book's keys) with :func:`write_checkpoint`.

    ``model_state`` (``{name: array}``) and the optimizer's ``buffers`` (``{list name:
    [array or None]}``) become archive members; everything else is JSON metadata, which
    also lists each array's name, shape and dtype so a load can check the archive.
    """
    arrays: dict[str, np.ndarray] = {}
    meta = {k: v for k, v in state.items() if k not in ("model_state", "optimizer_state")}
    meta["model_state"] = []
    for name, array in state["model_state"].items():
        arrays[f"model/{name}"] = np.asarray(array)
        meta["model_state"].append(_describe(name, arrays[f"model/{name}"]))
    optimizer = state.get("optimizer_state")
    if optimizer is not None:
        listed: dict[str, list[Any]] = {}
        for name, buffers in optimizer.get("buffers", {}).items():
            listed[name] = []
            for i, array in enumerate(buffers):
                if array is None:
                    listed[name].append(None)
                else:
                    arrays[f"optimizer/{name}/{i}"] = np.asarray(array)
                    listed[name].append(_describe(f"{name}/{i}", arrays[f"optimizer/{name}/{i}"]))
        optimizer = {**optimizer, "buffers": listed}
    meta["optimizer_state"] = optimizer
    write_checkpoint(path, arrays, meta)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """The dict :func:`save_state` was given, read back and checked for completeness."""
    arrays, meta = read_checkpoint(path)
    for key in ("epoch", "step", "history", "training_mode", "model_state"):
        if key not in meta:
            raise ValueError(f"{path}: the checkpoint's metadata has no {key!r} entry")
    try:
        return _unpack(path, arrays, meta)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path}: the checkpoint's metadata is malformed ({type(exc).__name__}: {exc})"
        ) from None


def _unpack(path: Any, arrays: Mapping[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(meta["history"], dict) or not all(
        isinstance(v, list) for v in meta["history"].values()
    ):
        raise TypeError("history must map names to lists")
    for key, kind in (("epoch", int), ("step", int), ("training_mode", bool)):
        if not isinstance(meta[key], kind):
            raise TypeError(f"{key} must be {kind.__name__}, got {meta[key]!r}")
    state = dict(meta)
    state.pop("format", None)
    state.pop("version", None)
    state["model_state"] = {
        entry["name"]: _member(path, arrays, f"model/{entry['name']}", entry)
        for entry in meta["model_state"]
    }
    optimizer = meta.get("optimizer_state")
    if optimizer is not None:
        buffers = {
            name: [
                None
                if entry is None
                else _member(path, arrays, f"optimizer/{entry['name']}", entry)
                for entry in entries
            ]
            for name, entries in optimizer.get("buffers", {}).items()
        }
        state["optimizer_state"] = {**optimizer, "buffers": buffers}
    return state


def _describe(name: str, array: np.ndarray) -> dict[str, Any]:
    return {"name": name, "shape": list(array.shape), "dtype": array.dtype.name}


def _member(path: Any, arrays: Mapping[str, np.ndarray], key: str, entry: dict) -> np.ndarray:
    """The archive member ``key``, which must have the shape and dtype the metadata lists."""
    if key not in arrays:
        raise ValueError(f"{path}: the checkpoint lists {key!r} but the archive lacks it")
    array = arrays[key]
    if list(array.shape) != list(entry["shape"]) or array.dtype.name != entry["dtype"]:
        raise ValueError(
            f"{path}: {key!r} is {array.dtype.name}{list(array.shape)} in the archive but "
            f"{entry['dtype']}{list(entry['shape'])} in the metadata (corrupted checkpoint)"
        )
    return array
