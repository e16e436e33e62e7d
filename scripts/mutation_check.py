"""Plant known bugs one at a time and check that the tests catch each one.

A test suite that passes proves little unless it can fail. This script copies the package
and its tests into a temporary folder, then, for each planted bug ("mutant"), edits one line
of the copy, runs the tests that should notice, and restores the line. The working tree is
never modified. It reports, per mutant, CAUGHT (the tests failed) or MISSED (they passed),
and exits non-zero if any mutant was missed or if the tests fail before any bug is planted.

    python scripts/mutation_check.py            # every mutant (about a minute or two)
    python scripts/mutation_check.py --list     # what would be planted, and where
    python scripts/mutation_check.py fusion-different-axes gelu-vjp   # some of them

The mutants are bugs an audit of the suite planted (issue 14): two fusion-legality bugs that
only a value comparison on the llvm backend can see, a GELU gradient coefficient, an llvm
integer subtraction, a transposed MNIST image, and Adam's bias correction.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    path: str  # relative to the project root
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # pytest arguments (files, -k filters)


MUTANTS = [
    Mutant(
        "fusion-different-axes",
        "fusion lets reductions over different axes share a kernel",
        "tinytorch/passes/fusion.py",
        "elif (space, axes) != (group.space, group.axes):",
        "elif space != group.space:",
        (
            "tests/passes/test_fusion_legality_values.py",
            "tests/backends/test_llvm_differential.py",
            "-k",
            "values",
        ),  # fmt: skip
    ),
    Mutant(
        "fusion-broadcast-axes",
        "fusion drops the check that a reduction is broadcast back over its reduced axes",
        "tinytorch/passes/fusion.py",
        "if broadcast != reduced:",
        "if False:",
        (
            "tests/passes/test_fusion_legality_values.py",
            "tests/backends/test_llvm_differential.py",
            "-k",
            "values",
        ),  # fmt: skip
    ),
    Mutant(
        "gelu-vjp",
        "GELU's gradient uses 0.044715 where the derivative has 3 * 0.044715",
        "tinytorch/ir/ops/elementwise.py",
        "B.scale(x2, 3 * GELU_COEF)",
        "B.scale(x2, GELU_COEF)",
        ("tests/ops/test_op_gradients.py", "tests/frontend/test_autograd.py", "-k", "gelu"),
    ),
    Mutant(
        "llvm-int-sub",
        "the llvm backend subtracts integers with an add",
        "tinytorch/backends/llvm/lowering.py",
        'return {"add": b.add, "sub": b.sub, "mul": b.mul}[op](a, c)',
        'return {"add": b.add, "sub": b.add, "mul": b.mul}[op](a, c)',
        ("tests/ops/test_op_forward.py", "tests/frontend/test_frontend_ops.py", "-k", "llvm"),
    ),
    Mutant(
        "mnist-transposed",
        "the MNIST reader returns every image transposed",
        "tinytorch/data/datasets/mnist.py",
        "    return images, labels.astype(np.int64)",
        "    return images.transpose(0, 2, 1), labels.astype(np.int64)",
        ("tests/data/test_mnist_loader.py",),
    ),
    Mutant(
        "adam-bias-correction",
        "Adam corrects the second moment with beta1 instead of beta2",
        "tinytorch/optim/optimizers.py",
        "return 1.0 - self.beta1**t, 1.0 - self.beta2**t",
        "return 1.0 - self.beta1**t, 1.0 - self.beta1**t",
        ("tests/training/test_optimizers.py",),
    ),
]


def copy_project(dest: Path) -> None:
    """The package, its tests and pyproject.toml: what the planted tests need."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    for part in ("tinytorch", "tests"):
        shutil.copytree(ROOT / part, dest / part, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def run_tests(project: Path, args: tuple[str, ...]) -> tuple[bool, str]:
    """Run pytest in ``project`` on its own copy of the package; (passed, last lines)."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-rf", "-p", "no:cacheprovider",
           "-o", "addopts=", *args]  # fmt: skip
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    failed = [line.split(" - ")[0] for line in lines if line.startswith("FAILED")]
    return done.returncode == 0, " ".join(failed[:1] + lines[-1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to plant (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants {sorted(unknown)}; known: {[m.name for m in MUTANTS]}")
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.what}\n  {m.path}: {m.old!r} -> {m.new!r}\n"
                  f"  tests: {' '.join(m.tests)}")  # fmt: skip
        return 0
    with tempfile.TemporaryDirectory(prefix="tinytorch-mutants-") as tmp:
        project = Path(tmp)
        copy_project(project)
        for m in chosen:  # every mutant must still apply, and its tests pass unmutated
            if (project / m.path).read_text().count(m.old) != 1:
                print(f"{m.name}: the line to mutate is not found once in {m.path}")
                return 2
        for selection in dict.fromkeys(m.tests for m in chosen):
            ok, tail = run_tests(project, selection)
            if not ok:
                print(f"the tests fail before any bug is planted ({' '.join(selection)}): {tail}")
                return 2
        missed = []
        for m in chosen:
            target = project / m.path
            original = target.read_text()
            target.write_text(original.replace(m.old, m.new))
            start = time.perf_counter()
            try:
                passed, tail = run_tests(project, m.tests)
            finally:
                target.write_text(original)
            verdict = "MISSED" if passed else "CAUGHT"
            print(f"{verdict}  {m.name:22s} {time.perf_counter() - start:5.1f}s  {m.what}")
            print(f"        {tail}")
            if passed:
                missed.append(m.name)
    print(f"{len(chosen) - len(missed)} of {len(chosen)} planted bugs caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
