"""``tito``: the TinyTorch command line, for the historical milestones.

    tito milestone list                          # what exists, what each needs, last result
    tito milestone run perceptron                # or 01, 1, xor, mlp, all ...
    tito milestone run all --smoke --backend numpy

A milestone is a folder ``milestones/NN_YYYY_name/`` of scripts that each recreate a result
from history and check it against the book's *gate* (e.g. "the trained perceptron reaches
95%"). ``run`` starts every script as its own process (a clean interpreter each time),
streams its output, and ends with a table of gates and wall times. The exit code is non-zero
when any gate failed; a script that cannot run for a missing data file reports SKIPPED.

The contract between the runner and a script is small and lives here: flags ``--backend``,
``--smoke`` and ``--seed`` (see ``milestone_parser``), a final line ``GATE PASSED: ...`` or
``GATE FAILED: ...`` (``finish``) or ``SKIPPED: reason`` (``skip``), and the exit code
0 / 1 / 3 for passed / failed / skipped.

The book's course commands (``tito setup``, ``tito module ...``, ``tito update``) manage
notebooks and progress in a classroom; this framework has no notebooks, so only
``milestone`` exists. The last results are kept in ``~/.cache/tinytorch/milestones.json``
(``$TINYTORCH_CACHE_DIR`` or ``$XDG_CACHE_HOME`` move it).
"""

from __future__ import annotations

import argparse
import ast
import codecs
import importlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tinytorch.util.flags import cache_root, env, env_path

EXIT_PASSED, EXIT_FAILED, EXIT_SKIPPED = 0, 1, 3
# The book's modules in order (Module 01 tensor ... 08 data_loader ...).
CORE_ORDER = [
    "tensor",
    "activations",
    "layers",
    "losses",
    "autograd",
    "optimizers",
    "training",
    "data_loader",
    "spatial",
    "tokenization",
    "embeddings",
    "attention",
    "transformer",
]
FOLDER = re.compile(r"^(\d\d)_(\d{4})_([a-z0-9_]+)$")


# --------------------------------------------------------------------------- what exists


@dataclass(frozen=True)
class Info:
    """What the book says about a milestone (spec: milestones_cli_datasets.md §1, §4.2)."""

    title: str
    modules: str
    data: str
    aliases: tuple[str, ...] = ()


BOOK = {
    1: Info(
        "Perceptron: Rosenblatt's first neural network",
        "01-04 (trained: 05-07)",
        "none (synthetic 2-D points)",
        ("perceptron", "rosenblatt"),
    ),
    2: Info(
        "XOR crisis: why one layer is not enough",
        "01-06",
        "none (the XOR truth table)",
        ("xor", "minsky"),
    ),
    3: Info(
        "MLP revival: backpropagation on handwritten digits",
        "01-08",
        "TinyDigits (shipped); MNIST (4 IDX files, downloaded to milestones/datasets/mnist/)",
        ("mlp", "backprop", "rumelhart"),
    ),
    4: Info(
        "CNN revolution: convolutions see shapes, wherever they are",
        "01-09",
        "TinyDigits (shipped); CIFAR-10 (python batches, downloaded to "
        "milestones/datasets/cifar10/)",
        ("cnn", "lenet", "lecun"),
    ),
    5: Info("Transformer era", "01-13", "TinyTalks (shipped)", ("transformer", "vaswani")),
    6: Info("MLPerf: optimization olympics", "01-18", "n/s", ("mlperf", "olympics")),
}


@dataclass
class Milestone:
    number: int
    year: int
    name: str  # the folder's last part: perceptron, xor, mlp, ...
    folder: Path
    scripts: list[Path] = field(default_factory=list)

    @property
    def info(self) -> Info:
        return BOOK.get(self.number, Info(self.name, "n/s", "n/s"))

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name} ({self.year})"

    def names(self) -> set[str]:
        """Every name ``tito milestone run`` accepts for this milestone."""
        return {
            f"{self.number:02d}",
            str(self.number),
            str(self.year),
            self.name,
            self.folder.name,
            *self.info.aliases,
        }


def milestones_root() -> Path:
    """``$TINYTORCH_MILESTONES``, else the checkout's ``milestones/``, else ``./milestones``."""
    explicit = env_path("TINYTORCH_MILESTONES")
    if explicit is not None:
        return explicit
    beside_package = Path(__file__).resolve().parents[1] / "milestones"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "milestones"


def discover(root: Path | None = None) -> list[Milestone]:
    """The milestone folders that exist, in order, each with its scripts in run order."""
    root = root if root is not None else milestones_root()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        m = FOLDER.match(folder.name)
        if not (m and folder.is_dir()):
            continue
        scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
        if scripts:
            found.append(Milestone(int(m[1]), int(m[2]), m[3], folder, scripts))
    return found


def resolve(name: str, milestones: list[Milestone]) -> list[Milestone]:
    """``all``, a number (``01``, ``1``), a name (``perceptron``) or a folder name."""
    key = name.strip().lower()
    if key == "all":
        return milestones
    chosen = [m for m in milestones if key in m.names()]
    if not chosen:
        known = ", ".join(
            f"{m.number:02d}/{m.name}" + "".join(f"/{a}" for a in m.info.aliases if a != m.name)
            for m in milestones
        )
        raise SystemExit(
            f"tito: unknown milestone {name!r}. Known: {known or '(none found)'}, or 'all'."
        )
    return chosen


# --------------------------------------------------------------------------- last results


def cache_dir() -> Path:
    return cache_root()


def status_path() -> Path:
    return cache_dir() / "milestones.json"


def load_status() -> dict[str, Any]:
    path = status_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"tito: ignoring unreadable {path} ({exc})", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}


def save_status(data: dict[str, Any]) -> None:
    """Write the results file atomically (temp file + rename): never half-written."""
    path = status_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".milestones.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:
        print(f"tito: could not save results to {path} ({exc})", file=sys.stderr)


def describe_status(record: dict[str, Any] | None) -> str:
    if not record:
        return "not run"
    counts: dict[str, int] = {}
    for result in record.get("scripts", {}).values():
        counts[result["gate"]] = counts.get(result["gate"], 0) + 1
    parts = [f"{n} {gate.lower()}" for gate, n in sorted(counts.items())]
    return (
        f"{', '.join(parts)} ({record.get('mode')}, {record.get('backend')}, {record.get('when')})"
    )


# --------------------------------------------------------------------------- tito milestone


def cmd_list(args: argparse.Namespace) -> int:
    milestones = discover()
    if not milestones:
        print(f"no milestones found in {milestones_root()}")
        return 1
    status = load_status()
    for m in milestones:
        print(f"{m.number:02d}  {m.name:<11} {m.year}  {m.info.title}")
        print(f"    needs:    modules {m.info.modules}; data: {m.info.data}")
        print(f"    scripts:  {', '.join(p.name for p in m.scripts)}")
        print(f"    last run: {describe_status(status.get(m.folder.name))}")
    print("\nrun one with `tito milestone run <name|number|all> [--smoke] [--backend B]`")
    return 0


@dataclass
class Result:
    milestone: Milestone
    script: Path
    gate: str  # PASSED / FAILED / SKIPPED / ERROR
    seconds: float
    note: str = ""


def _gate_of(returncode: int, output: str) -> tuple[str, str]:
    """The gate outcome from a script's exit code and its last gate/skip line."""
    lines = [ln.strip() for ln in output.splitlines()]
    gate_line = next((ln for ln in reversed(lines) if ln.startswith("GATE ")), "")
    skip_line = next((ln for ln in reversed(lines) if ln.startswith("SKIPPED:")), "")
    if returncode == EXIT_SKIPPED:
        return "SKIPPED", skip_line.removeprefix("SKIPPED:").strip()
    if returncode == EXIT_PASSED:
        if gate_line.startswith("GATE PASSED"):
            return "PASSED", gate_line.removeprefix("GATE PASSED:").strip()
        return "ERROR", "exited 0 without a GATE line"
    if returncode == EXIT_FAILED and gate_line.startswith("GATE FAILED"):
        return "FAILED", gate_line.removeprefix("GATE FAILED:").strip()
    return "ERROR", f"exit code {returncode}"


def run_script(script: Path, extra: list[str]) -> tuple[int, str]:
    """Run one script in a fresh interpreter, streaming its output; return (code, output)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    package_parent = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
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


def book_imports(m: Milestone) -> list[str]:
    """The ``tinytorch.core.*`` modules the milestone's scripts import, in module order."""
    found: set[str] = set()
    for script in m.scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "tinytorch.core."
            ):
                found.add(node.module)
    order = [f"tinytorch.core.{name}" for name in CORE_ORDER]
    return sorted(found, key=lambda mod: (order.index(mod) if mod in order else len(order), mod))


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


def _banner(m: Milestone, script: Path) -> str:
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


def cmd_run(args: argparse.Namespace) -> int:
    import tinytorch  # only here: `tito milestone list` stays instant

    if args.backend and args.backend not in tinytorch.available_backends():
        raise SystemExit(
            f"tito: unknown backend {args.backend!r}; available: "
            f"{', '.join(tinytorch.available_backends())}"
        )
    chosen = resolve(args.name, discover())
    extra = (["--smoke"] if args.smoke else []) + (
        ["--backend", args.backend] if args.backend else []
    )
    extra += ["--seed", str(args.seed)] if args.seed is not None else []
    results: list[Result] = []
    status = load_status()
    for m in chosen:
        record: dict[str, Any] = {
            "mode": "smoke" if args.smoke else "full",
            "backend": args.backend or tinytorch.current_backend(),
            "when": datetime.now().isoformat(timespec="seconds"),
            "scripts": {},
        }
        missing = check_imports(m)
        for script in m.scripts:
            if missing:
                results.append(Result(m, script, "ERROR", 0.0, f"cannot import {missing[0]}"))
                record["scripts"][script.name] = {"gate": "ERROR", "seconds": 0.0}
                continue
            print(_banner(m, script), flush=True)
            began = time.perf_counter()
            code, output = run_script(script, extra)
            outcome, note = _gate_of(code, output)
            results.append(Result(m, script, outcome, time.perf_counter() - began, note))
            record["scripts"][script.name] = {
                "gate": outcome,
                "seconds": round(results[-1].seconds, 2),
            }
            print(flush=True)
        status[m.folder.name] = record
        save_status(status)
    print_table(results)
    return EXIT_FAILED if any(r.gate in ("FAILED", "ERROR") for r in results) else EXIT_PASSED


# --------------------------------------------------------------------------- script side


def milestone_parser(description: str) -> argparse.ArgumentParser:
    """The flags every milestone script accepts: ``--backend``, ``--smoke``, ``--seed``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=None, help="numpy, llvm, ... (default: current)")
    parser.add_argument(
        "--smoke", action="store_true", help="a fast run for CI (still checks the gate)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def start(args: argparse.Namespace) -> None:
    """Apply ``--backend`` and ``--seed`` (NumPy and Python RNGs) for a milestone script."""
    import numpy as np

    import tinytorch

    if args.backend:
        tinytorch.set_backend(args.backend)
    np.random.seed(args.seed)
    random.seed(args.seed)
    mode = "smoke" if args.smoke else "full"
    print(f"backend: {tinytorch.current_backend()}  seed: {args.seed}  mode: {mode}\n")


def finish(passed: bool, message: str) -> int:
    """Print the gate line the runner reads; return the exit code (0 passed, 1 failed)."""
    print(f"\nGATE {'PASSED' if passed else 'FAILED'}: {message}", flush=True)
    return EXIT_PASSED if passed else EXIT_FAILED


def gate(what: str, value: float, threshold: float, at_least: bool = True) -> int:
    """``finish`` for a number against a threshold: ``GATE PASSED: accuracy 97.5% >= 95.0%``.

    Values are fractions shown as percentages; ``at_least=False`` gates from above."""
    passed = value >= threshold if at_least else value <= threshold
    symbol = (">=" if passed else "<") if at_least else ("<=" if passed else ">")
    return finish(passed, f"{what} {value:.1%} {symbol} {threshold:.1%}")


def dataset_dir(args: argparse.Namespace, name: str) -> Path | None:
    """Where a milestone looks for a downloaded dataset: ``--data-dir`` if given, else
    ``$TINYTORCH_DATA_DIR/<name>`` (``None``: the loader's own default), else the book's
    ``milestones/datasets/<name>/``."""
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    return None if env("TINYTORCH_DATA_DIR") else milestones_root() / "datasets" / name


def fit(trainer: Any, train: Any, test: Any, epochs: int) -> float:
    """The milestones' training loop: ``epochs`` rounds of ``trainer.train_epoch(train)``,
    each followed by ``trainer.evaluate(test)`` shown on a progress bar (plain lines when
    the output is not a terminal). Returns the final test accuracy."""
    from tinytorch.util.progress import ProgressBar

    acc = 0.0
    bar = ProgressBar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        loss = trainer.train_epoch(train)
        _, acc = trainer.evaluate(test)
        bar.set(loss=loss, test_acc=acc)
    return acc


def skip(reason: str) -> int:
    """Print why the script cannot run here; return the 'skipped' exit code (3)."""
    print(f"\nSKIPPED: {reason}", flush=True)
    return EXIT_SKIPPED


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tito",
        description="TinyTorch command line: run the book's historical milestones.",
        epilog="The book's course commands (setup, module, update, community) manage "
        "classroom notebooks and do not exist in this framework.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    milestone = sub.add_parser("milestone", help="list or run the historical milestones")
    msub = milestone.add_subparsers(dest="action", required=True)
    lst = msub.add_parser("list", help="milestones, what they need, last results")
    lst.set_defaults(func=cmd_list)
    run = msub.add_parser("run", help="run a milestone's scripts and check their gates")
    run.add_argument("name", help="a number (01, 1), a name (perceptron, xor, mlp) or 'all'")
    run.add_argument("--backend", default=None, help="backend for every script")
    run.add_argument("--smoke", action="store_true", help="fast runs (CI), gates still checked")
    run.add_argument("--seed", type=int, default=None, help="seed passed to every script")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
