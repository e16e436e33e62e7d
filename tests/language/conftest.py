"""Helpers for the language-model tests (embeddings, attention, transformers, GPT).

Every test in this folder runs once per backend (numpy and llvm; see ``tests/conftest.py``).
References are independent of tinytorch: NumPy formulas written out in each test file, and
central finite differences (``numeric_grad``) of those formulas in float64.
"""

from __future__ import annotations
