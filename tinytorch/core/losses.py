"""``from tinytorch.core.losses import MSELoss, CrossEntropyLoss`` (book Module 04)."""

from tinytorch.nn.losses import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    Loss,
    MSELoss,
    log_softmax,
)

__all__ = ["BinaryCrossEntropyLoss", "CrossEntropyLoss", "Loss", "MSELoss", "log_softmax"]
