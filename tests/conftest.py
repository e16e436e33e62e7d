"""Suite-wide set-up: scripts run in subprocesses import this checkout's tinytorch, every
test starts on the default backend with the default pipeline, and the op, frontend and
training tests run once per backend, where an ``[llvm]`` test must prove a kernel ran.

Markers (see ``pytest --markers``):

* ``backend_independent``: the test checks something no backend takes part in (the IR,
  shape rules, an error raised at the user's line); it runs once, not once per backend.
* ``llvm_fallback_ok(reason=...)``: on llvm, a fused group of this test may run on NumPy
  (an uncompiled dtype, say), and it need not run a compiled kernel; the reason says why.
* ``llvm_no_kernel(reason=...)``: on llvm this test runs no compiled kernel by design
  (matmul on BLAS, an opaque op alone, a view, a value already computed); the reason says
  why.

Options: ``--llvm-step-loop`` keeps llvm plans on the step loop for their first run (as in
normal use; by default the suite writes every plan out as straight-line Python first, so
that tests check what repeated runs execute); ``--llvm-no-codegen`` makes the llvm code
generator refuse every group (so every ``[llvm]`` test that is not marked
``llvm_fallback_ok`` must fail: the guarantee is checked by
``tests/backends/test_llvm_strict.py``); ``--reverse-order`` runs the collected tests in
reverse order and ``--shuffle SEED`` in a random order (the suite must not depend on its
order; neither needs a plugin).
"""

import os
import random
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests draw new random examples on every run (more bugs found over time), except
# in CI: HYPOTHESIS_PROFILE=ci (set by .ci/run) replays a fixed set, so a landing is never
# decided by which examples happened to be drawn. A failure found locally is replayed from
# Hypothesis's example database until fixed.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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

MARKERS = {
    "backend_independent": "runs once, not once per backend: no backend takes part in it",
    "llvm_fallback_ok(reason)": "on llvm, fused groups may run on NumPy; the reason says why",
    "llvm_no_kernel(reason)": "on llvm, runs plans but no compiled kernel; the reason says why",
}


def pytest_addoption(parser):
    parser.addoption(
        "--llvm-no-codegen",
        action="store_true",
        help="the llvm code generator refuses every group (strictness check)",
    )
    parser.addoption(
        "--llvm-step-loop",
        action="store_true",
        help="llvm plans keep the step loop for their first run, as in normal use (the "
        "suite otherwise writes every plan out as straight-line Python before its first run)",
    )
    parser.addoption(
        "--reverse-order",
        action="store_true",
        help="run the collected tests in reverse order (order-independence check)",
    )
    parser.addoption(
        "--shuffle",
        type=int,
        default=None,
        metavar="SEED",
        help="run the collected tests in a random order drawn from SEED",
    )


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if config.getoption("--llvm-no-codegen"):
        _refuse_codegen()
    if not config.getoption("--llvm-step-loop"):
        # Most tests run each plan once, which in normal use takes the step loop; the
        # straight-line runner (backends/llvm/runner.py) that later runs use must be what
        # they check. The step loop stays covered by tests/backends/test_llvm_runner.py,
        # every profiled run, and --llvm-step-loop.
        from tinytorch.backends.llvm import executable

        executable.RUNNER_AFTER_RUNS = 0


def pytest_collection_modifyitems(config, items):
    if config.getoption("--reverse-order"):
        items.reverse()
    seed = config.getoption("--shuffle")
    if seed is not None:
        random.Random(seed).shuffle(items)


def _refuse_codegen() -> None:
    """Make every fused group fail to generate, so it runs on NumPy (a fallback)."""
    from tinytorch.backends.llvm import codegen
    from tinytorch.backends.llvm.lltypes import Unsupported

    def refuse(self, module=None):
        raise Unsupported("code generation disabled (--llvm-no-codegen)")

    codegen.KernelBuilder.build = refuse


def _package_backends() -> list[str]:
    """The backends tinytorch itself registers (not ones a test module adds for itself)."""
    import tinytorch

    return tinytorch.available_backends()


PACKAGE_BACKENDS = _package_backends()


def pytest_generate_tests(metafunc):
    if "each_backend" not in metafunc.fixturenames or "backend" in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("backend_independent"):
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


# ---------------------------------------------------------------- llvm really ran
def _reason(item, marker: str) -> str | None:
    """The reason a test gives for ``marker`` (None: not marked). A marker without a reason
    is an error: an exemption must say why."""
    mark = item.get_closest_marker(marker)
    if mark is None:
        return None
    reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
    if not reason:
        pytest.fail(f"@pytest.mark.{marker} needs reason=...: say why", pytrace=False)
    return reason


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """An ``[llvm]`` test (the ``each_backend`` fixture's, or a test of these directories
    that picks its ``backend`` itself) must run the llvm backend, run at least one compiled
    kernel, and have no fused group fall back to NumPy (unless a marker says why not)."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    on_llvm = params.get("each_backend", params.get("backend")) == "llvm"
    if not on_llvm or Path(str(item.path)).parent.name not in EVERY_BACKEND_DIRS:
        return (yield)
    from tinytorch.backends.llvm import executable

    runs = {"plans": 0, "kernels": 0, "fallbacks": {}}

    def listen(exe) -> None:
        runs["plans"] += 1
        runs["kernels"] += exe.kernels
        for why in exe.fallbacks:
            runs["fallbacks"][why] = runs["fallbacks"].get(why, 0) + 1

    previous = executable.set_run_listener(listen)
    try:
        result = yield
    finally:
        executable.set_run_listener(previous)
    fallback_ok = _reason(item, "llvm_fallback_ok")
    no_kernel = _reason(item, "llvm_no_kernel")
    if runs["plans"] == 0 and no_kernel is None:
        pytest.fail(
            "this [llvm] test never ran a plan on the llvm backend: if no backend takes part "
            "in it, mark it @pytest.mark.backend_independent (it then runs once)",
            pytrace=False,
        )
    if runs["fallbacks"] and fallback_ok is None:
        lines = "\n  ".join(f"{why} (x{k})" for why, k in runs["fallbacks"].items())
        pytest.fail(
            f"fused groups fell back to NumPy on llvm:\n  {lines}\nfix the backend, or mark "
            "the test @pytest.mark.llvm_fallback_ok(reason=...) saying why",
            pytrace=False,
        )
    if runs["kernels"] == 0 and fallback_ok is None and no_kernel is None:
        pytest.fail(
            f"this [llvm] test ran {runs['plans']} plan(s) but no compiled kernel: make it "
            "compute something a kernel computes, or mark it "
            "@pytest.mark.llvm_no_kernel(reason=...)",
            pytrace=False,
        )
    return result


class LLVMExempt:
    """Per-case exemptions for a parametrized table (a marker for this test id only, when
    only some of its cases need one). Each says why."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request

    def no_kernel(self, reason: str) -> None:
        self.request.applymarker(pytest.mark.llvm_no_kernel(reason=reason))

    def fallback(self, reason: str) -> None:
        self.request.applymarker(pytest.mark.llvm_fallback_ok(reason=reason))

    def if_kernel_free(self, op: str) -> None:
        """Exempt this case from the kernel check when ``op`` has no kernel by design: a view
        (index arithmetic, or a NumPy view when alone) or an op that runs alone (matmul on
        BLAS; gather, concat, windows... on NumPy; argmax)."""
        from tinytorch.ir.families import is_elementwise, is_reduction, is_view

        if is_view(op) or not (is_elementwise(op) or is_reduction(op)):
            self.no_kernel(f"{op} runs without a compiled kernel by design")

    def if_not_compiled(self, dtype: str) -> None:
        """Exempt this case from the fallback check when llvm does not compile ``dtype``."""
        from tinytorch.backends.llvm.lltypes import COMPILED_DTYPES

        if dtype not in COMPILED_DTYPES:
            self.fallback(f"llvm does not compile {dtype}: the group runs on NumPy")


@pytest.fixture
def llvm_exempt(request: pytest.FixtureRequest) -> LLVMExempt:
    """``llvm_exempt.no_kernel(reason)``, ``.fallback(reason)``, ``.if_kernel_free(op)``,
    ``.if_not_compiled(dtype)``: exemptions for one case of a parametrized test."""
    return LLVMExempt(request)


# ---------------------------------------------------------------- shared references
def central_difference(
    loss: Callable[..., float], arrays: Sequence[np.ndarray], k: int, eps: float = 1e-6
) -> np.ndarray:
    """d loss / d arrays[k], one element at a time: (L(x + eps) - L(x - eps)) / (2 eps),
    in float64 (the caller's arrays are not changed)."""
    arrays = list(arrays)
    x = arrays[k] = np.array(arrays[k], dtype=np.float64)
    grad = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        plus = loss(*arrays)
        x[j] = old - eps
        minus = loss(*arrays)
        x[j] = old
        grad[j] = (plus - minus) / (2 * eps)
    return grad


@pytest.fixture(scope="session")
def numeric_grad() -> Callable[..., np.ndarray]:
    """``numeric_grad(loss, arrays, k)``: the central finite difference (a reference that
    knows nothing of tinytorch's autograd)."""
    return central_difference


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from the test's node id (stable across runs and machines)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
