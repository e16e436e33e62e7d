"""``from tinytorch.core.layers import Linear, Dropout, Sequential`` (book Module 03)."""

from tinytorch.frontend.layers import (
    DROPOUT_MAX_PROB,
    DROPOUT_MIN_PROB,
    XAVIER_SCALE_FACTOR,
    Dropout,
    Flatten,
    Layer,
    Linear,
    Sequential,
)

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
