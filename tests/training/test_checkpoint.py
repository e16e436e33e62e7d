"""Checkpoints (spec §7.3): arrays + JSON, never pickle; atomic writes; a resumed run is
identical to an uninterrupted one; missing, corrupt and mismatched files fail clearly."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest

from tinytorch import SGD, Adam, CosineSchedule, Linear, MSELoss, ReLU, Sequential, Tensor, Trainer
from tinytorch.train import checkpoint


def batches(seed: int = 0) -> list[tuple[Tensor, Tensor]]:
    rng = np.random.default_rng(seed)
    return [
        (
            Tensor(rng.standard_normal((6, 3)).astype(np.float32)),
            Tensor(rng.standard_normal((6, 2)).astype(np.float32)),
        )
        for _ in range(3)
    ]


def make_trainer(seed: int = 0, optimizer=Adam, hidden: int = 5) -> Trainer:
    np.random.seed(seed)
    model = Sequential(Linear(3, hidden), ReLU(), Linear(hidden, 2))
    opt = (
        optimizer(model.parameters(), lr=0.05, momentum=0.9)
        if optimizer is SGD
        else optimizer(model.parameters(), lr=0.05)
    )
    return Trainer(model, opt, MSELoss(), CosineSchedule(0.05, 0.005, 10), grad_clip_norm=1.0)


def parameters_of(trainer: Trainer) -> list[np.ndarray]:
    return [p.data.copy() for p in trainer.model.parameters()]


@pytest.fixture
def saved(tmp_path):
    """A trainer after two epochs, saved under the book's kind of name."""
    trainer = make_trainer()
    for _ in range(2):
        trainer.train_epoch(batches())
        trainer.evaluate(batches(1))
    path = tmp_path / "checkpoint_2.pkl"
    trainer.save_checkpoint(str(path))
    return trainer, path


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_resuming_from_a_checkpoint_equals_training_on(tmp_path, optimizer):
    """Train, save, load into a fresh model and optimizer: the next epoch gives exactly the
    parameters that continuing without the save gives."""
    trainer = make_trainer(optimizer=optimizer)
    for _ in range(2):
        trainer.train_epoch(batches())
    path = tmp_path / "ckpt.pkl"
    trainer.save_checkpoint(path)
    trainer.train_epoch(batches())

    resumed = make_trainer(seed=123, optimizer=optimizer)  # different initial weights
    resumed.load_checkpoint(path)
    resumed.train_epoch(batches())

    for a, b in zip(parameters_of(trainer), parameters_of(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.history == trainer.history
    assert (resumed.epoch, resumed.step) == (trainer.epoch, trainer.step)
    assert resumed.optimizer.lr == trainer.optimizer.lr


@pytest.mark.backend_independent
def test_load_restores_counters_history_lr_and_optimizer_state(saved):
    trainer, path = saved
    fresh = make_trainer(seed=9)
    fresh.load_checkpoint(path)
    assert (fresh.epoch, fresh.step, fresh.training_mode) == (2, 6, False)
    assert fresh.history == trainer.history
    assert fresh.optimizer.lr == trainer.optimizer.lr
    assert fresh.optimizer.step_count == trainer.optimizer.step_count == 6
    for a, b in zip(trainer.optimizer.v_buffers, fresh.optimizer.v_buffers, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


# ----------------------------------------------------------------- the format
@pytest.mark.backend_independent
def test_the_file_is_an_npz_of_arrays_with_json_metadata_not_a_pickle(saved):
    """The book's '.pkl' name holds our format: a zip of .npy arrays plus JSON."""
    _, path = saved
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(archive["__meta__"].tobytes().decode())
        assert archive["model/layers.0.weight"].shape == (3, 5)
    assert meta["format"] == "tinytorch-checkpoint" and meta["epoch"] == 2
    assert meta["optimizer_state"]["type"] == "Adam"
    assert meta["scheduler_state"]["total_epochs"] == 10
    assert [e["name"] for e in meta["model_state"]][:2] == ["layers.0.weight", "layers.0.bias"]


@pytest.mark.backend_independent
def test_save_creates_parent_directories_and_leaves_no_temporary_files(tmp_path):
    trainer = make_trainer()
    path = tmp_path / "runs" / "exp1" / "ckpt_0.pkl"
    trainer.save_checkpoint(str(path))
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == ["ckpt_0.pkl"]


@pytest.mark.backend_independent
def test_a_failed_write_leaves_the_old_checkpoint_untouched(saved, monkeypatch):
    """A crash mid-write (simulated in np.savez) keeps the previous file, byte for byte."""
    trainer, path = saved
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# ------------------------------------------------------------------ bad files
@pytest.mark.backend_independent
def test_missing_checkpoint_is_file_not_found_naming_the_path(tmp_path):
    path = tmp_path / "nope.pkl"
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        make_trainer().load_checkpoint(path)


@pytest.mark.backend_independent
def test_truncated_checkpoint_is_a_value_error(saved):
    _, path = saved
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a valid tinytorch checkpoint"):
        make_trainer().load_checkpoint(path)


@pytest.mark.backend_independent
def test_corrupted_bytes_are_a_value_error(saved):
    """Flipped bytes inside an array member fail the zip's CRC check."""
    _, path = saved
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=str(path.name)):
        make_trainer().load_checkpoint(path)


@pytest.mark.backend_independent
def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    """The book's own pickle format is never loaded: unpickling can run code."""
    path = tmp_path / "book.pkl"
    path.write_bytes(pickle.dumps({"epoch": 3}))
    with pytest.raises(ValueError, match="pickle"):
        make_trainer().load_checkpoint(path)


@pytest.mark.backend_independent
def test_an_npz_that_is_not_a_checkpoint_is_a_value_error(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.zeros(3))
    with pytest.raises(ValueError, match="no __meta__ entry"):
        make_trainer().load_checkpoint(path)


@pytest.mark.backend_independent
def test_a_model_that_does_not_match_lists_the_differences(saved):
    """A checkpoint of a 5-unit hidden layer does not load into an 8-unit model."""
    _, path = saved
    other = make_trainer(hidden=8)
    before = parameters_of(other)
    with pytest.raises(ValueError) as info:
        other.load_checkpoint(path)
    message = str(info.value)
    assert "shape of layers.0.weight: expected (3, 8), got (3, 5)" in message
    assert "optimizer" in message  # its buffers do not fit either
    for a, b in zip(before, parameters_of(other), strict=True):
        np.testing.assert_array_equal(a, b)  # nothing was half-loaded
    assert other.epoch == 0


@pytest.mark.backend_independent
def test_an_optimizer_of_another_kind_is_a_mismatch(saved):
    _, path = saved
    with pytest.raises(ValueError, match="saved from Adam, this is SGD"):
        make_trainer(optimizer=SGD).load_checkpoint(path)


@pytest.mark.backend_independent
def test_tampered_metadata_is_a_value_error(tmp_path):
    """Metadata with the wrong types (here epoch as a string) is refused before use."""
    trainer = make_trainer()
    path = tmp_path / "ckpt.pkl"
    checkpoint.save_state(
        path,
        {
            "epoch": "three",
            "step": 0,
            "model_state": trainer._get_model_state(),
            "optimizer_state": None,
            "scheduler_state": None,
            "history": {},
            "training_mode": True,
        },
    )
    with pytest.raises(ValueError, match="epoch must be int"):
        trainer.load_checkpoint(path)
