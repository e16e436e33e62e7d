"""``tito olympics``: the Torch Olympics from a shell.

    tito olympics events                         # the four events and their rules
    tito olympics benchmark --out sub.json       # train, optimize, measure the TinyDigits MLP
    tito olympics validate sub.json other.json   # every problem of every file
    tito olympics rank submissions/ [--event latency]

``benchmark`` is the capstone's workflow end to end on the TinyDigits MLP of milestone 03:
train the baseline, measure it (``BenchmarkReport``), then optimize a copy (structured
pruning of the hidden layers, compaction, a short fine-tune of the smaller dense model),
measure it, and save a validated submission. Exit codes: 0 success, 1 invalid submissions
(validate) or nothing to rank, 2 bad arguments (argparse).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

import tinytorch
from tinytorch.data.datasets import load_tinydigits
from tinytorch.data.loader import DataLoader, TensorDataset
from tinytorch.frontend.tensor import Tensor
from tinytorch.nn.activations import ReLU
from tinytorch.nn.layers import Flatten, Linear, Sequential
from tinytorch.nn.losses import CrossEntropyLoss
from tinytorch.olympics import (
    EVENTS,
    BenchmarkReport,
    SubmissionError,
    format_standings,
    generate_submission,
    load_submission,
    rank_submissions,
    save_submission,
    submission_problems,
)
from tinytorch.optim.optimizers import SGD
from tinytorch.perf.compression import compact_structured, structured_prune


# ------------------------------------------------------------------- benchmark
def tinydigits_mlp(hidden: int) -> Sequential:
    """Milestone 03's model: 64 pixels -> hidden -> hidden -> 10 digits."""
    return Sequential(
        Flatten(), Linear(64, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 10)
    )


def train(
    model: Sequential, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int
) -> None:
    """SGD with momentum on cross-entropy, mini-batches of 32."""
    loader = DataLoader(TensorDataset(Tensor(X), Tensor(y)), batch_size=32, shuffle=True, seed=seed)
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()


def cmd_benchmark(args: argparse.Namespace) -> int:
    if args.backend and args.backend not in tinytorch.available_backends():
        raise SystemExit(f"tito olympics: unknown backend {args.backend!r}")
    if not 0.0 <= args.prune < 1.0:
        raise SystemExit(f"tito olympics: --prune must be in [0, 1), got {args.prune}")
    epochs = args.epochs if args.epochs is not None else (3 if args.smoke else 20)
    finetune = (
        args.finetune_epochs if args.finetune_epochs is not None else (1 if args.smoke else 5)
    )
    runs = args.runs if args.runs is not None else (10 if args.smoke else 100)
    np.random.seed(args.seed)
    X_train, y_train, X_test, y_test = load_tinydigits()
    with tinytorch.backend(args.backend or tinytorch.current_backend()):
        baseline = tinydigits_mlp(args.hidden)
        print(f"training the TinyDigits MLP (hidden {args.hidden}) for {epochs} epochs ...")
        train(baseline, X_train, y_train, epochs, args.lr, args.seed)
        base_report = BenchmarkReport(model_name=f"tinydigits_mlp_{args.hidden}")
        base_report.benchmark_model(baseline, X_test, y_test, num_runs=runs)

        optimized = tinydigits_mlp(args.hidden)
        optimized.load_state_dict(baseline.state_dict())
        hidden_layers = Sequential(optimized.layers[1], optimized.layers[3])
        structured_prune(hidden_layers, args.prune)
        compact_structured(optimized)
        techniques = ["structured_pruning", "compaction"]
        if finetune:
            train(optimized, X_train, y_train, finetune, args.lr / 5, args.seed + 1)
            techniques.append("fine_tuning")
        opt_report = BenchmarkReport(model_name=f"{base_report.model_name}_pruned{args.prune:g}")
        opt_report.benchmark_model(optimized, X_test, y_test, num_runs=runs)

    submission = generate_submission(base_report, opt_report, techniques_applied=techniques,
                                     submitter=args.submitter)  # fmt: skip
    path = save_submission(submission, args.out)
    for label, report in (("baseline", base_report), ("optimized", opt_report)):
        m = report.metrics
        print(f"  {label:<9} {m['parameter_count']:>6} params  {m['model_size_mb']:.4f} MB  "
              f"accuracy {m['accuracy']:.3f}  latency {m['latency_ms_mean']:.3f} "
              f"± {m['latency_ms_std']:.3f} ms")  # fmt: skip
    imp = submission["improvements"]
    print(f"  speedup {imp['speedup']:.2f}x, compression {imp['compression_ratio']:.2f}x, "
          f"accuracy delta {imp['accuracy_delta']:+.3f}")  # fmt: skip
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------- validate and rank
def cmd_validate(args: argparse.Namespace) -> int:
    bad = 0
    for name in args.files:
        try:
            problems = submission_problems(load_submission(name))
        except (OSError, SubmissionError) as exc:
            problems = exc.problems if isinstance(exc, SubmissionError) else [str(exc)]
        if problems:
            bad += 1
            print(f"{name}: INVALID ({len(problems)} problem{'s' if len(problems) > 1 else ''})")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{name}: valid")
    return 1 if bad else 0


def load_folder(folder: Path) -> dict[str, Any]:
    """``{file stem: submission}`` for every ``*.json`` in ``folder`` (unreadable files map
    to an empty dict, so they are listed as invalid)."""
    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            found[path.stem] = load_submission(path)
        except (OSError, SubmissionError):
            found[path.stem] = {}
    return found


def cmd_rank(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise SystemExit(f"tito olympics: {folder} is not a folder")
    submissions = load_folder(folder)
    if not submissions:
        print(f"no submissions (*.json) in {folder}")
        return 1
    events = list(EVENTS) if args.event == "all" else [args.event]
    print("\n\n".join(format_standings(e, rank_submissions(submissions, e)) for e in events))
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    for e in EVENTS.values():
        print(f"{e.key:<11} {e.title}: {e.goal}\n{'':<12}score: {e.score}\n"
              f"{'':<12}constraint: {e.constraint}")  # fmt: skip
    return 0


def add_olympics_parser(sub: Any) -> None:
    """Register ``tito olympics ...`` on the top-level subparsers."""
    olympics = sub.add_parser("olympics", help="Torch Olympics: benchmark, validate, rank")
    osub = olympics.add_subparsers(dest="action", required=True)
    ev = osub.add_parser("events", help="the four events and their scoring rules")
    ev.set_defaults(func=cmd_events)
    b = osub.add_parser("benchmark", help="train, optimize and measure the TinyDigits MLP")
    b.add_argument("--out", default="submission.json", help="submission file to write")
    b.add_argument("--hidden", type=int, default=64, help="units per hidden layer")
    b.add_argument("--prune", type=float, default=0.5, help="fraction of hidden channels pruned")
    b.add_argument("--epochs", type=int, default=None, help="baseline epochs (default 20)")
    b.add_argument("--finetune-epochs", type=int, default=None, help="after compaction (5)")
    b.add_argument("--lr", type=float, default=0.05)
    b.add_argument("--runs", type=int, default=None, help="timed runs per model (100)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--submitter", default=None, help="your name in the submission")
    b.add_argument("--backend", default=None, help="numpy or llvm")
    b.add_argument("--smoke", action="store_true", help="few epochs and runs (seconds)")
    b.set_defaults(func=cmd_benchmark)
    v = osub.add_parser("validate", help="check submission files, listing every problem")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_validate)
    r = osub.add_parser("rank", help="rank a folder of submissions in each event")
    r.add_argument("folder")
    r.add_argument("--event", default="all", choices=["all", *EVENTS])
    r.set_defaults(func=cmd_rank)
