"""The one way these tests run a milestone script: as a subprocess of its own, plain
progress output, and no ``TINYTORCH_DATA_DIR`` from the caller's environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

MILESTONES = Path(__file__).resolve().parents[2] / "milestones"


def _run(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYTORCH_PROGRESS": "plain", **(env or {})}
    env.pop("TINYTORCH_DATA_DIR", None)
    return subprocess.run(
        [sys.executable, str(MILESTONES / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def run_milestone():
    """``run_milestone("03_1986_mlp/01_rumelhart_tinydigits.py", "--smoke")``."""
    return _run
