"""Build tinytorch/data/tinydigits.npz from scikit-learn's bundled 8x8 digits.

    pip install scikit-learn && python scripts/build_tinydigits.py [--out PATH]

Recipe (the file is the same, byte for byte, every time): images / 16 as float32; for each
digit 0-9, its first 100 images in the original order go to train and the next 20 to test;
each split is then shuffled with ``numpy.random.default_rng(42)`` (train first, then test).
The .npz is written with fixed zip timestamps, so rebuilding changes nothing.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 42
TRAIN_PER_CLASS = 100
TEST_PER_CLASS = 20
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tinytorch" / "data" / "tinydigits.npz"


def build() -> dict[str, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("scikit-learn is needed to rebuild TinyDigits: pip install scikit-learn")
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        train_idx.extend(idx[:TRAIN_PER_CLASS])
        test_idx.extend(idx[TRAIN_PER_CLASS : TRAIN_PER_CLASS + TEST_PER_CLASS])
    rng = np.random.default_rng(SEED)
    train_idx = np.asarray(train_idx)[rng.permutation(len(train_idx))]
    test_idx = np.asarray(test_idx)[rng.permutation(len(test_idx))]
    return {
        "X_train": images[train_idx],
        "y_train": labels[train_idx],
        "X_test": images[test_idx],
        "y_test": labels[test_idx],
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz like ``np.savez_compressed``, but with fixed timestamps (reproducible bytes),
    written to a temp file and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    args = parser.parse_args(argv)
    arrays = build()
    write_npz(args.out, arrays)
    sizes = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in arrays.items())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
