"""``from tinytorch.core.optimizers import Adam`` (book Module 06)."""

from tinytorch.optim.optimizers import SGD, Adam, AdamW, Optimizer

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
