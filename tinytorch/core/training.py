"""Training (book Module 07). The book imports these only from the top level
(``from tinytorch import Trainer, CosineSchedule``); this path mirrors the other modules."""

from tinytorch.optim.clipping import clip_grad_norm, clip_grad_norm_lazy
from tinytorch.optim.schedules import CosineSchedule
from tinytorch.train.trainer import Trainer

__all__ = ["CosineSchedule", "Trainer", "clip_grad_norm", "clip_grad_norm_lazy"]
