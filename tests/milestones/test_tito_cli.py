"""The ``tito`` command: listing milestones, resolving names, running scripts, gate table."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tinytorch.tito import runner, status
from tinytorch.tito.contract import read_gate
from tinytorch.tito.milestones import discover, resolve


def tito(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinytorch.tito", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TINYTORCH_PROGRESS": "plain", **(env or {})},
        timeout=300,
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Results go to a temporary cache directory, never the user's."""
    monkeypatch.setenv("TINYTORCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_list_shows_each_milestone_with_its_needs(cache):
    """Number, name, year, modules, data and last-run status for each existing milestone."""
    result = tito("milestone", "list", env={"TINYTORCH_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in ("01  perceptron  1957", "02  xor", "1969", "03  mlp", "1986"):
        assert line in out
    assert "modules 01-08" in out and "TinyDigits (shipped)" in out
    assert "02_rumelhart_mnist.py" in out and "last run: not run" in out
    assert "04  cnn" in out and "02_lecun_cifar10.py" in out
    assert "05  transformer" in out and "00_vaswani_attention_proof.py" in out
    assert "06  mlperf      2018" in out and "01_optimization_olympics.py" in out
    assert "02_generation_speedup.py" in out and "modules 01-18" in out
    assert not any(line.startswith("07") for line in out.splitlines())  # only what exists
    assert "tito milestone run 04 (or cnn, lenet, alexnet, lecun)" in out  # the book's names


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("01", "01_1957_perceptron"),
        ("1", "01_1957_perceptron"),
        ("perceptron", "01_1957_perceptron"),
        ("XOR", "02_1969_xor"),
        ("1969", "02_1969_xor"),
        ("mlp", "03_1986_mlp"),
        ("backprop", "03_1986_mlp"),
        ("lenet", "04_1998_cnn"),
        ("alexnet", "04_1998_cnn"),
        ("transformer", "05_2017_transformer"),
        ("03_1986_mlp", "03_1986_mlp"),
        ("06", "06_2018_mlperf"),
        ("2018", "06_2018_mlperf"),
        ("mlperf", "06_2018_mlperf"),
        ("olympics", "06_2018_mlperf"),
    ],
)
def test_names_the_book_uses_resolve(name, folder):
    """Numbers, names, years and folder names all pick the same milestone; so do the six
    names of the book's §3.5 table (perceptron, backprop, lenet, alexnet, transformer,
    mlperf)."""
    (chosen,) = resolve(name, discover())
    assert chosen.folder.name == folder


def test_all_and_unknown_names():
    """'all' runs everything in order; an unknown name lists the known ones."""
    milestones = discover()
    assert [m.number for m in resolve("all", milestones)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(SystemExit, match=r"unknown milestone 'lenet5'.*01/perceptron.*02/xor"):
        resolve("lenet5", milestones)


def test_exit_codes_map_to_gates():
    """0 + GATE PASSED passes, 1 + GATE FAILED fails, 3 skips; anything else is an error."""
    assert read_gate(0, "x\nGATE PASSED: acc 99%\n") == ("PASSED", "acc 99%")
    assert read_gate(1, "GATE FAILED: acc 50%") == ("FAILED", "acc 50%")
    assert read_gate(3, "SKIPPED: no files") == ("SKIPPED", "no files")
    assert read_gate(0, "no gate line")[0] == "ERROR"
    assert read_gate(2, "Traceback ...") == ("ERROR", "exit code 2")


def test_run_perceptron_smoke_passes_and_records_the_result(cache):
    """`tito milestone run 01 --smoke` runs both scripts, prints the table, saves status."""
    env = {"TINYTORCH_CACHE_DIR": str(cache)}
    result = tito("milestone", "run", "01", "--smoke", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Linear layer: 2 -> 1" in result.stdout  # the scripts' output is streamed
    lines = result.stdout.splitlines()
    # the book's runner output (§3.4), in its order
    book_order = [
        "Checking prerequisites for Milestone 01...",
        "All required modules completed!",
        "Testing YOUR implementations...",
        "  * Tensor import successful",
        "  * Activations import successful",
        "  * Layers import successful",
        "YOUR TinyTorch is ready!",
        "| Milestone 01: Perceptron (1957)",
        "| Frank Rosenblatt's First Neural Network",
        "| Running: milestones/01_1957_perceptron/01_rosenblatt_forward.py",
        "| All code uses YOUR TinyTorch implementations!",
        "Starting Milestone 01...",
        "Assembling perceptron with YOUR TinyTorch modules...",
        "| MILESTONE ACHIEVED!",
        "| You completed Milestone 01: Perceptron (1957)",
        "| - Every activation: YOUR Sigmoid function",
    ]
    found = [next(i for i, ln in enumerate(lines) if ln.startswith(want)) for want in book_order]
    assert found == sorted(found)
    assert any(ln.startswith("+") and " Milestone 01 (1957) " in ln for ln in lines)
    assert any(ln.startswith("+") and " Achievement Unlocked " in ln for ln in lines)
    table = result.stdout.rsplit("\nmilestone ", 1)[-1]  # the closing table
    assert table.count("PASSED") == 2 and "0 failed" in table
    saved = json.loads((cache / "milestones.json").read_text())
    assert saved["01_1957_perceptron"]["mode"] == "smoke"
    assert "2 passed (smoke" in tito("milestone", "list", env=env).stdout


def _fake_milestones(root):
    """A milestone whose first script fails its gate and whose second is skipped."""
    folder = root / "01_1957_perceptron"
    folder.mkdir(parents=True)
    (folder / "01_fails.py").write_text(
        textwrap.dedent(
            """
            import sys
            from tinytorch.tito.contract import gate
            sys.exit(gate("accuracy", 0.5, 0.95))
            """
        )
    )
    (folder / "02_skips.py").write_text(
        "import sys\nfrom tinytorch.tito.contract import skip\nsys.exit(skip('no data here'))\n"
    )


def test_a_failed_gate_makes_tito_fail(tmp_path, cache):
    """Any FAILED gate gives a non-zero exit; SKIPPED is shown as skipped, not passed."""
    _fake_milestones(tmp_path / "ms")
    env = {"TINYTORCH_CACHE_DIR": str(cache), "TINYTORCH_MILESTONES": str(tmp_path / "ms")}
    result = tito("milestone", "run", "all", env=env)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "accuracy 50.0% < 95.0%" in result.stdout
    assert "SKIPPED" in result.stdout and "no data here" in result.stdout
    assert "0 gates passed, 1 failed, 1 skipped" in result.stdout
    assert "Achievement Unlocked" not in result.stdout  # only when every gate passed


def test_unknown_backend_and_unknown_milestone_are_clear_errors(cache):
    """Mistyped arguments stop before anything runs, saying what is valid."""
    bad_backend = tito("milestone", "run", "01", "--backend", "cuda")
    assert bad_backend.returncode != 0 and "available: " in bad_backend.stderr
    bad_name = tito("milestone", "run", "resnet")
    assert bad_name.returncode != 0 and "Known: 01/perceptron" in bad_name.stderr


def test_a_corrupt_results_file_is_ignored(cache):
    """A damaged milestones.json does not break `tito milestone list`."""
    cache.mkdir(parents=True)
    (cache / "milestones.json").write_text("{not json")
    assert status.load_status() == {}
    status.save_status({"x": {"mode": "full"}})
    assert json.loads((cache / "milestones.json").read_text()) == {"x": {"mode": "full"}}
    assert [p.name for p in cache.iterdir()] == ["milestones.json"]  # no temp file left


def test_a_missing_module_stops_the_milestone_before_it_runs(tmp_path, cache):
    """Like the book's runner, tito first imports the tinytorch.core modules a script uses."""
    folder = tmp_path / "ms" / "04_1998_cnn"
    folder.mkdir(parents=True)
    (folder / "01_lecun.py").write_text("from tinytorch.core.not_written_yet import Conv2d\n")
    env = {"TINYTORCH_CACHE_DIR": str(cache), "TINYTORCH_MILESTONES": str(tmp_path / "ms")}
    result = tito("milestone", "run", "cnn", env=env)
    assert result.returncode == 1
    assert "x not_written_yet failed to import" in result.stdout
    assert (
        "ERROR" in result.stdout and "cannot import tinytorch.core.not_written_yet" in result.stdout
    )


def test_a_missing_prerequisite_module_is_named(monkeypatch, capsys):
    """The prerequisite check covers the modules of the milestone's chapter header (01-09
    for the CNN), not only those its scripts import: Module 05 broken stops milestone 04."""
    (cnn,) = resolve("cnn", discover())
    broken = {"tinytorch.core.autograd"}
    monkeypatch.setattr(
        runner, "import_error", lambda m: "ImportError: broken" if m.path in broken else None
    )
    assert runner.check_prerequisites(cnn) == ["tinytorch.core.autograd"]
    out = capsys.readouterr().out
    assert "Checking prerequisites for Milestone 04..." in out
    assert "x Module 05: Autograd (tinytorch.core.autograd) is not ready" in out
    assert "All required modules completed!" not in out
    broken.clear()
    assert runner.check_prerequisites(cnn) == []
    assert "All required modules completed!" in capsys.readouterr().out
