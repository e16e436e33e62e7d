"""TinyDigits ships with the package and is rebuilt, identically, by its build script."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytorch.data.datasets import load_tinydigits, tinydigits_path

ROOT = Path(__file__).resolve().parents[2]


def test_shapes_dtypes_and_ranges_match_the_book():
    """X_train (1000, 8, 8), y_train (1000,), X_test (200, 8, 8), y_test (200,)."""
    x_train, y_train, x_test, y_test = load_tinydigits()
    assert x_train.shape == (1000, 8, 8) and y_train.shape == (1000,)
    assert x_test.shape == (200, 8, 8) and y_test.shape == (200,)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        assert np.allclose(x * 16, np.round(x * 16))  # pixel values are k / 16


def test_classes_are_balanced_and_shuffled():
    """100 train and 20 test images per digit, not sorted by class."""
    _, y_train, _, y_test = load_tinydigits()
    assert np.bincount(y_train).tolist() == [100] * 10
    assert np.bincount(y_test).tolist() == [20] * 10
    assert not np.all(np.diff(y_train) >= 0)


def test_train_and_test_share_no_image():
    """The splits are disjoint."""
    x_train, _, x_test, _ = load_tinydigits()
    train = {row.tobytes() for row in x_train.reshape(1000, -1)}
    assert not any(row.tobytes() in train for row in x_test.reshape(200, -1))


def test_the_file_ships_inside_the_package():
    """The data lives in tinytorch/data/, so it is there after pip install."""
    path = tinydigits_path()
    assert path.is_file() and path.parent.name == "data" and path.parent.parent.name == "tinytorch"


def test_a_missing_or_wrong_file_is_a_clear_error(tmp_path):
    """A path that does not exist, or holds other arrays, says so."""
    with pytest.raises(FileNotFoundError, match="build_tinydigits"):
        load_tinydigits(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", X_train=np.zeros((3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="y_train|X_train"):
        load_tinydigits(tmp_path / "other.npz")


def test_the_build_script_reproduces_the_shipped_file(tmp_path):
    """Rebuilding from scikit-learn gives the shipped file byte for byte."""
    if importlib.util.find_spec("sklearn") is None:
        print("skipped: scikit-learn is not installed (needed only to rebuild TinyDigits)")
        pytest.skip("scikit-learn is not installed (needed only to rebuild TinyDigits)")
    out = tmp_path / "tinydigits.npz"
    script = ROOT / "scripts" / "build_tinydigits.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes() == tinydigits_path().read_bytes()
