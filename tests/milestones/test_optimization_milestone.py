"""Milestone 06 part 1 (optimization olympics), run as a learner runs it, in a clean process."""

import json
import re

import pytest

from tinytorch.olympics import validate_submission_schema

SCRIPT = "06_2018_mlperf/01_optimization_olympics.py"


def test_smoke_run_passes_the_compression_gate(run_milestone, tmp_path):
    """Smoke mode trains both models, prints the table and passes both gates: the pruned
    int8 MLP >= 4x smaller and the int8 CNN >= 3.5x, each losing < 2 points; --submission
    also writes a valid Torch Olympics submission for the two MLPs."""
    result = run_milestone(SCRIPT, "--smoke", "--submission", str(tmp_path / "s.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    gate = re.search(
        r"GATE PASSED: MLP 50% structured \+ compaction \+ INT8: ([\d.]+)x smaller "
        r"\(9,640 B -> ([\d,]+) B of weights.*?accuracy ([\d.]+)% -> ([\d.]+)%.*?; "
        r"CNN INT8 quantization: ([\d.]+)x smaller \(24,360 B -> 6,506 B of weights.*?"
        r"accuracy ([\d.]+)% -> ([\d.]+)%",
        out,
    )
    assert gate, out
    ratio, before, after = float(gate[1]), float(gate[3]), float(gate[4])
    assert ratio >= 4.0 and before - after < 2.0
    cnn_ratio, cnn_before, cnn_after = float(gate[5]), float(gate[6]), float(gate[7])
    assert cnn_ratio >= 3.5 and cnn_before - cnn_after < 2.0
    # The sizes are exact bytes held: 2,410 float32 values; int8 adds 8 B per tensor.
    assert "compare_model_sizes(MLP): 9,640 B -> 2,410 B = 4.00x" in out
    assert re.search(r"MLP\s+INT8 quantization\s+2,458 B\s+3\.92x", out)
    assert re.search(r"CNN\s+baseline FP32\s+24,360 B\s+1\.00x", out)
    # The CNN: 6,090 int8 values, 8 B per output channel of its two convolutions (16 + 32)
    # and 8 B per tensor for the two conv biases and the Linear's weight and bias:
    # 6,090 + 48 * 8 + 4 * 8 = 6,506 B.
    assert "compare_model_sizes(CNN): 24,360 B -> 6,090 B = 4.00x" in out
    assert re.search(r"CNN\s+INT8 quantization\s+6,506 B\s+3\.74x", out)
    assert "MLP 64 -> 12 -> 12 -> 10" in out  # compaction really removed the units
    assert "2,410 parameters" in out and "6,090 parameters" in out
    assert "168,448 FLOPs per image" in out  # the Profiler's count for the CNN
    submission = json.loads((tmp_path / "s.json").read_text())
    assert validate_submission_schema(submission)
    # The Olympics count values only (no scales): 9,640 B -> 1,066 B.
    assert submission["improvements"]["compression_ratio"] == pytest.approx(9640 / 1066)
    assert submission["optimized"]["metrics"]["parameter_count"] == 1066


def test_pruning_without_fine_tuning_fails_the_gate(run_milestone):
    """Removing 3 of every 4 hidden units with no fine-tuning costs far more than 2 points:
    the gate fails, says why, and the exit code is 1."""
    result = run_milestone(
        SCRIPT, "--smoke", "--prune", "0.75", "--finetune-epochs", "0", "--epochs", "4"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "GATE FAILED: MLP 75% structured + compaction + INT8" in result.stdout
    assert "MLP 64 -> 6 -> 6 -> 10" in result.stdout
