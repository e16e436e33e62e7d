"""TinyTalks v1: 301 short question/answer pairs for training a tiny chat model (milestone 05).

TinyTalks is part of the TinyTorch project (MLSysBook/TinyTorch on GitHub) and is licensed
under Creative Commons Attribution 4.0 (CC BY 4.0): it may be shared and adapted with credit
to its authors. It is not shipped with this package; ``load_tinytalks()`` downloads the one
text file (17,945 bytes) and checks its SHA-256, or reads a copy you place yourself.

The file is in the ``Q:`` / ``A:`` format read by :mod:`qa_text` (pairs separated by blank
lines). Where it is looked for (the same rules as MNIST):

1. ``data_dir`` if given (the milestone's ``--data-dir``) — a directory holding
   ``tinytalks_v1.txt``, or the path of a Q/A file itself;
2. ``$TINYTORCH_DATA_DIR/tinytalks`` if that variable is set;
3. ``~/.cache/tinytorch/datasets/tinytalks`` (the milestone scripts use the book's
   ``milestones/datasets/tinytalks/`` instead).

A file found on disk is used as it is (a copy that differs from the published v1 file is
named as such in the message); a download must match the pinned checksum or nothing is
kept. Offline and without the file, a ``DatasetNotFoundError`` says what to put where.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinytorch.data.datasets.download import (
    DEFAULT_TIMEOUT,
    DatasetNotFoundError,
    default_dataset_dir,
    download_or_explain,
    sha256_of,
)
from tinytorch.data.datasets.qa_text import read_qa_file

FILENAME = "tinytalks_v1.txt"
MIRRORS = ("https://raw.githubusercontent.com/MLSysBook/TinyTorch/main/datasets/tinytalks/",)
SHA256 = "62e5b5e2095c4cd4b4a70ae9644b943f157c513f4099e2d029489ab945348a21"
SIZE_BYTES = 17_945
NUM_PAIRS = 301
CREDIT = "TinyTalks v1 by the TinyTorch project (MLSysBook/TinyTorch), CC BY 4.0"


def default_tinytalks_dir() -> Path:
    """``$TINYTORCH_DATA_DIR/tinytalks``, else ``~/.cache/tinytorch/datasets/tinytalks``."""
    return default_dataset_dir("tinytalks")


def missing_file_message(directory: Path, reason: str) -> str:
    return (
        f"TinyTalks is not available: {reason}.\n"
        f"Place {FILENAME} (from {MIRRORS[0]}{FILENAME}) in {directory},\n"
        "or point at a directory holding it with --data-dir DIR, or set TINYTORCH_DATA_DIR\n"
        "(it then goes in $TINYTORCH_DATA_DIR/tinytalks)."
    )


def ensure_tinytalks_file(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """The path of the TinyTalks file, downloading it when it is missing and allowed."""
    given = Path(data_dir).expanduser() if data_dir is not None else None
    if given is not None and given.is_file():
        return given
    directory = given if given is not None else default_tinytalks_dir()
    path = directory / FILENAME
    if path.is_file():
        return path
    missing = f"no {FILENAME} in {directory}"
    if not download:
        raise DatasetNotFoundError(missing_file_message(directory, f"{missing}, download off"))
    return download_or_explain(
        FILENAME,
        directory,
        MIRRORS,
        SHA256,
        lambda reason: missing_file_message(directory, reason),
        missing=missing,
        timeout=timeout,
    )


def load_tinytalks(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[tuple[str, str]]:
    """TinyTalks as a list of ``(question, answer)`` pairs, in file order.

    Prints one line saying where the pairs came from, with the dataset's credit and licence.
    Raises ``DatasetNotFoundError`` when the file is neither on disk nor downloadable, and
    ``ValueError`` (naming file and line) when it is not valid Q/A text.
    """
    path = ensure_tinytalks_file(data_dir, download=download, timeout=timeout)
    pairs = read_qa_file(path)
    if not pairs:
        raise ValueError(f"{path}: no 'Q:' / 'A:' pairs found")
    version = "" if sha256_of(path) == SHA256 else " (a copy that differs from the published v1)"
    print(f"TinyTalks: {len(pairs)} Q&A pairs from {path}{version}; {CREDIT}", flush=True)
    return pairs


__all__ = [
    "CREDIT",
    "FILENAME",
    "NUM_PAIRS",
    "SHA256",
    "default_tinytalks_dir",
    "ensure_tinytalks_file",
    "load_tinytalks",
]
