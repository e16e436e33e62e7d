"""Milestone 04 (CNN) scripts, run as a learner runs them, in a clean process."""

import pickle

import numpy as np

TINYDIGITS = "04_1998_cnn/01_lecun_tinydigits.py"
CIFAR = "04_1998_cnn/02_lecun_cifar10.py"


def test_tinydigits_cnn_passes_its_gate_in_smoke_mode(run_milestone):
    result = run_milestone(TINYDIGITS, "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GATE PASSED: TinyDigits test accuracy" in result.stdout
    assert "6,090 parameters" in result.stdout


def test_cifar10_without_files_is_skipped_with_the_reason(tmp_path, run_milestone):
    result = run_milestone(CIFAR, "--smoke", "--data-dir", str(tmp_path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "SKIPPED: CIFAR-10 is not available" in result.stdout and "GATE" not in result.stdout


def test_cifar10_script_trains_end_to_end_on_tiny_batch_files(tmp_path, run_milestone):
    """Random images in the real batch format: the whole pipeline (restricted unpickling,
    augmentation, BatchNorm CNN, evaluation) runs and reports its gate (random labels fail
    it, exit 1)."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"labels": [int(v) for v in rng.integers(0, 10, 8)],
            b"data": rng.integers(0, 256, (8, 3072), dtype=np.uint8),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    result = run_milestone(CIFAR, "--smoke", "--epochs", "1", "--data-dir", str(tmp_path))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "CIFAR-10: 40 training and 8 test images" in result.stdout
    assert "GATE" in result.stdout and "parameters" in result.stdout


def test_cifar10_is_looked_for_where_the_book_says(run_milestone):
    """Without --data-dir, the script looks in the book's milestones/datasets/cifar-10/ and
    says so (smoke runs never download)."""
    result = run_milestone(CIFAR, "--smoke")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "milestones/datasets/cifar-10" in result.stdout
