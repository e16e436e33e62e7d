"""The book's course commands (Ch 3), as a learner types them: each runs and says what it
does here (this framework has no notebooks), with an exit code to match."""

import os
import subprocess
import sys

import pytest

from tinytorch.tito import course, modules


def tito(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinytorch.tito", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )


def test_setup_verifies_the_installation():
    """`tito setup`: first-time setup, safe to re-run; here it checks, installs nothing."""
    result = tito("setup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "modules: 20 of 20 ready" in result.stdout and "TinyTorch is ready" in result.stdout
    assert "numpy" in result.stdout and "backends:" in result.stdout


def test_module_status_lists_the_books_twenty_modules():
    result = tito("module", "status")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [ln for ln in result.stdout.splitlines() if ln[:2].isdigit()]
    assert len(rows) == 20
    assert rows[0].split() == ["01", "Tensor", "ready", "tinytorch.core.tensor"]
    assert rows[7].split()[:2] == ["08", "DataLoader"]
    assert rows[19].split() == ["20", "Capstone", "ready", "tinytorch.olympics"]


@pytest.mark.parametrize("number", ["01", "1", "tensor"])
def test_module_start_and_complete_take_the_books_numbers(number):
    started = tito("module", "start", number)
    assert started.returncode == 0, started.stdout + started.stderr
    assert "Module 01: Tensor" in started.stdout and "No notebook to open" in started.stdout
    completed = tito("module", "complete", number)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "`import tinytorch.core.tensor` works" in completed.stdout


def test_complete_fails_when_the_module_does_not_import(monkeypatch, capsys):
    """`tito module complete 09` is a check: exit 1 and the error when the import fails."""
    monkeypatch.setattr(course, "import_error", lambda m: "ImportError: no Conv2d")
    args = course.argparse.Namespace(number="09")
    assert course.cmd_module_complete(args) == 1
    assert "Module 09: Spatial" in capsys.readouterr().out


def test_unknown_module_numbers_are_refused():
    result = tito("module", "start", "21")
    assert result.returncode != 0 and "modules are 01-20" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [(("update",), "git pull"), (("community", "login"), "not available")],
)
def test_hosted_services_say_what_to_do_instead_and_exit_1(args, says):
    result = tito(*args)
    assert result.returncode == 1 and says in result.stdout


def test_every_book_import_path_imports():
    """The table behind `module status` names paths that exist (the book's Ch 14-20 too)."""
    assert [m.number for m in modules.MODULES] == list(range(1, 21))
    assert all(modules.import_error(m) is None for m in modules.MODULES)


def test_the_cli_module_runs_as_a_script():
    """`python -m tinytorch.tito.cli ...` works like `python -m tinytorch.tito ...`."""
    result = subprocess.run(
        [sys.executable, "-m", "tinytorch.tito.cli", "module", "complete", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "Module 01: Tensor" in result.stdout
