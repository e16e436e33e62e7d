"""TinyDigits: 1,200 handwritten digits at 8x8, shipped inside the package (works offline).

The book's small dataset for fast iteration ("trains in seconds"): 1,000 training and 200
test images, 10 classes, balanced (100 train + 20 test per digit). Pixels are float32 in
[0, 1]; labels are int64.

It is built reproducibly by ``scripts/build_tinydigits.py`` from the 8x8 digits that ship
with scikit-learn (UCI optical digits): pixel values 0-16 divided by 16; for each digit, the
first 100 images (in the original order) go to train and the next 20 to test; each split is
then shuffled with ``numpy.random.default_rng(42)``. scikit-learn is needed only to rebuild
the file, not to use it. The book stores a pickle; this is an ``.npz`` (loading it runs no
code).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

SPLITS = {
    "X_train": ((1000, 8, 8), np.float32),
    "y_train": ((1000,), np.int64),
    "X_test": ((200, 8, 8), np.float32),
    "y_test": ((200,), np.int64),
}


def tinydigits_path() -> Path:
    """Where the shipped ``tinydigits.npz`` lives (``tinytorch/data/``)."""
    return Path(str(resources.files("tinytorch") / "data" / "tinydigits.npz"))


def load_tinydigits(
    path: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train (1000, 8, 8), y_train (1000,), X_test (200, 8, 8), y_test (200,)``."""
    path = Path(path) if path is not None else tinydigits_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"TinyDigits file {path} is missing; rebuild it with "
            "`python scripts/build_tinydigits.py` (needs scikit-learn)"
        )
    with np.load(path, allow_pickle=False) as npz:
        arrays = {}
        for key, (shape, dtype) in SPLITS.items():
            if key not in npz.files:
                raise ValueError(f"{path}: no array {key!r} (found {sorted(npz.files)})")
            array = npz[key]
            if array.shape != shape or array.dtype != dtype:
                raise ValueError(
                    f"{path}: {key} is {array.dtype}{list(array.shape)}, "
                    f"expected {np.dtype(dtype)}{list(shape)}"
                )
            arrays[key] = array
    return arrays["X_train"], arrays["y_train"], arrays["X_test"], arrays["y_test"]


__all__ = ["load_tinydigits", "tinydigits_path"]
