"""Milestone 05 parts 1-2 (a character GPT answering questions, and following a dialogue),
run as a learner runs them: without TinyTalks they say SKIPPED; with a TinyTalks-format file
in ``--data-dir`` they train on it; ``--smoke`` trains on the generated corpus."""

import pytest

from tinytorch.data.datasets.qa_text import format_qa_pairs
from tinytorch.data.datasets.synthetic_qa import synthetic_qa_pairs

GENERATION = "05_2017_transformer/01_vaswani_generation.py"
DIALOGUE = "05_2017_transformer/02_vaswani_dialogue.py"


@pytest.mark.parametrize("script", [GENERATION, DIALOGUE])
def test_without_tinytalks_the_full_run_is_skipped(script, tmp_path, run_milestone):
    result = run_milestone(script, "--data-dir", str(tmp_path), "--no-download")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "SKIPPED: TinyTalks is not available" in result.stdout
    assert "GATE" not in result.stdout


@pytest.mark.parametrize("script", [GENERATION, DIALOGUE])
def test_a_tinytalks_file_in_data_dir_is_trained_on(script, tmp_path, run_milestone):
    """A few steps on a local Q&A file: the credit is printed, the gate is judged (three
    steps cannot bring the loss under 1.5, so it fails, with exit code 1)."""
    (tmp_path / "tinytalks_v1.txt").write_text(format_qa_pairs(synthetic_qa_pairs(60)))
    result = run_milestone(script, "--data-dir", str(tmp_path), "--steps", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CC BY 4.0" in result.stdout
    assert "GATE FAILED: training loss" in result.stdout


def test_generation_smoke_run_halves_the_loss(run_milestone):
    result = run_milestone(GENERATION, "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GATE PASSED: training loss" in result.stdout
    assert "(reference:" in result.stdout  # sample answers to held-out questions


@pytest.mark.parametrize(("script", "epochs"), [(GENERATION, "2"), (DIALOGUE, "1")])
def test_the_books_epochs_flag_sets_the_length_of_training(script, epochs, run_milestone):
    """The book runs these scripts with ``--epochs 5``: an epoch is a fifth of the default
    run (smoke: 50 steps), so ``--epochs 5`` is the default and ``--epochs 1`` a fifth."""
    result = run_milestone(script, "--smoke", "--epochs", epochs)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert f"{int(epochs) * 50} steps" in result.stdout and "GATE" in result.stdout


def test_epochs_must_be_positive(run_milestone):
    result = run_milestone(GENERATION, "--smoke", "--epochs", "0")
    assert result.returncode == 2 and "--epochs must be at least 1" in result.stderr
