"""Training (book Module 07, spec §7): CosineSchedule, clip_grad_norm and the Trainer's loop,
including the book's accumulation and scheduler-lag semantics, and a real XOR run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinytorch
from tinytorch import (
    SGD,
    BinaryCrossEntropyLoss,
    CosineSchedule,
    CrossEntropyLoss,
    Dropout,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    Tensor,
    Trainer,
    clip_grad_norm,
)


def regression_batches(n_batches: int = 4, seed: int = 0) -> list[tuple[Tensor, Tensor]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        x = rng.standard_normal((8, 3)).astype(np.float32)
        out.append((Tensor(x), Tensor(x @ np.array([[1.0], [-2.0], [0.5]], np.float32))))
    return out


def linear_model(seed: int = 0) -> Linear:
    np.random.seed(seed)
    return Linear(3, 1)


@pytest.mark.backend_independent
def test_the_books_import_paths():
    """§0: the top level re-exports the training names; core.* paths give the same classes."""
    from tinytorch import SGD as TopSGD
    from tinytorch import CosineSchedule as TopCosine
    from tinytorch import MSELoss as TopMSE
    from tinytorch import Trainer as TopTrainer
    from tinytorch.core.layers import Dropout as CoreDropout
    from tinytorch.core.losses import CrossEntropyLoss as CoreCE
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.training import Trainer as CoreTrainer

    assert TopTrainer is CoreTrainer is Trainer and TopCosine is CosineSchedule
    assert TopSGD is SGD and TopMSE is MSELoss and CoreDropout is Dropout
    assert CoreCE is CrossEntropyLoss and Adam is tinytorch.Adam


# ------------------------------------------------------------ CosineSchedule
@pytest.mark.parametrize("epoch", [0, 1, 25, 50, 75, 99])
@pytest.mark.backend_independent
def test_cosine_schedule_follows_the_formula(epoch):
    """lr = min + (max - min)(1 + cos(π e / T)) / 2 (tested by formula, spec §7.1)."""
    schedule = CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=100)
    expected = 0.01 + 0.09 * (1 + math.cos(math.pi * epoch / 100)) / 2
    assert schedule.get_lr(epoch) == pytest.approx(expected, rel=1e-12)


@pytest.mark.backend_independent
def test_cosine_schedule_landmarks():
    """Start at max_lr, halfway at the mean, min_lr at and after total_epochs."""
    schedule = CosineSchedule()
    assert schedule.get_lr(0) == pytest.approx(0.1)
    assert schedule.get_lr(50) == pytest.approx(0.055)
    assert schedule.get_lr(100) == schedule.get_lr(500) == 0.01


@pytest.mark.backend_independent
def test_cosine_schedule_rejects_zero_epochs():
    with pytest.raises(ValueError):
        CosineSchedule(total_epochs=0)


# ------------------------------------------------------------ clip_grad_norm
def test_clip_grad_norm_book_example():
    """§7.2: grads [100, 200, 50] have norm 229.129, clipped to [0.4364, 0.8729, 0.2182]."""
    p = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    p.grad = np.array([100.0, 200.0, 50.0])
    norm = clip_grad_norm([p], max_norm=1.0)
    assert isinstance(norm, float) and norm == pytest.approx(229.129, abs=1e-3)
    np.testing.assert_allclose(p.grad.data, [0.4364, 0.8729, 0.2182], atol=1e-4)
    assert np.linalg.norm(p.grad.data) == pytest.approx(1.0, rel=1e-6)


def test_clip_grad_norm_is_global_across_parameters():
    """Q5 numbers split over two tensors: [50, 100] and [5] -> norm 111.915, one scale."""
    a, b = Tensor([0.0, 0.0], requires_grad=True), Tensor([0.0], requires_grad=True)
    a.grad, b.grad = np.array([50.0, 100.0]), np.array([5.0])
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(111.915, abs=1e-3)
    np.testing.assert_allclose(a.grad.data, [0.4468, 0.8935], atol=1e-4)
    np.testing.assert_allclose(b.grad.data, [0.0447], atol=1e-4)


def test_clip_grad_norm_leaves_small_gradients_alone():
    """A norm at or below max_norm is returned and nothing changes."""
    p = Tensor([0.0, 0.0], requires_grad=True)
    p.grad = np.array([0.3, 0.4])
    assert clip_grad_norm([p], max_norm=0.5) == pytest.approx(0.5)
    np.testing.assert_allclose(p.grad.data, [0.3, 0.4])


@pytest.mark.backend_independent
def test_clip_grad_norm_without_gradients_is_zero():
    assert clip_grad_norm([Tensor([1.0], requires_grad=True)]) == 0.0


@pytest.mark.backend_independent
def test_clip_grad_norm_rejects_a_non_positive_max_norm():
    p = Tensor([1.0], requires_grad=True)
    p.grad = np.array([1.0])
    with pytest.raises(ValueError):
        clip_grad_norm([p], max_norm=0.0)


# ------------------------------------------------------------------- Trainer
@pytest.mark.backend_independent
def test_trainer_starts_with_the_books_attributes():
    model = linear_model()
    trainer = Trainer(model, SGD(model.parameters()), MSELoss())
    assert (trainer.epoch, trainer.step, trainer.training_mode) == (0, 0, True)
    assert trainer.history == {"train_loss": [], "eval_loss": [], "learning_rates": []}
    assert trainer.scheduler is None and trainer.grad_clip_norm is None


def test_train_epoch_matches_a_hand_written_loop():
    """train_epoch = forward, loss, backward, step, zero_grad per batch; avg of losses."""
    data = regression_batches()
    model_a, model_b = linear_model(), linear_model()
    trainer = Trainer(model_a, SGD(model_a.parameters(), lr=0.05), MSELoss())
    avg = trainer.train_epoch(data)
    opt, losses = SGD(model_b.parameters(), lr=0.05), []
    for x, y in data:
        loss = MSELoss()(model_b(x), y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert avg == pytest.approx(np.mean(losses), rel=1e-6)
    np.testing.assert_allclose(model_a.weight.data, model_b.weight.data, rtol=1e-6)
    assert trainer.history["train_loss"] == [avg] and (trainer.epoch, trainer.step) == (1, 4)


def test_gradient_accumulation_sums_gradients_and_averages_the_loss():
    """accumulation_steps=2 over 4 batches: 2 updates, each with the SUM of 2 batches'
    gradients (the book's unscaled backward, spec §8.13); loss = mean of the batches."""
    data = regression_batches()
    model_a, model_b = linear_model(), linear_model()
    trainer = Trainer(model_a, SGD(model_a.parameters(), lr=0.02), MSELoss())
    avg = trainer.train_epoch(data, accumulation_steps=2)
    opt, losses = SGD(model_b.parameters(), lr=0.02), []
    for i, (x, y) in enumerate(data):
        loss = MSELoss()(model_b(x), y)
        losses.append(loss.item())
        loss.backward()
        if i % 2 == 1:
            opt.step()
            opt.zero_grad()
    np.testing.assert_allclose(model_a.weight.data, model_b.weight.data, rtol=1e-6)
    assert avg == pytest.approx(np.mean(losses), rel=1e-6)
    assert trainer.step == 2


def test_leftover_batches_get_an_update_that_does_not_count_as_a_step():
    """5 batches with accumulation 2: updates after batches 2, 4 and 5; step stays 2."""
    model = linear_model()
    opt = SGD(model.parameters(), lr=0.01)
    trainer = Trainer(model, opt, MSELoss())
    trainer.train_epoch(regression_batches(5), accumulation_steps=2)
    assert trainer.step == 2 and opt.step_count == 3


def test_the_scheduler_sets_next_epochs_lr_from_the_finished_epoch():
    """Epoch 0 uses the optimizer's lr; after epoch e, lr = get_lr(e) (spec §8.14)."""
    model = linear_model()
    opt = SGD(model.parameters(), lr=0.5)
    schedule = CosineSchedule(max_lr=0.1, min_lr=0.01, total_epochs=3)
    trainer = Trainer(model, opt, MSELoss(), schedule)
    trainer.train_epoch(regression_batches(1))
    assert opt.lr == schedule.get_lr(0) == 0.1
    trainer.train_epoch(regression_batches(1))
    assert opt.lr == schedule.get_lr(1)
    assert trainer.history["learning_rates"] == [schedule.get_lr(0), schedule.get_lr(1)]


def test_grad_clip_norm_bounds_every_update():
    """With grad_clip_norm=1e-3 and lr=1, no weight moves by more than 1e-3 per step."""
    model = linear_model()
    before = model.weight.data.copy()
    trainer = Trainer(model, SGD(model.parameters(), lr=1.0), MSELoss(), grad_clip_norm=1e-3)
    trainer.train_epoch(regression_batches(1))
    moved = np.sqrt(np.sum((model.weight.data - before) ** 2) + np.sum(model.bias.data**2))
    assert moved == pytest.approx(1e-3, rel=1e-4)


def test_a_trainer_step_is_one_graph_and_reuses_its_plan():
    """Each update (forward, backward, clip, step, loss read) is one realization, and the
    second epoch — with a new lr from the scheduler — compiles nothing."""
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 1))
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.05, momentum=0.9),
        MSELoss(),
        CosineSchedule(0.05, 0.01, 10),
        grad_clip_norm=1.0,
        compile=False,
    )
    data = regression_batches(4)
    cache = tinytorch.runtime.plan_cache
    counts = []
    for _epoch in range(2):  # one line of code: plans are keyed by structure and user line
        counts.append((cache.hits + cache.misses, cache.misses))
        trainer.train_epoch(data)
    (runs, misses), now = counts[1], (cache.hits + cache.misses, cache.misses)
    assert now[0] - runs == len(data)
    assert now[1] == misses


def test_a_compiled_trainer_traces_once_and_matches_eager():
    """By default the Trainer replays one traced step: the second epoch (with a new lr from
    the scheduler) builds no graph, and the parameters equal the eager Trainer's."""

    def make(compile_steps):
        np.random.seed(0)
        model = Sequential(Linear(3, 4), ReLU(), Linear(4, 1))
        opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = CosineSchedule(0.05, 0.01, 10)
        return model, Trainer(
            model, opt, MSELoss(), sched, grad_clip_norm=1.0, compile=compile_steps
        )

    data = regression_batches(4)
    (m1, eager), (m2, compiled) = make(False), make(True)
    for _epoch in range(3):
        assert eager.train_epoch(data) == pytest.approx(compiled.train_epoch(data), rel=1e-5)
    assert compiled.compiled_step.trace_count == 1
    assert compiled.compiled_step.replay_count == 3 * len(data) - 1
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)


def test_evaluate_returns_loss_and_accuracy_without_training():
    """evaluate gives (mean loss, fraction correct) and changes no parameter or grad."""
    model = Linear(2, 3, bias=False)
    model.weight.data = np.eye(2, 3, dtype=np.float32)  # class = argmax of the input
    x = Tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    y = Tensor([0, 1, 1, 1])
    trainer = Trainer(model, SGD(model.parameters()), CrossEntropyLoss())
    loss, accuracy = trainer.evaluate([(x, y)])
    assert accuracy == 0.75
    assert loss == pytest.approx(CrossEntropyLoss()(model(x), y).item())
    assert model.weight.grad is None and trainer.history["eval_loss"] == [loss]
    assert trainer.training_mode is False and model.training is False


def test_evaluate_accepts_one_hot_targets():
    model = Linear(2, 2, bias=False)
    model.weight.data = np.eye(2, dtype=np.float32)
    trainer = Trainer(model, SGD(model.parameters()), MSELoss())
    x, onehot = Tensor([[2.0, 0.0], [0.0, 3.0]]), Tensor([[1.0, 0.0], [1.0, 0.0]])
    assert trainer.evaluate([(x, onehot)])[1] == 0.5


@pytest.mark.backend_independent
def test_evaluate_on_nothing_is_zero():
    model = linear_model()
    assert Trainer(model, SGD(model.parameters()), MSELoss()).evaluate([]) == (0.0, 0.0)


def test_trainer_switches_dropout_between_train_and_eval():
    """train_epoch puts Dropout in training mode, evaluate turns it off (deterministic)."""
    drop = Dropout(0.5)
    model = Sequential(Linear(3, 8), drop, Linear(8, 1))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.01), MSELoss())
    trainer.train_epoch(regression_batches(1))
    assert drop.training is True
    first = trainer.evaluate(regression_batches(2))
    assert drop.training is False and trainer.evaluate(regression_batches(2)) == first


@pytest.mark.backend_independent
def test_bad_accumulation_steps_is_a_value_error():
    model = linear_model()
    trainer = Trainer(model, SGD(model.parameters()), MSELoss())
    with pytest.raises(ValueError):
        trainer.train_epoch(regression_batches(1), accumulation_steps=0)


# ------------------------------------------------------------- a real task
def test_mlp_learns_xor_with_sgd():
    """A 2-16-1 MLP with SGD reaches 100% on XOR in a few hundred steps (seeded)."""
    np.random.seed(0)
    x = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = Tensor([[0.0], [1.0], [1.0], [0.0]])
    model = Sequential(Linear(2, 16), Tanh(), Linear(16, 1), Sigmoid())
    trainer = Trainer(
        model, SGD(model.parameters(), lr=0.5, momentum=0.9), BinaryCrossEntropyLoss()
    )
    for _ in range(200):
        trainer.train_epoch([(x, y)])
    loss, accuracy = trainer.evaluate([(x, y)])
    assert accuracy == 1.0 and loss < 0.05
    np.testing.assert_array_equal(model(x).data.round(), y.data)
