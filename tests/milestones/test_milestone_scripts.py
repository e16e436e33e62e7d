"""Every milestone script, run as a learner runs it (``python script --smoke``), in a clean
process: it must pass its gate (exit 0, a ``GATE PASSED`` line), or report SKIPPED (exit 3)
when its data files are absent."""

import numpy as np
import pytest

import tinytorch
from tinytorch.data.datasets import load_tinydigits, write_idx

OFFLINE_SCRIPTS = [
    "01_1957_perceptron/01_rosenblatt_forward.py",
    "01_1957_perceptron/02_rosenblatt_trained.py",
    "02_1969_xor/01_xor_crisis.py",
    "02_1969_xor/02_xor_solved.py",
    "03_1986_mlp/01_rumelhart_tinydigits.py",
]
MNIST = "03_1986_mlp/02_rumelhart_mnist.py"


@pytest.mark.parametrize("script", OFFLINE_SCRIPTS)
def test_smoke_run_passes_its_gate(script, run_milestone):
    """The script prints what it builds and passes the book's gate in smoke mode."""
    result = run_milestone(script, "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GATE PASSED" in result.stdout
    assert "parameters" in result.stdout.lower()


@pytest.mark.parametrize("backend", tinytorch.available_backends())
def test_trained_perceptron_on_every_backend(backend, run_milestone):
    """--backend selects the backend the whole training runs on."""
    result = run_milestone(
        "01_1957_perceptron/02_rosenblatt_trained.py", "--smoke", "--backend", backend
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"backend: {backend}" in result.stdout


def test_mnist_without_files_is_skipped_not_passed(tmp_path, run_milestone):
    """No MNIST files: SKIPPED with the reason and exit code 3 (smoke never downloads)."""
    result = run_milestone(MNIST, "--smoke", "--data-dir", str(tmp_path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "SKIPPED:" in result.stdout and "GATE" not in result.stdout
    assert "train-images-idx3-ubyte.gz" in result.stdout and str(tmp_path) in result.stdout


def test_mnist_trains_from_idx_files_in_data_dir(tmp_path, run_milestone):
    """With four IDX files in --data-dir (here TinyDigits upscaled to 28x28), it trains."""
    x_train, y_train, x_test, y_test = load_tinydigits()

    def upscale(x):
        big = np.pad(np.kron(x, np.ones((3, 3), dtype=np.float32)), ((0, 0), (2, 2), (2, 2)))
        return np.round(big * 255).astype(np.uint8)

    write_idx(tmp_path / "train-images-idx3-ubyte.gz", upscale(x_train))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y_train.astype(np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", upscale(x_test))  # gunzipped works too
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y_test.astype(np.uint8))
    result = run_milestone(MNIST, "--smoke", "--data-dir", str(tmp_path), "--epochs", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "109,386 parameters" in result.stdout and "GATE PASSED" in result.stdout


def test_a_script_reports_its_flags(run_milestone):
    """Each script documents --backend, --smoke and --seed."""
    result = run_milestone("02_1969_xor/01_xor_crisis.py", "--help")
    assert result.returncode == 0
    assert all(flag in result.stdout for flag in ("--backend", "--smoke", "--seed"))
