"""The contract between ``tito`` and a milestone script, both sides of it in one place.

A script imports its half from here::

    from tinytorch.tito.contract import gate, milestone_parser, start

    args = milestone_parser(__doc__).parse_args()   # --backend, --smoke, --seed
    start(args)                                     # apply the backend, seed the RNGs
    ...
    sys.exit(gate("test accuracy", acc, 0.95))      # GATE PASSED/FAILED line + exit code

and ends with exactly one outcome: a final line ``GATE PASSED: ...`` or ``GATE FAILED: ...``
(:func:`finish`, or :func:`gate` for a number against a threshold) or ``SKIPPED: reason``
(:func:`skip`, when a data file is missing), with the exit code 0 / 1 / 3 for passed / failed
/ skipped. :func:`dataset_dir` and :func:`fit` are the two helpers the training milestones
share. The runner's half is :func:`read_gate`, which turns a finished script's exit code and
output back into that outcome.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import numpy as np

import tinytorch
from tinytorch.backends.llvm.blas import set_blas_threads
from tinytorch.tito.milestones import milestones_root
from tinytorch.train import trainer as trainer_module
from tinytorch.util.flags import env
from tinytorch.util.progress import ProgressBar

EXIT_PASSED, EXIT_FAILED, EXIT_SKIPPED = 0, 1, 3


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
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="train with eager steps instead of tinytorch.compile-d (replayed) ones",
    )
    return parser


def start(args: argparse.Namespace) -> None:
    """Apply ``--backend`` and ``--seed`` (NumPy and Python RNGs) for a milestone script."""
    if args.backend:
        tinytorch.set_backend(args.backend)
    if not env("TINYTORCH_THREADS"):
        # The milestones' models are small: their matrix products run 5-10x slower when a
        # many-threaded BLAS waits for threads on shared cores. One BLAS thread, as bench/
        # uses (TINYTORCH_THREADS=N asks for N instead).
        set_blas_threads(1)
    trainer_module.COMPILE_STEPS = not getattr(args, "no_compile", False)
    np.random.seed(args.seed)
    random.seed(args.seed)
    mode = "smoke" if args.smoke else "full"
    steps = "compiled" if trainer_module.COMPILE_STEPS else "eager"
    print(
        f"backend: {tinytorch.current_backend()}  seed: {args.seed}  mode: {mode}  steps: {steps}\n"
    )


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


def skip(reason: str) -> int:
    """Print why the script cannot run here; return the 'skipped' exit code (3)."""
    print(f"\nSKIPPED: {reason}", flush=True)
    return EXIT_SKIPPED


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
    acc = 0.0
    bar = ProgressBar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        loss = trainer.train_epoch(train)
        _, acc = trainer.evaluate(test)
        bar.set(loss=loss, test_acc=acc)
    return acc


def fit_language_model(model: Any, windows: Any, steps: int, lr: float, batch_size: int,
                       compiled: bool | None = None) -> list[float]:  # fmt: skip
    """The language milestones' training loop: ``steps`` Adam steps of next-token
    cross-entropy on ``windows.batch(batch_size)`` (a :class:`~tinytorch.data.text.TextWindows`),
    compiled once and replayed unless ``compiled`` is False (None: as ``--no-compile`` said).
    Returns every step's loss."""
    if compiled is None:
        compiled = trainer_module.COMPILE_STEPS
    optimizer = tinytorch.Adam(model.parameters(), lr=lr)
    loss_fn = tinytorch.CrossEntropyLoss()

    def train_step(x: Any, y: Any) -> Any:
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    step = tinytorch.compile(train_step) if compiled else train_step
    losses: list[float] = []
    bar = ProgressBar(range(steps), desc="training", unit="step")
    for k in bar:
        x, y = windows.batch(batch_size)
        losses.append(step(tinytorch.Tensor(x), tinytorch.Tensor(y)).item())
        if k % 25 == 24 or k == steps - 1:
            bar.set(loss=float(np.mean(losses[-25:])))
    return losses


# --------------------------------------------------------------------------- runner side
def read_gate(returncode: int, output: str) -> tuple[str, str]:
    """A finished script's outcome, ``(gate, note)``, from its exit code and its last
    ``GATE``/``SKIPPED`` line. ``gate`` is PASSED, FAILED, SKIPPED, or ERROR when the two
    disagree (exit 0 without a ``GATE PASSED`` line, a crash's exit code, ...)."""
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
