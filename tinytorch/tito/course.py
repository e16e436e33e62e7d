"""The book's course commands (Ch 3): ``tito setup``, ``tito module start|complete|status``,
``tito update`` and ``tito community login``.

In the book these manage a classroom: notebooks a learner fills in, exported into the
package, progress tracked between sessions. This framework has no notebooks: all 20 modules
are already implemented, each behind its book import path (:mod:`tinytorch.tito.modules`).
So that the book's commands still work as a learner types them, each does the part that
has a meaning here, and says plainly what it does not do:

* ``tito setup`` ("first-time setup, safe to re-run") verifies the installation: the
  Python version, NumPy, the backends, and that every module imports. It downloads and
  installs nothing (``pip install -e .`` did that).
* ``tito module status`` lists the 20 modules, each with its import path and whether it
  imports ("ready").
* ``tito module start N`` has no notebook to open: it names the module, its import path and
  the file that implements it.
* ``tito module complete N`` has nothing to export: it checks that the module's import path
  imports, as the book's export would make it (exit 1 when it does not).
* ``tito update`` and ``tito community login`` need the book's hosted services: they say
  how to update (git, pip) or that there is no community service, and exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

import tinytorch
from tinytorch.tito.contract import EXIT_FAILED, EXIT_PASSED
from tinytorch.tito.modules import MODULES, Module, find_module, import_error

MIN_PYTHON = (3, 10)  # pyproject.toml; the book's installer asks for 3.8+


def cmd_setup(args: argparse.Namespace) -> int:
    print("TinyTorch setup: checking this installation (nothing is downloaded or installed)\n")
    problems = []
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    print(f"  {'*' if ok else 'x'} Python {version} (needs {'.'.join(map(str, MIN_PYTHON))}+)")
    problems += [] if ok else ["Python too old"]
    for package in ("numpy", "llvmlite"):
        try:
            found: Any = importlib.import_module(package)
            print(f"  * {package} {getattr(found, '__version__', '')}")
        except ImportError as exc:
            print(f"  x {package}: {exc}")
            problems.append(package)
    print(f"  * backends: {', '.join(tinytorch.available_backends())}")
    broken = [m for m in MODULES if import_error(m) is not None]
    print(f"  {'x' if broken else '*'} modules: {len(MODULES) - len(broken)} of 20 ready")
    for m in broken:
        print(f"      x {m.label} ({m.path}): {import_error(m)}")
    problems += [m.label for m in broken]
    if problems:
        print(f"\nSetup is not complete: {', '.join(problems)}.")
        return EXIT_FAILED
    print("\nTinyTorch is ready. Next: `tito milestone list`, then `tito milestone run 01`.")
    return EXIT_PASSED


def _source_file(m: Module) -> str:
    module = importlib.import_module(m.path)
    return getattr(module, "__file__", None) or m.path


def cmd_module_status(args: argparse.Namespace) -> int:
    print("module                   status  import path")
    for m in MODULES:
        state = "ready" if import_error(m) is None else "BROKEN"
        print(f"{m.number:02d} {m.name:<21} {state:<7} {m.path}")
    print("\nEvery module is implemented in this framework (no notebooks to complete).")
    return EXIT_PASSED


def cmd_module_start(args: argparse.Namespace) -> int:
    m = find_module(args.number)
    print(f"{m.label}")
    print(f"  import path: {m.path}")
    error = import_error(m)
    print(f"  implemented in: {_source_file(m) if error is None else error}")
    print(
        f"No notebook to open ({m.folder}/ belongs to the book's course): in this framework "
        f"the module is already written.\nRead its code above; `tito module complete "
        f"{m.number:02d}` checks that it imports."
    )
    return EXIT_PASSED


def cmd_module_complete(args: argparse.Namespace) -> int:
    m = find_module(args.number)
    error = import_error(m)
    if error is not None:
        print(f"{m.label}: `import {m.path}` fails: {error}")
        return EXIT_FAILED
    print(f"{m.label} is part of the package: `import {m.path}` works (nothing to export).")
    return EXIT_PASSED


def cmd_update(args: argparse.Namespace) -> int:
    print(
        "tito update is not available in this framework: update it with git and pip\n"
        "(`git pull && pip install -e .` in your checkout); tito never changes your files."
    )
    return EXIT_FAILED


def cmd_community(args: argparse.Namespace) -> int:
    print(
        "tito community is not available in this framework: there is no TinyTorch community\n"
        "service to log into from here (the book's Community Guide describes it)."
    )
    return EXIT_FAILED


def add_course_parsers(sub: Any) -> None:
    """``setup``, ``module``, ``update`` and ``community`` on the ``tito`` parser."""
    setup = sub.add_parser("setup", help="first-time setup (safe to re-run): verify the install")
    setup.set_defaults(func=cmd_setup)
    module = sub.add_parser("module", help="the book's 20 modules: status, start, complete")
    msub = module.add_subparsers(dest="action", required=True)
    status = msub.add_parser("status", help="each module's import path and whether it imports")
    status.set_defaults(func=cmd_module_status)
    begin = msub.add_parser("start", help="where module N lives (no notebooks here)")
    begin.add_argument("number", help="01-20 (or a name: tensor, spatial, ...)")
    begin.set_defaults(func=cmd_module_start)
    done = msub.add_parser("complete", help="check that module N imports (nothing to export)")
    done.add_argument("number", help="01-20 (or a name: tensor, spatial, ...)")
    done.set_defaults(func=cmd_module_complete)
    update = sub.add_parser("update", help="not available: says how to update (git, pip)")
    update.set_defaults(func=cmd_update)
    community = sub.add_parser("community", help="not available: no community service here")
    csub = community.add_subparsers(dest="action", required=True)
    csub.add_parser("login", help="not available").set_defaults(func=cmd_community)


__all__ = ["add_course_parsers"]
