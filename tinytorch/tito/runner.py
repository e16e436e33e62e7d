"""Running milestone scripts: one fresh interpreter per script, and the table at the end.

Before a milestone's scripts run, :func:`check_imports` imports the ``tinytorch.core``
modules they use, as the book's runner does, so a missing module is reported by name
instead of as a traceback halfway through a script. :func:`run_script` then starts each
script as its own process (from the script's folder, with this checkout first on
``PYTHONPATH``), streams its output live and keeps a copy, from which
:func:`~tinytorch.tito.contract.read_gate` reads the outcome. :func:`print_table` closes a
run with one row per script: milestone, script, gate, wall time and the gate's message.
:func:`run_milestone` puts the first three together for one milestone.
"""

from __future__ import annotations

import codecs
import importlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tinytorch.tito.contract import read_gate
from tinytorch.tito.milestones import CHECKOUT, Milestone, book_imports


@dataclass
class Result:
    """How one script ended."""

    milestone: Milestone
    script: Path
    gate: str  # PASSED / FAILED / SKIPPED / ERROR
    seconds: float
    note: str = ""


def check_imports(m: Milestone) -> list[str]:
    """Import what the milestone needs, as the book's runner does; return what failed."""
    print(f"Testing YOUR implementations for milestone {m.number:02d}...")
    failed = []
    for module in book_imports(m):
        short = module.rsplit(".", 1)[-1]
        try:
            importlib.import_module(module)
            print(f"  * {short} import successful")
        except Exception as exc:  # a learner's module may fail in any way
            print(f"  x {short} failed to import: {type(exc).__name__}: {exc}")
            failed.append(module)
    print()
    return failed


def run_script(script: Path, extra: list[str]) -> tuple[int, str]:
    """Run one script in a fresh interpreter, streaming its output; return (code, output)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH")) if p)
    if sys.stdout.isatty():
        env.setdefault("TINYTORCH_PROGRESS", "bar")
    proc = subprocess.Popen(
        [sys.executable, str(script), *extra],
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    captured: list[str] = []
    assert proc.stdout is not None
    try:
        while chunk := os.read(proc.stdout.fileno(), 4096):
            text = decoder.decode(chunk)
            captured.append(text)
            sys.stdout.write(text)
            sys.stdout.flush()
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    finally:
        proc.stdout.close()
    return proc.returncode, "".join(captured)


def banner(m: Milestone, script: Path) -> str:
    """The box printed above a script's output: milestone, title, script path."""
    title = f" Milestone {m.number:02d} ({m.year}) "
    shown = Path(m.folder.parent.name) / m.folder.name / script.name
    body = [m.info.title, f"Running: {shown}"]
    width = max(len(title) + 10, *(len(b) + 4 for b in body))
    top = "+" + title.center(width - 2, "-") + "+"
    return "\n".join([top, *(f"| {b:<{width - 4}} |" for b in body), "+" + "-" * (width - 2) + "+"])


def print_table(results: list[Result]) -> None:
    rows = [("milestone", "script", "gate", "time", "result")]
    rows += [
        (r.milestone.label, r.script.name, r.gate, f"{r.seconds:.1f}s", r.note) for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print()
    for i, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
            + "  "
            + row[4]
        )
        if i == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    counts = {g: sum(r.gate == g for r in results) for g in ("PASSED", "FAILED", "SKIPPED")}
    errors = sum(r.gate == "ERROR" for r in results)
    summary = f"milestones: {counts['PASSED']} gates passed, {counts['FAILED']} failed"
    summary += f", {counts['SKIPPED']} skipped" + (f", {errors} errors" if errors else "")
    print("\n" + summary)


def run_milestone(m: Milestone, extra: list[str]) -> list[Result]:
    """Check the milestone's imports, then run each of its scripts with the flags ``extra``.
    When an import fails, no script runs: each is an ERROR naming the first missing module."""
    missing = check_imports(m)
    if missing:
        return [
            Result(m, script, "ERROR", 0.0, f"cannot import {missing[0]}") for script in m.scripts
        ]
    results = []
    for script in m.scripts:
        print(banner(m, script), flush=True)
        began = time.perf_counter()
        code, output = run_script(script, extra)
        outcome, note = read_gate(code, output)
        results.append(Result(m, script, outcome, time.perf_counter() - began, note))
        print(flush=True)
    return results
