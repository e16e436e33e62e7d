"""``tito olympics``: benchmark the TinyDigits MLP into a submission, validate files, rank a
folder. Called through ``main([...])`` as the console script does, plus one subprocess."""

import json
import subprocess
import sys

import pytest

import tinytorch
from tinytorch.olympics import validate_submission_schema
from tinytorch.tito.cli import main


@pytest.fixture(scope="module")
def benchmarked(tmp_path_factory):
    """One smoke benchmark run shared by the tests (training takes a few seconds)."""
    folder = tmp_path_factory.mktemp("subs")
    out = folder / "mlp.json"
    code = main(["olympics", "benchmark", "--smoke", "--hidden", "16", "--runs", "3",
                 "--epochs", "2", "--finetune-epochs", "1", "--out", str(out),
                 "--submitter", "tester"])  # fmt: skip
    return code, out


def test_benchmark_writes_a_valid_submission_of_the_pruned_mlp(benchmarked):
    code, out = benchmarked
    assert code == 0
    s = json.loads(out.read_text())
    assert validate_submission_schema(s)
    assert s["techniques_applied"] == ["structured_pruning", "compaction", "fine_tuning"]
    assert s["submitter"] == "tester"
    # 64 -> 16 -> 16 -> 10 has 64*16+16 + 16*16+16 + 16*10+10 = 1,482 parameters; pruning
    # half the hidden channels and compacting leaves 64*8+8 + 8*8+8 + 8*10+10 = 682
    assert s["baseline"]["metrics"]["parameter_count"] == 1482
    assert s["optimized"]["metrics"]["parameter_count"] == 682
    assert s["improvements"]["compression_ratio"] == pytest.approx(1482 / 682)


def test_validate_lists_every_problem_and_fails(benchmarked, tmp_path, capsys):
    _, good = benchmarked
    bad = json.loads(good.read_text())
    bad["baseline"]["metrics"]["accuracy"] = 92
    bad["optimized"]["metrics"]["latency_ms_mean"] = float("nan")
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["olympics", "validate", str(good)]) == 0
    assert capsys.readouterr().out.strip().endswith("mlp.json: valid")
    code = main(["olympics", "validate", str(good), str(tmp_path / "bad.json"),
                 str(tmp_path / "junk.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "bad.json: INVALID (" in out and "write 0.92, not 92" in out
    assert "optimized.metrics.latency_ms_mean: must be finite, got nan" in out
    assert "junk.json: INVALID (1 problem)" in out and "not valid JSON" in out


def test_rank_prints_every_event_and_lists_unranked_files(benchmarked, tmp_path, capsys):
    _, good = benchmarked
    (tmp_path / "mlp.json").write_text(good.read_text())
    (tmp_path / "broken.json").write_text("[]")
    assert main(["olympics", "rank", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for title in ("Latency Sprint", "Memory Challenge", "Accuracy Contest", "All-Around"):
        assert title in out
    assert "broken  not ranked: invalid" in out
    assert main(["olympics", "rank", str(tmp_path), "--event", "memory"]) == 0
    out = capsys.readouterr().out
    assert "Memory Challenge" in out and "Latency Sprint" not in out
    assert " 1. mlp" in out


def test_rank_an_empty_folder_fails(tmp_path, capsys):
    assert main(["olympics", "rank", str(tmp_path)]) == 1
    assert "no submissions" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["olympics", "rank", str(tmp_path), "--event", "speed"])


def test_events_and_the_console_entry_point():
    out = subprocess.run([sys.executable, "-m", "tinytorch.tito", "olympics", "events"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Latency Sprint" in out and "compression_ratio >= 4" in out
    assert "accuracy_delta >= -0.02" in out


def test_benchmark_rejects_bad_arguments():
    with pytest.raises(SystemExit, match="--prune must be in"):
        main(["olympics", "benchmark", "--prune", "1.5"])
    with pytest.raises(SystemExit, match="unknown backend"):
        main(["olympics", "benchmark", "--backend", "tpu"])
    assert "numpy" in tinytorch.available_backends()
