"""Helpers for the language-model tests (embeddings, attention, transformers, GPT).

Every test in this folder runs once per backend (numpy and llvm; see ``tests/conftest.py``).
References are independent of tinytorch: NumPy formulas written out in each test file, and
central finite differences (``numeric_grad``) of those formulas in float64.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pytest

EPS = 1e-6


def central_difference(
    loss: Callable[..., float], arrays: Sequence[np.ndarray], k: int, eps: float = EPS
) -> np.ndarray:
    """d loss / d arrays[k], one element at a time: (L(x + eps) - L(x - eps)) / (2 eps)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    x = arrays[k]
    grad = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        plus = loss(*arrays)
        x[j] = old - eps
        minus = loss(*arrays)
        x[j] = old
        grad[j] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture(scope="session")
def numeric_grad() -> Callable[..., np.ndarray]:
    return central_difference


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's node id (stable across runs and machines)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
