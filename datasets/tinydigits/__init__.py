"""The book's ``from datasets.tinydigits import load_tinydigits`` (see ``datasets/README.md``).

``load_tinydigits()`` returns ``X_train (1000, 8, 8), y_train (1000,), X_test (200, 8, 8),
y_test (200,)``: float32 pixels in [0, 1] and int64 labels 0-9, from the copy shipped in
the package (``tinytorch/data/tinydigits.npz``).
"""

from tinytorch.data.datasets.tinydigits import load_tinydigits, tinydigits_path

__all__ = ["load_tinydigits", "tinydigits_path"]
