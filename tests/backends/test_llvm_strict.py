"""The ``[llvm]`` half of the suite cannot pass without llvm.

``tests/conftest.py`` fails an ``[llvm]`` test that never ran the llvm backend, ran no
compiled kernel, or had a fused group fall back to NumPy, unless a marker says why. These
tests run pytest in a subprocess to show both sides: a probe file whose tests break each rule
(they must fail, and pass once marked), and real suite files run with the code generator
refusing every group (``--llvm-no-codegen``): every ``[llvm]`` test must then fail, and
every ``[numpy]`` test still pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent

PROBE = """
import numpy as np
import pytest

from tinytorch import Tensor


def test_compiles():
    assert (Tensor(np.ones(3)) * 2 + 1).tolist() == [3.0, 3.0, 3.0]


def test_float16_falls_back():
    assert (Tensor(np.ones(3), dtype="float16") * 2).tolist() == [2.0, 2.0, 2.0]


@pytest.mark.llvm_fallback_ok(reason="float16 is not compiled by llvm")
def test_float16_falls_back_marked():
    assert (Tensor(np.ones(3), dtype="float16") * 2).tolist() == [2.0, 2.0, 2.0]


@pytest.mark.llvm_fallback_ok()
def test_exemption_without_a_reason():
    assert (Tensor(np.ones(3), dtype="float16") * 2).tolist() == [2.0, 2.0, 2.0]


def test_view_only():
    assert Tensor(np.arange(4.0)).reshape(2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]


@pytest.mark.llvm_no_kernel(reason="a reshape is a NumPy view")
def test_view_only_marked():
    assert Tensor(np.arange(4.0)).reshape(2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]


def test_never_realizes():
    assert (Tensor(np.ones(3)) * 2).shape == (3,)


@pytest.mark.backend_independent
def test_never_realizes_marked():
    assert (Tensor(np.ones(3)) * 2).shape == (3,)
"""


def run_pytest(
    paths: list[Path], xml: Path, *options: str, env: dict | None = None
) -> dict[str, str]:
    """Run pytest on ``paths`` (files of this suite, or files elsewhere, which then get this
    suite's conftest as a plugin); ``{test id: outcome}``."""
    env = {**(env or os.environ), "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    plugin = [] if all(TESTS in p.parents for p in paths) else ["-p", "conftest"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
           *plugin, "-o", "addopts=", f"--junitxml={xml}", *options, *map(str, paths)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert xml.exists(), done.stdout + done.stderr
    outcomes = {}
    for case in ET.parse(xml).iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcomes[case.get("name")] = "failed" if failed else "skipped" if skipped else "passed"
    return outcomes


def test_each_rule_fails_an_llvm_test_unless_a_marker_says_why(tmp_path: Path) -> None:
    probe = tmp_path / "ops" / "test_probe.py"  # "ops": a directory run on every backend
    probe.parent.mkdir()
    probe.write_text(textwrap.dedent(PROBE))
    got = run_pytest([probe], tmp_path / "probe.xml")
    want = {
        "test_compiles[llvm]": "passed",
        "test_float16_falls_back[llvm]": "failed",
        "test_float16_falls_back_marked[llvm]": "passed",
        "test_exemption_without_a_reason[llvm]": "failed",
        "test_view_only[llvm]": "failed",
        "test_view_only_marked[llvm]": "passed",
        "test_never_realizes[llvm]": "failed",
        "test_never_realizes_marked": "passed",  # runs once, not per backend
    }
    for name in list(want):  # the NumPy reference has nothing to prove: all pass
        if name.endswith("[llvm]"):
            want[name.replace("[llvm]", "[numpy]")] = "passed"
    assert got == want


def test_with_code_generation_disabled_every_llvm_test_fails(tmp_path: Path) -> None:
    """Real suite files whose ``[llvm]`` tests carry no exemption (the suite itself runs
    them normally, where they pass): with the code generator refusing every group they
    must all fail, while the ``[numpy]`` and backend-independent tests still pass."""
    files = [TESTS / "training" / "test_losses.py", TESTS / "frontend" / "test_activations.py"]
    refused = run_pytest(files, tmp_path / "refused.xml", "--llvm-no-codegen")
    llvm = sorted(name for name in refused if "[llvm" in name)
    assert len(llvm) > 20
    assert {name: refused[name] for name in llvm} == dict.fromkeys(llvm, "failed")
    assert {refused[name] for name in refused if name not in llvm} == {"passed"}


def test_with_code_generation_disabled_the_differential_test_fails(tmp_path: Path) -> None:
    """``llvm == numpy`` proves nothing if llvm quietly ran NumPy: it must fail then."""
    files = [TESTS / "backends" / "test_llvm_differential.py"]
    few = {**os.environ, "TINYTORCH_HYPOTHESIS_EXAMPLES": "5"}
    got = run_pytest(files, tmp_path / "refused.xml", "--llvm-no-codegen", env=few)
    compared = [name for name in got if "tape" not in name]  # the tape test runs no backend
    assert len(compared) >= 5 and {got[name] for name in compared} == {"failed"}, got
