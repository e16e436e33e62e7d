"""The ``tito`` command: ``tito milestone list``, ``tito milestone run NAME``,
``tito olympics events|benchmark|validate|rank`` (:mod:`tinytorch.tito.olympics`), and the
book's course commands ``tito setup``, ``tito module status|start|complete N``, ``tito update``
and ``tito community login`` (:mod:`tinytorch.tito.course`: what each means here).

``list`` prints each milestone found on disk with what it needs and its last result.
``run`` checks ``--backend``, resolves the name (``all``, ``01``, ``perceptron`` ...), runs
each chosen milestone's scripts with ``--smoke``/``--backend``/``--seed`` passed on, saves
each milestone's result as soon as it is known, and prints the table of gates. The exit code
is non-zero when any gate failed or any script broke the contract (ERROR); SKIPPED scripts
(missing data files) do not fail the run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

import tinytorch
from tinytorch.tito.contract import EXIT_FAILED, EXIT_PASSED
from tinytorch.tito.course import add_course_parsers
from tinytorch.tito.milestones import discover, milestones_root, resolve
from tinytorch.tito.olympics import add_olympics_parser
from tinytorch.tito.runner import Result, print_table, run_milestone
from tinytorch.tito.status import describe_status, load_status, save_status


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
        names = ", ".join(dict.fromkeys((m.name, *m.info.aliases)))
        print(f"    run as:   tito milestone run {m.number:02d} (or {names})")
        print(f"    last run: {describe_status(status.get(m.folder.name))}")
    print("\nrun one with `tito milestone run <name|number|all> [--smoke] [--backend B]`")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
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
        }
        ran = run_milestone(m, extra)
        record["scripts"] = {
            r.script.name: {"gate": r.gate, "seconds": round(r.seconds, 2)} for r in ran
        }
        results += ran
        status[m.folder.name] = record
        save_status(status)
    print_table(results)
    return EXIT_FAILED if any(r.gate in ("FAILED", "ERROR") for r in results) else EXIT_PASSED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tito",
        description="TinyTorch command line: run the book's historical milestones; "
        "benchmark, validate and rank Torch Olympics submissions.",
        epilog="The book's course commands (setup, module, update, community) manage "
        "classroom notebooks; here setup and module check the installed modules, and update "
        "and community say what to do instead.",
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
    add_olympics_parser(sub)
    add_course_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``tito`` console script (``pyproject.toml``) and ``python -m tinytorch.tito``."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # python -m tinytorch.tito.cli ...
    sys.exit(main())
