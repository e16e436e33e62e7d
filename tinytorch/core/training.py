"""Training (book Module 07). The book imports these only from the top level
(``from tinytorch import Trainer, CosineSchedule``); this path mirrors the other modules."""

from tinytorch.frontend.training import (
    CosineSchedule,
    Trainer,
    clip_grad_norm,
    clip_grad_norm_lazy,
)

__all__ = ["CosineSchedule", "Trainer", "clip_grad_norm", "clip_grad_norm_lazy"]
