"""Autograd (book Module 05). The book names no import path for these; this one mirrors the
others. The ``*Backward`` classes are the types of ``tensor.grad_fn``."""

from tinytorch.frontend.autograd import (
    Function,
    enable_autograd,
    enable_grad,
    function_class,
    is_grad_enabled,
    no_grad,
)

_BOOK_NAMES = (
    "AddBackward",
    "SubBackward",
    "MulBackward",
    "DivBackward",
    "MatmulBackward",
    "SumBackward",
    "MeanBackward",
    "ReshapeBackward",
    "TransposeBackward",
    "PermuteBackward",
    "ReLUBackward",
    "SigmoidBackward",
    "TanhBackward",
    "SoftmaxBackward",
    "GELUBackward",
    "SliceBackward",
    "EmbeddingBackward",
    "PowBackward",
    "ExpBackward",
    "LogBackward",
    "MaxBackward",
)
globals().update({name: function_class(name) for name in _BOOK_NAMES})

__all__ = ["Function", "enable_autograd", "enable_grad", "is_grad_enabled", "no_grad", *_BOOK_NAMES]
