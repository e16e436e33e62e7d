"""Optimizers (book Module 06): ``SGD``, ``Adam``, ``AdamW``, on the one-graph ``Optimizer``
base of :mod:`tinytorch.optim.optimizer` (read it for how ``step()`` builds every
update as graph, realizes them all at once, and keeps per-step numbers out of the plan key).

Each class below only writes its update equations, exactly the book's (spec §6), as lazy
tensor expressions; the base class realizes and rebinds. State lists keep the book's names:
``momentum_buffers``, ``m_buffers``, ``v_buffers``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor
from tinytorch.optim.optimizer import Optimizer, Update, check_number, grad_of

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


# ------------------------------------------------------------------------- SGD
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and (coupled, L2) weight decay.

    Per parameter with a gradient (the book's equations)::

        g = grad + weight_decay * param          # if weight_decay != 0
        buf = momentum * buf + g;  g = buf       # if momentum != 0 (buf starts at zeros)
        param = param - lr * g

    Note the book's momentum adds the *full* gradient (no PyTorch "dampening"), although its
    prose says "keep 90% and add 10%" (spec §8.17): we follow the formula.
    ``step_count`` is incremented after the update, as in the book.
    """

    state_names = ("momentum_buffers",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self.lr = check_number("lr", lr)
        self.momentum = check_number("momentum", momentum)
        self.weight_decay = check_number("weight_decay", weight_decay)
        self.momentum_buffers: list[Tensor | None] = [None] * len(self.params)

    def has_momentum(self) -> bool:
        return self.momentum > 0

    def get_momentum_state(self) -> list[np.ndarray | None] | None:
        """Copies of the velocity buffers for checkpointing (``None`` without momentum)."""
        if not self.has_momentum():
            return None
        return [None if b is None else np.array(b.data, copy=True) for b in self.momentum_buffers]

    def set_momentum_state(self, state: list[Any] | None) -> None:
        """Restore buffers from :meth:`get_momentum_state` (``None`` resets them)."""
        self.state_version += 1
        if state is None:
            self.momentum_buffers = [None] * len(self.params)
            return
        if len(state) != len(self.params):
            raise ValueError(
                f"momentum state has {len(state)} buffers for {len(self.params)} parameters"
            )
        buffers: list[Tensor | None] = []
        for i, (b, p) in enumerate(zip(state, self.params, strict=True)):
            if b is not None and tuple(np.shape(b)) != p.shape:
                raise ValueError(f"momentum buffer {i} has shape {np.shape(b)}, not {p.shape}")
            buffers.append(None if b is None else Tensor(np.asarray(b), dtype=p.dtype))
        self.momentum_buffers = buffers

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def _updates(self) -> list[Update]:
        updates: list[Update] = []
        for i, p in enumerate(self.params):
            g = grad_of(p)
            if g is None:
                continue
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            if self.momentum != 0:
                buf = self.momentum * self._buffer(self.momentum_buffers, i) + g
                updates.append((self.momentum_buffers[i], buf))
                g = buf
            updates.append((p, p - self._scalar("lr", lambda: self.lr, p.dtype) * g))
        return updates

    def _after_step(self) -> None:
        self.step_count += 1


# ------------------------------------------------------------------------ Adam
class Adam(Optimizer):
    """Adaptive moments (Kingma & Ba), the book's equations::

        step_count += 1                      # before the loop, as in the book
        g = grad + weight_decay * param      # coupled decay, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**step_count)
        v_hat = v / (1 - beta2**step_count)
        param = param - lr * m_hat / (sqrt(v_hat) + eps)

    The bias-correction divisors (0.1, 0.19, ... for beta1 = 0.9) and ``lr`` are per-step
    data buffers, so every step reuses one compiled plan.
    """

    state_names = ("m_buffers", "v_buffers")
    decoupled = False  # AdamW sets True: decay the weights, not the gradient

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.lr = check_number("lr", lr)
        self.beta1 = check_number("beta1", betas[0], 0.0, 1.0)
        self.beta2 = check_number("beta2", betas[1], 0.0, 1.0)
        self.eps = check_number("eps", eps)
        self.weight_decay = check_number("weight_decay", weight_decay)
        self.m_buffers: list[Tensor | None] = [None] * len(self.params)
        self.v_buffers: list[Tensor | None] = [None] * len(self.params)

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, self.beta2)

    @betas.setter
    def betas(self, value: tuple[float, float]) -> None:
        self.beta1, self.beta2 = (float(b) for b in value)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": [self.beta1, self.beta2],
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def _before_step(self) -> None:
        self.step_count += 1

    def bias_corrections(self) -> tuple[float, float]:
        """``(1 - beta1**t, 1 - beta2**t)`` for the current ``step_count`` t."""
        t = self.step_count
        return 1.0 - self.beta1**t, 1.0 - self.beta2**t

    def _correction(self, k: int) -> Callable[[], float]:
        """Bias correction ``k`` (0: m, 1: v), read at the current step count."""
        return lambda: self.bias_corrections()[k]

    def _updates(self) -> list[Update]:
        updates: list[Update] = []
        for i, p in enumerate(self.params):
            g = grad_of(p)
            if g is None:
                continue
            if self.weight_decay != 0 and not self.decoupled:
                g = g + self.weight_decay * p
            m = self.beta1 * self._buffer(self.m_buffers, i) + (1.0 - self.beta1) * g
            v = self.beta2 * self._buffer(self.v_buffers, i) + (1.0 - self.beta2) * (g * g)
            m_hat = m / self._scalar("bias_correction1", self._correction(0), p.dtype)
            v_hat = v / self._scalar("bias_correction2", self._correction(1), p.dtype)
            lr = self._scalar("lr", lambda: self.lr, p.dtype)
            new = p - lr * m_hat / (v_hat.sqrt() + self.eps)
            if self.weight_decay != 0 and self.decoupled:
                new = new * self._scalar(
                    "decay", lambda: 1.0 - self.lr * self.weight_decay, p.dtype
                )
            updates += [(self.m_buffers[i], m), (self.v_buffers[i], v), (p, new)]
        return updates


class AdamW(Adam):
    """Adam with *decoupled* weight decay (Loshchilov & Hutter): the moments see the pure
    gradient, and after the Adam update ``param = param * (1 - lr * weight_decay)``.

    Example from the book: lr = 0.1, weight_decay = 0.01 shrinks each weight by 0.1%
    (x 0.999) on top of the gradient step. Default ``weight_decay=0.01``.
    """

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
