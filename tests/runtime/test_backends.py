"""Backend switching, and the backend contract a new backend plugs into."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.backends import Backend, base
from tinytorch.backends.numpy_backend import NumpyBackend


def test_unknown_backend_is_a_clear_error_listing_known_ones():
    with pytest.raises(ValueError, match="unknown backend 'nope'.*numpy"):
        tinytorch.set_backend("nope")
    with pytest.raises(ValueError, match="known backends"), tinytorch.backend("nope"):
        pass
    assert tinytorch.current_backend() == "numpy"  # state unchanged


class CountingBackend(Backend):
    """A new backend needs only ``compile``: here, the NumPy one plus a counter."""

    name = "counting"
    compiled = 0

    def compile(self, graph):
        CountingBackend.compiled += 1
        return NumpyBackend().compile(graph)


@pytest.fixture
def counting_backend(monkeypatch):
    """``counting`` is a known backend for this test only (registered here, not at import:
    other tests, and the order they run in, never see it)."""
    monkeypatch.setattr(base, "_INSTANCES", dict(base._INSTANCES))
    monkeypatch.setitem(base._BACKENDS, "counting", CountingBackend)
    CountingBackend.compiled = 0
    return CountingBackend


def test_a_new_backend_plugs_in_without_touching_the_frontend(counting_backend):
    x = Tensor(np.arange(6.0).reshape(2, 3))
    expected = (x.exp() @ x.transpose()).numpy()
    with tinytorch.backend("counting"):
        y = Tensor(np.arange(6.0).reshape(2, 3))
        got = (y.exp() @ y.transpose()).numpy()
        assert tinytorch.current_backend() == "counting"
    assert counting_backend.compiled >= 1
    np.testing.assert_allclose(got, expected)
    assert tinytorch.current_backend() == "numpy"


def test_a_backend_registered_by_a_test_is_gone_after_it():
    """The fixture unregisters: the package's own backends are all a later test sees."""
    assert "counting" not in tinytorch.available_backends()


def test_set_backend_changes_the_default(counting_backend):
    tinytorch.set_backend("counting")
    try:
        assert tinytorch.current_backend() == "counting"
    finally:
        tinytorch.set_backend("numpy")


def test_the_environment_variable_selects_the_backend(tmp_path):
    """``TINYTORCH_BACKEND=numpy`` gives the same values as ``set_backend``."""
    script = tmp_path / "prog.py"
    script.write_text(
        "import tinytorch\n"
        "from tinytorch import Tensor\n"
        "x = Tensor([[1.0, 2.0], [3.0, 4.0]])\n"
        "print(tinytorch.current_backend(), (x @ x + 1).sum().item())\n"
    )
    env = {**os.environ, "TINYTORCH_BACKEND": "numpy"}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "numpy"
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert float(out[1]) == pytest.approx((x @ x + 1).sum())
    env["TINYTORCH_BACKEND"] = "nope"
    bad = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "known backends: llvm, numpy" in bad.stderr
