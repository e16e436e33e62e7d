"""Knowledge distillation (book Module 16): a small student learns from a big teacher.

A trained teacher's outputs carry more than its top answer: for a "7", it may give a little
probability to "1" and almost none to "0", which says how the classes relate. Dividing the
logits by a temperature ``T`` (3-5 typically) before the softmax spreads that probability
out so the student can see it. The student's loss mixes two targets:

    soft = KL(teacher_T || student_T)   # match the teacher's softened distribution
    hard = cross_entropy(student, labels)
    loss = alpha * soft + (1 - alpha) * hard     # alpha = 0.7: 70% teacher, 30% labels

**KL direction.** The book calls ``_kl_divergence(student_soft, teacher_soft)`` without
showing its body. We use ``KL(p_teacher || p_student) = sum p_t * (log p_t - log p_s)``,
Hinton et al.'s choice and PyTorch's ``kl_div(log_softmax(s / T), softmax(t / T))``: the
teacher is the target distribution, so the student is pushed to cover every class the
teacher finds plausible, and the gradient with respect to the student's logits is simply
``(p_s - p_t) / T`` per sample. Averaged over the batch; no ``T**2`` factor (the book has
none). The loss is a lazy scalar Tensor: ``loss.backward()`` fills the student's gradients,
the teacher gets none (its logits are taken as constants).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.ir.errors import ShapeError
from tinytorch.nn.losses import CrossEntropyLoss, log_softmax

PROBABILITY_FLOOR = 1e-12  # log() of the NumPy helpers never sees exactly 0


def _values(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


class KnowledgeDistillation:
    """``KnowledgeDistillation(teacher, student, temperature=3.0, alpha=0.7)``.

    ``distillation_loss(student_logits, teacher_logits, true_labels)`` is the training
    signal. The book's signature says ``-> float`` (its NumPy version cannot be trained
    through); ours is a 0-d Tensor so that ``loss.backward()`` trains the student, and it
    reads like the book's float: ``float(loss)``, ``f"{loss:.4f}"``, ``loss < 1.0``;
    ``compute_loss(inputs, true_labels)`` runs both models first (the teacher without
    gradient tracking).
    """

    def __init__(
        self, teacher_model: Any, student_model: Any, temperature: float = 3.0, alpha: float = 0.7
    ) -> None:
        if not isinstance(temperature, numbers.Real) or not temperature > 0:
            raise ValueError(f"KnowledgeDistillation: temperature must be > 0, got {temperature}")
        if not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"KnowledgeDistillation: alpha must be in [0, 1], got {alpha}")
        self.teacher_model = teacher_model
        self.student_model = student_model
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    # ---------------------------------------------------------------- the loss
    def distillation_loss(
        self, student_logits: Any, teacher_logits: Any, true_labels: Any
    ) -> Tensor:
        """``alpha * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels)``."""
        student = student_logits if isinstance(student_logits, Tensor) else Tensor(student_logits)
        teacher = _values(teacher_logits).astype(np.float32)
        if student.ndim != 2 or tuple(student.shape) != teacher.shape:
            raise ShapeError(
                f"KnowledgeDistillation.distillation_loss: student logits {student.shape} and "
                f"teacher logits {teacher.shape} must be the same 2-D (batch, classes) shape"
            )
        labels = true_labels if isinstance(true_labels, Tensor) else Tensor(np.asarray(true_labels))
        T = self.temperature
        teacher_soft = self._softmax(teacher / T)
        log_teacher = np.log(np.maximum(teacher_soft, PROBABILITY_FLOOR))
        log_student = log_softmax(student * (1.0 / T), dim=-1)
        per_class = Tensor(teacher_soft.astype(np.float32)) * (
            Tensor(log_teacher.astype(np.float32)) - log_student
        )
        soft_loss = per_class.sum() * (1.0 / student.shape[0])
        hard_loss = CrossEntropyLoss()(student, labels)
        return soft_loss * self.alpha + hard_loss * (1.0 - self.alpha)

    def compute_loss(self, inputs: Any, true_labels: Any) -> Tensor:
        """Run the teacher (no gradients) and the student on ``inputs``; return the loss."""
        with no_grad():
            teacher_logits = _values(self.teacher_model(inputs))
        return self.distillation_loss(self.student_model(inputs), teacher_logits, true_labels)

    # ---------------------------------------------- the book's NumPy helpers
    @staticmethod
    def _softmax(logits: Any) -> np.ndarray:
        """Row-wise softmax with the max subtracted first (no overflow)."""
        x = _values(logits).astype(np.float64)
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    @staticmethod
    def _kl_divergence(p_student: Any, p_teacher: Any) -> float:
        """``mean over rows of sum p_teacher * log(p_teacher / p_student)`` (see above)."""
        ps = np.maximum(_values(p_student).astype(np.float64), PROBABILITY_FLOOR)
        pt = np.maximum(_values(p_teacher).astype(np.float64), PROBABILITY_FLOOR)
        return float(np.mean(np.sum(pt * (np.log(pt) - np.log(ps)), axis=-1)))

    @staticmethod
    def _cross_entropy(probs: Any, labels: Any) -> float:
        """``-mean(log probs[i, labels[i]])``."""
        p = _values(probs).astype(np.float64)
        y = _values(labels).astype(np.int64).reshape(-1)
        picked = np.maximum(p[np.arange(len(y)), y], PROBABILITY_FLOOR)
        return float(-np.mean(np.log(picked)))

    def __repr__(self) -> str:
        return f"KnowledgeDistillation(temperature={self.temperature}, alpha={self.alpha})"
