"""Training (book Module 07): the ``Trainer``.

The Trainer follows the book's loop step by step (spec §7.3), including two behaviours the
book's code has and its prose glosses over; both are kept and documented, not "fixed":

* **Gradient accumulation sums.** Each micro-batch calls ``backward()`` on its *unscaled*
  loss, so with ``accumulation_steps=k`` the gradients of k batches add up, while the
  reported loss is their average (spec §8.13). Scale your ``lr`` by 1/k for an average.
* **The scheduler lags one epoch.** At the end of epoch e the learning rate is set to
  ``get_lr(e)`` for the *next* epoch, so epoch 0 trains with the optimizer's initial lr and
  epoch e + 1 with ``get_lr(e)`` (spec §8.14).

One change of *order* makes a training step one compiled graph: the book reads
``loss.data`` right after the forward pass, which would run the forward on its own and then
again inside the step. Here the loss is read after ``optimizer.step()``: the step realizes
forward, backward, clipping and the update together, and the loss (a tensor the loop still
holds in that graph) is computed in the same run. The value is the same — the loss of the
parameters *before* the update, as in the book.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.compile import compile as compile_fn
from tinytorch.frontend.tensor import Tensor
from tinytorch.nn.module import Layer, state_mismatches
from tinytorch.optim.clipping import clip_grad_norm_lazy
from tinytorch.train.checkpoint import load_state, save_state

__all__ = ["Trainer"]

# Whether a Trainer compiles its steps when not told (milestone scripts' --no-compile clears it).
COMPILE_STEPS = True


# ------------------------------------------------------------------- Trainer
class Trainer:
    """The training loop as an object: ``train_epoch``, ``evaluate``, checkpoints.

    Collaborators need only what the book's loop uses: ``model.forward(x)``,
    ``model.parameters()``, a writable ``model.training`` (a :class:`Layer` gets ``train()``/
    ``eval()`` so Dropout inside containers sees the mode); ``loss_fn.forward(out, target)``
    (or any callable); ``optimizer.step()``, ``zero_grad()`` and a writable ``lr``;
    ``scheduler.get_lr(epoch)``. A dataloader is any iterable of ``(inputs, targets)``.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        loss_fn: Any,
        scheduler: Any = None,
        grad_clip_norm: float | None = None,
        compile: bool | None = None,  # noqa: A002  (the switch's natural name)
    ) -> None:
        if grad_clip_norm is not None and not grad_clip_norm > 0:
            raise ValueError(f"grad_clip_norm must be positive or None, got {grad_clip_norm}")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.grad_clip_norm = grad_clip_norm
        # One training step (forward, backward, clip, update, zero_grad), traced once and
        # replayed (tinytorch.compile). Used when every batch is an update
        # (accumulation_steps=1) and batches are Tensors or arrays; otherwise eager.
        if compile is None:
            compile = COMPILE_STEPS  # noqa: A001
        self.compiled_step = compile_fn(self._whole_step) if compile else None
        self.epoch = 0
        self.step = 0
        self.training_mode = True
        self.history: dict[str, list[float]] = {
            "train_loss": [],
            "eval_loss": [],
            "learning_rates": [],
        }

    # ------------------------------------------------------------- training
    def train_epoch(self, dataloader: Iterable[Any], accumulation_steps: int = 1) -> float:
        """One pass over ``dataloader``; returns the average loss per optimizer update.

        Every ``accumulation_steps`` batches: clip (if set), ``step()``, ``zero_grad()``,
        ``self.step += 1``. Leftover batches at the end get one more update, which (as in
        the book) does not count in ``self.step``. The book detects leftovers by
        ``accumulated_loss > 0``; we test "batches since the last update", the same for
        any positive loss and right for a loss that is exactly zero.
        """
        if not isinstance(accumulation_steps, numbers.Integral) or accumulation_steps < 1:
            raise ValueError(
                f"accumulation_steps must be an integer >= 1, got {accumulation_steps}"
            )
        self._set_mode(True)
        total_loss, num_batches = 0.0, 0
        window: list[Tensor] = []  # the losses since the last update, read after the step
        for batch_idx, (inputs, targets) in enumerate(dataloader):
            if accumulation_steps == 1 and self._can_compile(inputs, targets):
                total_loss += float(self.compiled_step(inputs, targets).item())
                num_batches, self.step = num_batches + 1, self.step + 1
                continue
            loss = self._loss(inputs, targets)
            loss.backward()
            window.append(loss)
            if (batch_idx + 1) % accumulation_steps == 0:
                total_loss += self._update(window, accumulation_steps)
                window, num_batches, self.step = [], num_batches + 1, self.step + 1
        if window:
            total_loss += self._update(window, accumulation_steps)
            num_batches += 1
        avg_loss = total_loss / max(num_batches, 1)
        self.history["train_loss"].append(avg_loss)
        if self.scheduler is not None:
            lr = self.scheduler.get_lr(self.epoch)
            self.optimizer.lr = lr
            self.history["learning_rates"].append(lr)
        self.epoch += 1
        return avg_loss

    def _can_compile(self, inputs: Any, targets: Any) -> bool:
        array_like = (Tensor, np.ndarray)
        return (
            self.compiled_step is not None
            and isinstance(inputs, array_like)
            and isinstance(targets, array_like)
        )

    def _whole_step(self, inputs: Tensor, targets: Tensor) -> Tensor:
        """What ``compiled_step`` records: the same calls as the eager loop's one update."""
        loss = self._loss(inputs, targets)
        loss.backward()
        if self.grad_clip_norm is not None:
            clip_grad_norm_lazy(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss

    def _update(self, losses: list[Tensor], accumulation_steps: int) -> float:
        """Clip, step, zero_grad — realized as one graph — then read the window's losses."""
        if self.grad_clip_norm is not None:
            clip_grad_norm_lazy(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        return sum(float(loss.item()) for loss in losses) / accumulation_steps

    def evaluate(self, dataloader: Iterable[Any]) -> tuple[float, float]:
        """``(average loss, accuracy)`` over ``dataloader`` in eval mode, without gradients.

        Accuracy is a fraction in [0, 1], computed when outputs are 2-D: the argmax of each
        row against integer targets, or against the argmax of one-hot targets. With a single
        output column (a sigmoid probability, as BinaryCrossEntropyLoss expects) the
        prediction is ``output > 0.5`` — the book's argmax would always say class 0 there.
        The average is per batch (the book divides by ``len(dataloader)``, the same count).
        """
        self._set_mode(False)
        total_loss, correct, total, num_batches = 0.0, 0, 0, 0
        with no_grad():
            for inputs, batch_targets in dataloader:
                targets = _tensor(batch_targets)
                outputs = self._forward(inputs)
                total_loss += float(self._criterion(outputs, targets).item())
                num_batches += 1
                hits, count = _correct(outputs.data, targets.data)
                correct, total = correct + hits, total + count
        avg_loss = total_loss / num_batches if num_batches else 0.0
        accuracy = correct / total if total else 0.0
        self.history["eval_loss"].append(avg_loss)
        return avg_loss, accuracy

    # -------------------------------------------------------------- helpers
    def _set_mode(self, training: bool) -> None:
        self.training_mode = training
        if isinstance(self.model, Layer):
            self.model.train(training)
        else:
            self.model.training = training

    def _forward(self, inputs: Any) -> Tensor:
        forward = getattr(self.model, "forward", self.model)
        return forward(_tensor(inputs))

    def _criterion(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return getattr(self.loss_fn, "forward", self.loss_fn)(outputs, targets)

    def _loss(self, inputs: Any, targets: Any) -> Tensor:
        return self._criterion(self._forward(inputs), _tensor(targets))

    # ---------------------------------------------------------- checkpoints
    def save_checkpoint(self, path: str) -> None:
        """Write the book's checkpoint dict (epoch, step, model/optimizer/scheduler state,
        history, training_mode) as arrays + JSON, atomically; see
        :mod:`tinytorch.train.checkpoint`. Any file name works, ``.pkl`` included."""
        save_state(
            path,
            {
                "epoch": self.epoch,
                "step": self.step,
                "model_state": self._get_model_state(),
                "optimizer_state": self._get_optimizer_state(),
                "scheduler_state": self._get_scheduler_state(),
                "history": self.history,
                "training_mode": self.training_mode,
            },
        )

    def load_checkpoint(self, path: str) -> None:
        """Restore everything :meth:`save_checkpoint` wrote; the next ``train_epoch``
        continues at the right epoch, lr and parameters. The whole file is checked against
        this trainer's model, optimizer and scheduler before anything is changed: a
        mismatch is a ``ValueError`` listing every difference."""
        state = load_state(path)
        problems = self._state_problems(state)
        if problems:
            raise ValueError(
                f"checkpoint {path} does not fit this trainer:\n  " + "\n  ".join(problems)
            )
        self._set_model_state(state["model_state"])
        if state.get("optimizer_state") is not None:
            self._set_optimizer_state(state["optimizer_state"])
        if state.get("scheduler_state") is not None and self.scheduler is not None:
            self._set_scheduler_state(state["scheduler_state"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self._set_mode(bool(state["training_mode"]))

    def _state_problems(self, state: dict[str, Any]) -> list[str]:
        current = {k: v.shape for k, v in self._named_parameters()}
        saved = {k: v.shape for k, v in state["model_state"].items()}
        problems = [f"model {p}" for p in state_mismatches(current, saved)]
        opt = state.get("optimizer_state")
        if opt is not None and hasattr(self.optimizer, "state_problems"):
            problems += [f"optimizer: {p}" for p in self.optimizer.state_problems(opt)]
        sched = state.get("scheduler_state")
        if sched is not None and self.scheduler is not None:
            mine = type(self.scheduler).__name__
            if sched.get("type") != mine:
                problems.append(f"scheduler: saved from {sched.get('type')}, this is {mine}")
        return problems

    def _named_parameters(self) -> list[tuple[str, Tensor]]:
        if hasattr(self.model, "named_parameters"):
            return list(self.model.named_parameters())
        return [(f"param{i}", p) for i, p in enumerate(self.model.parameters())]

    def _get_model_state(self) -> dict[str, np.ndarray]:
        return {k: np.array(p.data, copy=True) for k, p in self._named_parameters()}

    def _set_model_state(self, state: dict[str, np.ndarray]) -> None:
        for name, p in self._named_parameters():
            p.data = np.array(state[name], dtype=p.dtype, copy=True)

    def _get_optimizer_state(self) -> dict[str, Any] | None:
        if hasattr(self.optimizer, "state_dict"):
            return self.optimizer.state_dict()
        return None

    def _set_optimizer_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    def _get_scheduler_state(self) -> dict[str, Any] | None:
        if self.scheduler is not None and hasattr(self.scheduler, "state_dict"):
            return self.scheduler.state_dict()
        return None

    def _set_scheduler_state(self, state: dict[str, Any]) -> None:
        if hasattr(self.scheduler, "load_state_dict"):
            self.scheduler.load_state_dict(state)

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self.model).__name__}, optimizer={self.optimizer!r}, "
            f"loss_fn={self.loss_fn!r}, epoch={self.epoch}, step={self.step})"
        )


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _correct(outputs: np.ndarray, targets: np.ndarray) -> tuple[int, int]:
    """(correct predictions, predictions made) for one batch; (0, 0) for 1-D outputs."""
    if outputs.ndim < 2:
        return 0, 0
    if outputs.shape[1] == 1:
        pred = outputs[:, 0] > 0.5
        truth = targets.reshape(len(pred), -1)[:, 0] > 0.5
    else:
        pred = outputs.argmax(axis=1)
        truth = targets if targets.ndim == 1 else targets.argmax(axis=1)
    return int(np.sum(pred == truth)), len(pred)
