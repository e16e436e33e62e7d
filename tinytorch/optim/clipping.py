"""Gradient clipping (book Module 07): ``clip_grad_norm`` and ``clip_grad_norm_lazy``.

``clip_grad_norm`` has two faces. The book's returns the pre-clip norm as a float, which
needs the gradients' values now; ``clip_grad_norm_lazy`` does the same clipping as graph and
returns the norm as a lazy tensor, so the Trainer's clip stays inside the step's one graph.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor, realize


# ------------------------------------------------------------ clip_grad_norm
def clip_grad_norm(parameters: Iterable[Tensor], max_norm: float = 1.0) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm *before* clipping. Only when it exceeds ``max_norm`` (strictly) is
    every gradient multiplied by ``max_norm / norm``: directions are kept, unlike clipping
    each element. Book example: gradients [100, 200, 50] have norm 229.129 and become
    [0.4364, 0.8729, 0.2182], of norm 1.0.

    Returning a float needs the value now, so this realizes the gradients. The Trainer uses
    :func:`clip_grad_norm_lazy` instead, which keeps the clipping inside the step's graph.
    """
    params = _unique(parameters)
    norm = clip_grad_norm_lazy(params, max_norm)
    if norm is None:
        return 0.0
    realize(norm, *(p.grad for p in params if p.grad is not None))
    return float(norm.item())


def clip_grad_norm_lazy(parameters: Iterable[Tensor], max_norm: float = 1.0) -> Tensor | None:
    """:func:`clip_grad_norm` as graph: rebinds each ``grad`` to ``grad * coef`` with
    ``coef = max_norm / maximum(norm, max_norm)`` (1 when the norm is within bounds, never
    a division by zero) and returns the pre-clip norm as a lazy 0-d Tensor (``None`` when
    no parameter has a gradient). Nothing is computed until something reads it."""
    if not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    params = [p for p in _unique(parameters) if p.grad is not None]
    if not params:
        return None
    with no_grad():
        grads = [p.grad if isinstance(p.grad, Tensor) else Tensor(p.grad) for p in params]
        squares = [(g.astype("float32") if g.dtype == np.float16 else g) for g in grads]
        total = (squares[0] * squares[0]).sum()
        for g in squares[1:]:
            total = total + (g * g).sum()
        norm = total.sqrt()
        limit = Tensor(np.asarray(max_norm, dtype=norm.dtype))
        coef = limit / norm.maximum(limit)
        for p, g in zip(params, grads, strict=True):
            p.grad = g * coef
    return norm


def _unique(parameters: Iterable[Tensor]) -> list[Tensor]:
    """Each parameter once (clipping a shared tensor twice would shrink it twice)."""
    seen: set[int] = set()
    out = []
    for p in parameters:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out
