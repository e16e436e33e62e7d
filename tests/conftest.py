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


# ---------------------------------------------------------------- every backend
# The op, frontend and training tests run once per registered backend: the same test must
# pass on the NumPy reference and on the LLVM JIT (the differential guarantee). A test that
# picks its backends itself (a ``backend`` parameter) is left alone.
EVERY_BACKEND_DIRS = {"ops", "frontend", "training", "language"}


def _package_backends() -> list[str]:
    """The backends tinytorch itself registers (not ones a test module adds for itself)."""
    import tinytorch

    return tinytorch.available_backends()


PACKAGE_BACKENDS = _package_backends()


def pytest_generate_tests(metafunc):
    if "each_backend" not in metafunc.fixturenames or "backend" in metafunc.fixturenames:
        return
    if Path(str(metafunc.definition.path)).parent.name in EVERY_BACKEND_DIRS:
        metafunc.parametrize("each_backend", PACKAGE_BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def each_backend(request):
    """Runs the test with ``request.param`` as the current backend (when parametrized)."""
    name = getattr(request, "param", None)
    if name is None:
        yield None
        return
    import tinytorch

    with tinytorch.backend(name):
        yield name
