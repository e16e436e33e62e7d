"""Learning-rate schedules (book Module 07): ``CosineSchedule``.

A schedule is a plain function of the epoch; the optimizer reads ``lr`` as a runtime value,
so changing it does not recompile the step's graph.
"""

from __future__ import annotations

import math
import numbers
from typing import Any


# ------------------------------------------------------------ CosineSchedule
class CosineSchedule:
    """Cosine annealing from ``max_lr`` (epoch 0) to ``min_lr`` (epoch ``total_epochs``)::

        lr(e) = min_lr + (max_lr - min_lr) * (1 + cos(pi * e / total_epochs)) / 2

    and ``min_lr`` from ``total_epochs`` on. For (0.1, 0.01, 100): 0.1, 0.0868, 0.055,
    0.0232, 0.01 at epochs 0, 25, 50, 75, 100 (the book prints 0.085 and 0.025, loosely
    rounded; the formula is the reference).
    """

    def __init__(self, max_lr: float = 0.1, min_lr: float = 0.01, total_epochs: int = 100) -> None:
        if not isinstance(total_epochs, numbers.Integral) or total_epochs <= 0:
            raise ValueError(f"total_epochs must be a positive integer, got {total_epochs!r}")
        if min_lr < 0 or max_lr < 0:
            raise ValueError(f"learning rates must be >= 0, got max_lr={max_lr}, min_lr={min_lr}")
        self.max_lr = float(max_lr)
        self.min_lr = float(min_lr)
        self.total_epochs = int(total_epochs)

    def get_lr(self, epoch: int) -> float:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        if epoch >= self.total_epochs:
            return self.min_lr
        cosine_factor = (1 + math.cos(math.pi * epoch / self.total_epochs)) / 2
        return self.min_lr + (self.max_lr - self.min_lr) * cosine_factor

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **vars(self)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_lr"], state["min_lr"], state["total_epochs"])

    def __repr__(self) -> str:
        return (
            f"CosineSchedule(max_lr={self.max_lr}, min_lr={self.min_lr}, "
            f"total_epochs={self.total_epochs})"
        )
