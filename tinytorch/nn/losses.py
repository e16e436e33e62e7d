"""Losses (book Module 04): ``log_softmax``, ``MSELoss``, ``CrossEntropyLoss``,
``BinaryCrossEntropyLoss``.

The book's listings compute each loss on ``.data`` and return a graph-less ``Tensor``, while
its Module 05 names ``MSEBackward``, ``CrossEntropyBackward`` and ``BCEBackward`` (spec §4,
§8.9). We resolve that in favour of autograd: every loss here is built from graph ops, so it
is a lazy scalar Tensor that ``backward()`` differentiates, and whose ``grad_fn`` carries
the book's name. Reduction is the mean, the only one the book implements.

Errors are raised when the loss is written, at the user's line: shapes that do not match, a
class index out of range (the book's own IndexError text, "index 5 is out of bounds for axis
1 with size 3", plus the class count) and float labels for cross-entropy (``TypeError``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.frontend import functional as F
from tinytorch.frontend import tracing
from tinytorch.frontend.autograd import no_grad, record_op
from tinytorch.frontend.dtypes import DEFAULT_FLOAT, is_float
from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.shapes import normalize_axis

BCE_EPSILON = 1e-7  # the book's clamp: log() never sees exactly 0 or 1


def _as_tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple, np.ndarray, float, int, np.generic)):
        return Tensor(x)
    raise TypeError(f"{what} must be a Tensor, got {type(x).__name__}")


def _float(x: Tensor) -> Tensor:
    return x if is_float(x.dtype) else x.astype(DEFAULT_FLOAT)


def _labelled(out: Tensor, parents: list[Tensor], label: str) -> Tensor:
    """Name the loss's ``grad_fn`` (``<MSEBackward>``) as the book does."""
    record_op(out._node, parents, label)
    return out


# --------------------------------------------------------------- log_softmax
@user_op("log_softmax")
def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - max - log(sum(exp(x - max)))`` along ``dim``: log-probabilities, same shape.

    Subtracting the max is the book's log-sum-exp trick and is exact, not an approximation:
    ``[100, 200, 300]`` becomes ``[-200, -100, 0]`` before ``exp``, so nothing overflows.
    The max is a constant shift whose gradient contribution is exactly zero, so it is built
    without gradient tracking (a smaller backward graph).
    """
    x = _as_tensor(x, "log_softmax input")
    axis = normalize_axis(dim, x.ndim, "log_softmax")
    xf = _float(x)
    with no_grad():
        max_vals = xf.max(axis=axis, keepdims=True)
    shifted = xf - max_vals
    log_sum_exp = shifted.exp().sum(axis=axis, keepdims=True).log()
    return _labelled(shifted - log_sum_exp, [x], "LogSoftmaxBackward")


# --------------------------------------------------------------------- losses
class Loss:
    """A loss is a callable object with a no-argument constructor; ``__call__`` delegates
    to ``forward(predictions, targets)``, which returns a lazy scalar Tensor."""

    def forward(self, predictions: Tensor, targets: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, predictions: Tensor, targets: Tensor) -> Tensor:
        return self.forward(predictions, targets)

    def parameters(self) -> list[Tensor]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _same_shapes(name: str, predictions: Tensor, targets: Tensor) -> None:
    """The book's formulas assume equal shapes; NumPy would silently broadcast (N,1) against
    (N,) into an (N, N) matrix, a classic bug, so a mismatch is an error here."""
    if predictions.shape != targets.shape:
        raise ShapeError(
            f"{name}: predictions shape {predictions.shape} and targets shape "
            f"{targets.shape} must match"
        )


class MSELoss(Loss):
    """Mean squared error, ``mean((predictions - targets) ** 2)``, for regression.

    Book example: predictions [200, 250, 300] against targets [195, 260, 290] give 75.0.
    """

    @user_op("MSELoss")
    def forward(self, predictions: Tensor, targets: Tensor) -> Tensor:
        predictions = _as_tensor(predictions, "MSELoss predictions")
        targets = _as_tensor(targets, "MSELoss targets")
        _same_shapes("MSELoss", predictions, targets)
        diff = _float(predictions) - targets
        return _labelled((diff * diff).mean(), [predictions, targets], "MSEBackward")


class CrossEntropyLoss(Loss):
    """Multi-class cross-entropy from raw logits ``(N, C)`` and class indices ``(N,)``.

    ``loss = -mean(log_softmax(logits)[i, targets[i]])``. Do not apply softmax first: the
    log-softmax inside is the stable one. Book example: logits [[2.0, 0.5, 0.1],
    [0.3, 1.8, 0.2]] with labels [0, 1] give 0.335485.

    Selecting each row's target log-probability is a one-hot mask, ``targets[:, None] ==
    arange(C)``, and ``where(mask, log_probs, 0)`` summed: elementwise ops that fuse with
    the reduction, whose gradient is exactly ``g`` at the target and 0 elsewhere.

    Targets must be integers (a float label is a ``TypeError``: cast it with
    ``.astype("int64")`` if you meant it). Their values are checked when the loss is
    written: a lazy targets tensor is computed first (labels never depend on parameters,
    so this costs a small separate graph) and an index outside ``0..C-1`` raises
    ``IndexError`` (negative indices too: a label of -1 is a bug, not "the last class").
    """

    @user_op("CrossEntropyLoss")
    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        logits = _as_tensor(logits, "CrossEntropyLoss logits")
        targets = _as_tensor(targets, "CrossEntropyLoss targets")
        n, c = self._check(logits, targets)
        log_probs = log_softmax(logits, dim=-1)
        mask = targets.reshape(n, 1) == _class_ids(c)
        picked = F.where(mask, log_probs, 0.0).sum()
        return _labelled(picked * (-1.0 / n), [logits, targets], "CrossEntropyBackward")

    @staticmethod
    def _check(logits: Tensor, targets: Tensor) -> tuple[int, int]:
        if logits.ndim != 2:
            raise ShapeError(
                f"CrossEntropyLoss: logits must be 2-D (batch, classes), got shape {logits.shape}"
            )
        n, c = logits.shape
        if targets.dtype.kind not in "iu":
            raise DTypeError(
                f"CrossEntropyLoss: targets must be integer class indices, got {targets.dtype} "
                "(convert with targets.astype('int64'))"
            )
        if targets.shape != (n,):
            raise ShapeError(
                f"CrossEntropyLoss: targets shape {targets.shape} does not match logits "
                f"shape {logits.shape}: expected ({n},), one class index per row"
            )
        if n == 0:
            raise ShapeError("CrossEntropyLoss: the batch is empty (logits shape (0, C))")
        with tracing.internal_read():  # validation only: the graph does not depend on it
            labels = targets.data
        bad = labels[(labels < 0) | (labels >= c)]
        if bad.size:
            raise IndexError(
                f"CrossEntropyLoss: index {bad.flat[0]} is out of bounds for axis 1 with size "
                f"{c} (targets are class indices 0..{c - 1} for {c} classes)"
            )
        return n, c


_CLASS_IDS: dict[int, Tensor] = {}


def _class_ids(c: int) -> Tensor:
    """``arange(c)`` as a data buffer, made once per class count (it never changes)."""
    if c not in _CLASS_IDS:
        _CLASS_IDS[c] = Tensor(np.arange(c, dtype=np.int64))
    return _CLASS_IDS[c]


class BinaryCrossEntropyLoss(Loss):
    """``-mean(t * log(p) + (1 - t) * log(1 - p))`` for probabilities ``p`` (after sigmoid).

    ``p`` is clamped to ``[1e-7, 1 - 1e-7]`` first (the book's fix for ``log(0)``; its
    gradient is zero where the clamp bites). Any shape works as long as predictions and
    targets match (the book's multi-label example uses (B, 5)); the mean is over all
    elements. Targets may be floats or integers (0/1, or soft labels in between).
    """

    @user_op("BinaryCrossEntropyLoss")
    def forward(self, predictions: Tensor, targets: Tensor) -> Tensor:
        predictions = _as_tensor(predictions, "BinaryCrossEntropyLoss predictions")
        targets = _as_tensor(targets, "BinaryCrossEntropyLoss targets")
        _same_shapes("BinaryCrossEntropyLoss", predictions, targets)
        p = _float(predictions).clip(BCE_EPSILON, 1.0 - BCE_EPSILON)
        t = _float(targets)
        per_element = t * p.log() + (1.0 - t) * (1.0 - p).log()
        return _labelled(-per_element.mean(), [predictions, targets], "BCEBackward")
