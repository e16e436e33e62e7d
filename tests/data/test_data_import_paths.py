"""The book's import paths for Module 08 and the datasets all lead to one implementation."""

import os
import subprocess
import sys
from pathlib import Path

import tinytorch
from tinytorch.core import data_loader
from tinytorch.data import datasets, loader, transforms


def test_book_path_and_top_level_are_the_same_classes():
    """from tinytorch.core.data_loader import TensorDataset, DataLoader (book L5688)."""
    for name in ("Dataset", "TensorDataset", "DataLoader"):
        assert getattr(data_loader, name) is getattr(loader, name) is getattr(tinytorch, name)
    for name in ("RandomHorizontalFlip", "RandomCrop", "Compose", "Normalize"):
        assert getattr(data_loader, name) is getattr(transforms, name)


def test_dataset_loaders_are_exported_at_the_top():
    """load_tinydigits and load_mnist are reachable as tinytorch.load_*."""
    assert tinytorch.load_tinydigits is datasets.load_tinydigits
    assert tinytorch.load_mnist is datasets.load_mnist


CHECKOUT = Path(__file__).resolve().parents[2]


def _from_checkout(code: str, *args: str, data_dir: Path | None = None):
    """Run ``code`` from the repository root, as the book's readers do (downloaded datasets
    looked for in ``data_dir``, never in the user's cache)."""
    env = {**os.environ, "PYTHONPATH": str(CHECKOUT)}
    env["TINYTORCH_DATA_DIR"] = str(data_dir or CHECKOUT / "no-such-dir")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_books_tinydigits_import_path():
    """from datasets.tinydigits import load_tinydigits (book Ch 31), with its shapes."""
    result = _from_checkout(
        "from datasets.tinydigits import load_tinydigits\n"
        "X_train, y_train, X_test, y_test = load_tinydigits()\n"
        "print(X_train.shape, y_train.shape, X_test.shape, y_test.shape)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1000, 8, 8) (1000,) (200, 8, 8) (200,)"


def test_the_books_tinytalks_import_path_reads_its_folder(tmp_path):
    """from datasets.tinytalks import load_tinytalks: a list of (question, answer) pairs,
    read from the book's datasets/tinytalks/ (here a stand-in folder); never downloads."""
    (tmp_path / "tinytalks_v1.txt").write_text("Q: What is 2+2?\nA: 4\n\nQ: Hi?\nA: Hello\n")
    code = (
        "import sys, pathlib\n"
        "import datasets.tinytalks as t\n"
        "t.HERE = pathlib.Path(sys.argv[1])\n"
        "print(t.load_tinytalks(download=False))"
    )
    result = _from_checkout(code, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "[('What is 2+2?', '4'), ('Hi?', 'Hello')]" in result.stdout
    missing = _from_checkout(code, str(tmp_path / "empty"), data_dir=tmp_path / "cache")
    assert missing.returncode != 0 and "DatasetNotFoundError" in missing.stderr
    assert "datasets/tinytalks/" in missing.stderr
