"""Milestone 05 part 0 (attention proof: sequence reversal), run as a learner runs it."""

SCRIPT = "05_2017_transformer/00_vaswani_attention_proof.py"


def test_reversal_passes_its_gate_in_smoke_mode(run_milestone):
    result = run_milestone(SCRIPT, "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GATE PASSED: held-out reversal token accuracy" in result.stdout
    assert "26,378 parameters" in result.stdout


def test_an_untrained_model_fails_the_gate_with_exit_code_1(run_milestone):
    """Two steps of training cannot reverse anything: the gate fails and says so."""
    result = run_milestone(SCRIPT, "--steps", "2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "GATE FAILED: held-out reversal token accuracy" in result.stdout
