"""Suite-wide set-up: scripts run in subprocesses import this checkout's tinytorch, and every
test starts on the default backend with the default pipeline."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
)


@pytest.fixture(autouse=True)
def _default_runtime_state():
    import tinytorch

    yield
    tinytorch.set_backend("numpy")
    tinytorch.set_pipeline(None)
    tinytorch.set_debug(0)
