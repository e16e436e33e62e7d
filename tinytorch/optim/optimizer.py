"""The ``Optimizer`` base class (book Module 06): how every optimizer's ``step()`` runs.

Every optimizer computes the book's equations exactly (spec §6), with one change of *when*:

**One graph per step.** ``step()`` does not update parameters one by one. It writes the new
value of every parameter, and of every state buffer (momentum, Adam's m and v), as lazy
graph — under ``no_grad()``, reading each ``param.grad`` (itself still lazy after
``loss.backward()``) — and then realizes all of them in a single ``tinytorch.realize`` call.
That call also computes the pending tensors the training loop still holds in the same graph
(the loss, the gradients), so forward, backward and update run as one compiled plan.
Finally each parameter is rebound to its new array (``param.data = new.data``: the tensor
becomes a fresh leaf; graphs built earlier keep the old values; ``.grad`` is kept).

**No recompiles.** A compiled plan is cached by the graph's *structure*, and a Python number
in the graph is structure (a ``const`` node keyed by its value). Values that change from step
to step — the learning rate (a scheduler may change it), Adam's bias corrections
``1 - beta**t`` and AdamW's decay factor ``1 - lr * wd`` — therefore enter the graph as 0-d
data buffers (``Tensor(np.float32(v))``), so step 2, 3, ... reuse step 1's plan. Fixed
hyper-parameters (momentum, betas, eps, weight_decay) are constants the passes may fold.

State buffers are Tensors named as the book names its lists (``momentum_buffers``,
``m_buffers``, ``v_buffers``), one entry per parameter, ``None`` until the parameter first
gets a gradient, then zeros. Parameters whose ``grad`` is ``None`` are skipped.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from tinytorch.frontend import tracing
from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor import Tensor, realize

Update = tuple[Tensor, Tensor]  # (tensor to rebind, its new lazy value)


def check_number(name: str, value: Any, low: float = 0.0, high: float | None = None) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):  # NaN passes every comparison below
        raise ValueError(f"{name} must be a finite number, got {value}")
    if value < low or (high is not None and value >= high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return float(value)


def grad_of(param: Tensor) -> Tensor | None:
    """``param.grad`` as a Tensor (the book also allows a bare ndarray)."""
    g = param.grad
    if g is None or isinstance(g, Tensor):
        return g
    return Tensor(np.asarray(g), dtype=param.dtype)


class Optimizer:
    """Base class: holds ``params`` (a list), ``lr``, ``step_count``; ``zero_grad()``.

    Subclasses implement :meth:`_updates`, which returns ``(tensor, new_value)`` pairs built
    as graph; :meth:`step` realizes them together and rebinds. ``lr`` is a plain attribute
    (the Trainer's scheduler assigns ``optimizer.lr = new_lr``).
    """

    state_names: tuple[str, ...] = ()  # the book's names of the per-parameter state lists

    def __init__(self, params: Iterable[Tensor]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params must be a list of Tensors (e.g. model.parameters())")
        self.params: list[Tensor] = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Tensor")
            if id(p) in seen:
                raise ValueError(f"parameter {i} appears twice in the list (it would step twice)")
            seen.add(id(p))
        self.lr: float = 0.0
        self.step_count = 0
        self.state_version = 0  # bumped when state is replaced wholesale (load_state_dict)
        self._scalars: dict[tuple[str, str], Tensor] = {}

    def zero_grad(self) -> None:
        """Clear every parameter's gradient (``grad = None``: no memory until backward)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter with a gradient: one graph, one realize, then rebind."""
        count = self.step_count
        tracing.guard(self, "state_version")  # a compiled step re-traces after a load
        tracing.effect(self._before_step)
        try:
            with no_grad():
                updates = self._build()
            if updates:
                realize(*(new for _, new in updates))
        except BaseException:
            self.step_count = count  # a failed step changes nothing
            raise
        for target, new in updates:
            target.data = new
        tracing.effect(self._after_step)

    @user_op("optimizer.step")
    def _build(self) -> list[Update]:
        self._scalars = {}  # fresh per-step numbers for this step
        return self._updates()

    # ------------------------------------------------------- for subclasses
    def _updates(self) -> list[Update]:
        raise NotImplementedError(f"{type(self).__name__} must implement _updates()")

    def _before_step(self) -> None:
        """Adam counts the step here (the book increments before its loop)."""

    def _after_step(self) -> None:
        """SGD counts the step here (the book increments after its loop)."""

    def _scalar(self, name: str, value: Callable[[], float], dtype: np.dtype) -> Tensor:
        """A per-step number as a 0-d data buffer (one per name and dtype per step).

        ``value`` is a function, not a number: a compiled step calls it again at every
        replay, so a new ``lr`` or step count reaches the replayed graph."""
        key = (name, np.dtype(dtype).name)
        if key not in self._scalars:
            self._scalars[key] = tracing.fresh(value, dtype)
        return self._scalars[key]

    def _buffer(self, buffers: list[Tensor | None], i: int) -> Tensor:
        """The i-th state buffer, created as zeros on first use (the book's lazy init)."""
        if buffers[i] is None:
            p = self.params[i]
            buffers[i] = Tensor(np.zeros(p.shape, dtype=p.dtype))
        return buffers[i]

    # ---------------------------------------------------------------- state
    def hyperparameters(self) -> dict[str, Any]:
        """The settings a checkpoint records (JSON-friendly)."""
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        """Settings, ``step_count`` and copies of the state buffers (``None`` if unused).

        The book keeps optimizer state "manually through buffers"; this is the PyTorch-style
        bundle the Trainer's checkpoints use."""
        return {
            "type": type(self).__name__,
            "step_count": self.step_count,
            "hyperparameters": self.hyperparameters(),
            "buffers": {
                name: [
                    None if b is None else np.array(b.data, copy=True) for b in self._lists(name)
                ]
                for name in self.state_names
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from :meth:`state_dict`. Everything is checked before anything changes."""
        problems = self.state_problems(state)
        if problems:
            raise ValueError(
                f"optimizer state does not fit this {type(self).__name__}:\n  "
                + "\n  ".join(problems)
            )
        self.state_version += 1
        for key, value in state["hyperparameters"].items():
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        self.step_count = int(state["step_count"])
        for name in self.state_names:
            buffers = self._lists(name)
            for i, array in enumerate(state["buffers"][name]):
                dtype = self.params[i].dtype
                buffers[i] = None if array is None else Tensor(np.asarray(array), dtype=dtype)

    def state_problems(self, state: Mapping[str, Any]) -> list[str]:
        """Why ``state`` cannot be loaded into this optimizer (empty list if it can)."""
        if state.get("type") != type(self).__name__:
            return [f"it was saved from {state.get('type')}, this is {type(self).__name__}"]
        problems = []
        known = self.hyperparameters()
        for key, value in state.get("hyperparameters", {}).items():
            numbers_ok = all(isinstance(v, numbers.Real) for v in np.ravel(value))
            if key not in known or not numbers_ok or np.shape(value) != np.shape(known[key]):
                problems.append(f"setting {key}={value!r} does not apply to this optimizer")
        if not isinstance(state.get("step_count"), int):
            problems.append(f"step_count {state.get('step_count')!r} is not an integer")
        buffers = state.get("buffers", {})
        for name in self.state_names:
            saved = buffers.get(name)
            if saved is None or len(saved) != len(self.params):
                count = "none" if saved is None else len(saved)
                problems.append(f"{name}: {count} entries for {len(self.params)} parameters")
                continue
            for i, (array, p) in enumerate(zip(saved, self.params, strict=True)):
                if array is not None and tuple(np.shape(array)) != p.shape:
                    problems.append(
                        f"{name}[{i}]: shape {tuple(np.shape(array))}, parameter has {p.shape}"
                    )
        return problems

    def _lists(self, name: str) -> list[Tensor | None]:
        return getattr(self, name)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings})"
