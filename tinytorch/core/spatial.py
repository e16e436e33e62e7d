"""``from tinytorch.core.spatial import Conv2d, MaxPool2d, AvgPool2d`` (book Module 09)."""

from tinytorch.nn.spatial import AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d

__all__ = ["AvgPool2d", "BatchNorm2d", "Conv2d", "MaxPool2d"]
