"""``from tinytorch.core.layers import Linear, Dropout, Sequential`` (book Module 03)."""

from tinytorch.nn.layers import (
    DROPOUT_MAX_PROB,
    DROPOUT_MIN_PROB,
    XAVIER_SCALE_FACTOR,
    Dropout,
    Flatten,
    Linear,
    Sequential,
)
from tinytorch.nn.module import Layer

__all__ = [
    "DROPOUT_MAX_PROB",
    "DROPOUT_MIN_PROB",
    "XAVIER_SCALE_FACTOR",
    "Dropout",
    "Flatten",
    "Layer",
    "Linear",
    "Sequential",
]
