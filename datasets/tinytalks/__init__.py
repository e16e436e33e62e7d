"""The book's ``from datasets.tinytalks import load_tinytalks`` (see ``datasets/README.md``).

``load_tinytalks()`` returns TinyTalks as a list of ``(question, answer)`` pairs. Called
without ``data_dir``, it reads ``tinytalks_v1.txt`` from this folder (the book's
``datasets/tinytalks/``) when the file is here, and otherwise looks where
:func:`tinytorch.data.datasets.load_tinytalks` looks (``$TINYTORCH_DATA_DIR/tinytalks``, the
cache), downloading it there when the network allows.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinytorch.data.datasets import tinytalks as _tinytalks

HERE = Path(__file__).resolve().parent


def load_tinytalks(
    data_dir: str | os.PathLike | None = None, download: bool = True
) -> list[tuple[str, str]]:
    """TinyTalks as ``(question, answer)`` pairs; this folder first when it has the file."""
    if data_dir is None and (HERE / _tinytalks.FILENAME).is_file():
        data_dir = HERE
    try:
        return _tinytalks.load_tinytalks(data_dir, download=download)
    except _tinytalks.DatasetNotFoundError as exc:
        raise _tinytalks.DatasetNotFoundError(
            f"{exc}\nFrom `datasets.tinytalks`, {HERE} (the book's datasets/tinytalks/) works too."
        ) from None


__all__ = ["load_tinytalks"]
