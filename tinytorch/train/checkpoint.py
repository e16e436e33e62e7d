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
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "tinytorch-checkpoint"
VERSION = 1
META_KEY = "__meta__"


def write_checkpoint(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: dict) -> None:
    """Atomically write ``arrays`` and the JSON-serialisable ``meta`` to ``path``.

    Parent directories are created. On any failure the target is untouched and the
    temporary file is removed.
    """
    path = Path(path)
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved for the metadata")
    header = {"format": FORMAT, "version": VERSION, **meta}
    encoded = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    members = {META_KEY: encoded, **{k: np.asarray(v) for k, v in arrays.items()}}
    for name, array in members.items():
        if array.dtype.hasobject:
            raise TypeError(f"checkpoint entry {name!r} holds Python objects, not numbers")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    try:
        arrays = _read_archive(path)
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
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
            return {name: archive[name] for name in archive.files}


def _decode_meta(path: Path, raw: np.ndarray | None) -> dict[str, Any]:
    if raw is None:
        raise ValueError(f"{path} is not a tinytorch checkpoint: it has no {META_KEY} entry")
    try:
        meta = json.loads(raw.astype(np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: the checkpoint's metadata is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a tinytorch checkpoint (no '{FORMAT}' format tag)")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {meta.get('version')} is not supported "
            f"(this tinytorch reads version {VERSION})"
        )
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
