"""Running milestone scripts: one fresh interpreter per script, and the table at the end.

Before a milestone's scripts run, as the book's runner does (book §3.4),
:func:`check_prerequisites` checks the modules its chapter requires and :func:`check_imports`
imports the ``tinytorch.core`` modules the scripts use, so a missing module is reported by
name instead of as a traceback halfway through a script. Each script is announced by the
book's box (:func:`banner`) and "Starting Milestone NN..."; a milestone whose every gate
passed ends with the "Achievement Unlocked" box (:func:`achievement`).

:func:`run_script` starts each script as its own process (from the script's folder, with
this checkout first on ``PYTHONPATH``), streams its output live and keeps a copy, from
which :func:`~tinytorch.tito.contract.read_gate` reads the outcome. :func:`print_table`
closes a run with one row per script: milestone, script, gate, wall time and the gate's
message. :func:`run_milestone` puts these together for one milestone.
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
from tinytorch.tito.modules import MODULES, display_name, import_error


@dataclass
class Result:
    """How one script ended."""

    milestone: Milestone
    script: Path
    gate: str  # PASSED / FAILED / SKIPPED / ERROR
    seconds: float
    note: str = ""


def check_prerequisites(m: Milestone) -> list[str]:
    """The book's first step: are the modules the milestone's chapter requires (01 to
    ``m.requires``) completed? Here a module is completed when its import path imports.
    Returns the import paths that failed."""
    print(f"Checking prerequisites for Milestone {m.number:02d}...")
    missing = []
    for module in MODULES[: m.requires]:
        error = import_error(module)
        if error is not None:
            print(f"  x {module.label} ({module.path}) is not ready: {error}")
            missing.append(module.path)
    if not missing:
        print("All required modules completed!")
    print()
    return missing


def check_imports(m: Milestone) -> list[str]:
    """Import the ``tinytorch.core`` modules the scripts use, as the book's runner does
    ("Tensor import successful"); return the ones that failed."""
    print("Testing YOUR implementations...")
    failed = []
    for module in book_imports(m):
        name = display_name(module)
        try:
            importlib.import_module(module)
            print(f"  * {name} import successful")
        except Exception as exc:  # a learner's module may fail in any way
            print(f"  x {name} failed to import: {type(exc).__name__}: {exc}")
            failed.append(module)
    if not failed:
        print("YOUR TinyTorch is ready!")
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


def box(title: str, lines: list[str]) -> str:
    """The book's boxes: ``+----- title -----+``, then ``| line |`` rows, then ``+---+``."""
    top_title = f" {title} "
    width = max(len(top_title) + 10, *(len(line) + 4 for line in lines))
    top = "+" + top_title.center(width - 2, "-") + "+"
    rows = [f"| {line:<{width - 4}} |" for line in lines]
    return "\n".join([top, *rows, "+" + "-" * (width - 2) + "+"])


def banner(m: Milestone, script: Path) -> str:
    """The box printed above a script's output (book §3.4): milestone, subtitle, script."""
    shown = Path(m.folder.parent.name) / m.folder.name / script.name
    lines = [m.title, *([m.info.subtitle] if m.info.subtitle else []), ""]
    lines += [f"Running: {shown.as_posix()}", "All code uses YOUR TinyTorch implementations!"]
    return box(f"Milestone {m.number:02d} ({m.year})", lines)


def achievement(m: Milestone) -> str:
    """The box printed when every gate of a milestone passed (book §3.4)."""
    lines = ["MILESTONE ACHIEVED!", "", f"You completed {m.title}"]
    lines += [m.info.subtitle] if m.info.subtitle else []
    if m.info.special:
        lines += ["", "What makes this special:", *(f"- {s}" for s in m.info.special)]
    return box("Achievement Unlocked", lines)


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
    """Check the milestone's prerequisites and imports, then run each of its scripts with
    the flags ``extra``; print the achievement box when every gate passed. When a module
    is missing, no script runs: each is an ERROR naming the first missing module."""
    missing = check_prerequisites(m)
    missing += [module for module in check_imports(m) if module not in missing]
    if missing:
        return [
            Result(m, script, "ERROR", 0.0, f"cannot import {missing[0]}") for script in m.scripts
        ]
    results = []
    for script in m.scripts:
        print(banner(m, script), flush=True)
        print(f"\nStarting Milestone {m.number:02d}...\n", flush=True)
        began = time.perf_counter()
        code, output = run_script(script, extra)
        outcome, note = read_gate(code, output)
        results.append(Result(m, script, outcome, time.perf_counter() - began, note))
        print(flush=True)
    if results and all(r.gate == "PASSED" for r in results):
        print(achievement(m) + "\n", flush=True)
    return results
