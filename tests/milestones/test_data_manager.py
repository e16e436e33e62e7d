"""milestones/data_manager.py: the download utilities the book points to (offline here)."""

import os
import subprocess
import sys
from pathlib import Path

MILESTONES = Path(__file__).resolve().parents[2] / "milestones"


def data_manager(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TINYTORCH_DATA_DIR"}
    return subprocess.run(
        [sys.executable, str(MILESTONES / "data_manager.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_bare_call_reports_what_to_put_in_which_book_folder(tmp_path):
    """Nothing is fetched; each missing dataset names its files and its folder."""
    result = data_manager("--data-dir", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "downloading" not in out
    assert f"{tmp_path / 'mnist'}" in out and "train-images-idx3-ubyte.gz" in out
    assert f"{tmp_path / 'cifar-10'}" in out and "cifar-10-python.tar.gz" in out
    assert f"{tmp_path / 'tinytalks'}" in out and "tinytalks_v1.txt" in out
    assert list(tmp_path.iterdir()) == []  # a report creates nothing


def test_a_dataset_placed_by_hand_is_ready(tmp_path):
    folder = tmp_path / "tinytalks"
    folder.mkdir()
    (folder / "tinytalks_v1.txt").write_text("Q: What is 2+2?\nA: 4\n\nQ: Hi?\nA: Hello\n")
    result = data_manager("tinytalks", "--no-download", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"tinytalks: ready in {folder}" in result.stdout


def test_unknown_names_are_refused():
    result = data_manager("imagenet")
    assert result.returncode == 2 and "unknown dataset 'imagenet'" in result.stderr
