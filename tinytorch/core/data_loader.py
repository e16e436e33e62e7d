"""``from tinytorch.core.data_loader import TensorDataset, DataLoader`` (book Module 08)."""

from tinytorch.frontend.data import *  # noqa: F403  (the book's path to the one implementation)
from tinytorch.frontend.data import __all__  # noqa: F401
