"""Differential testing: random programs give the same answers on ``llvm`` as on ``numpy``.

Hypothesis writes small random programs with the public Tensor API: unary math, broadcasting
arithmetic with tensors and Python scalars, comparisons feeding ``tinytorch.where``, ``clip``,
``pow``, reductions over random axes, ``softmax``, reshapes, permutes, expands, strided and
reversed slices, integer-list indexing, ``concat``, ``astype`` and ``matmul``, over float32,
float64, int64 and bool inputs whose shapes include size-1 and empty dimensions, some of them
non-contiguous (realized transposes and strided slices). The program is built and realized
once per backend (the draws are recorded on the first run and replayed on the second), and
the results must agree:

* integers and booleans exactly;
* floats with NaN in the same places, infinities in the same places with the same sign, and
  the other values within ``rtol * |expected| + atol * scale``, where ``scale`` is the
  largest finite magnitude of that output (float32: rtol 2e-5, atol 1e-6; float64: 1e-9 and
  1e-12). The llvm backend fuses with FMA contraction, sums in vector lanes (``reassoc``)
  and uses its own exp/log/tanh, so last bits differ; this tolerance says "the same function
  up to rounding", no more.

Some inputs are kept away from places where rounding alone decides a discrete answer, since
there the backends may legitimately disagree: a comparison between two computed values that
differ by an ulp, or a float NaN/inf/huge value cast to an integer (undefined in C and LLVM;
NumPy gives INT64_MIN). The program clips before such casts; comparisons take one side from
the data and the other from a constant grid the data avoids.

``TINYTORCH_HYPOTHESIS_EXAMPLES=5000 pytest tests/backends/test_llvm_differential.py`` runs
thousands of programs (the default is a few hundred, to keep the suite fast).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinytorch
from tinytorch import Tensor
from tinytorch.frontend import functional as F
from tinytorch.ir.errors import DTypeError, ShapeError

EXAMPLES = int(os.environ.get("TINYTORCH_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOLERANCE = {"float32": (2e-5, 1e-6), "float64": (1e-9, 1e-12)}
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
DTYPES = ["float32", "float32", "float32", "float64", "int64", "bool"]
DIMS = [1, 2, 3, 4, 2, 3, 5, 0]  # sizes of an axis (hypothesis shrinks toward 1)
SCALARS = [2.0, -1.5, 0.5, 3, -2, 0.0, 1e-3]
POWERS = [2, 3, 0.5, -1, 1.5, -2, 1, 0]
UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "abs", "neg"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]
COMPARE = ["lt", "le", "gt", "ge", "eq", "ne"]
REDUCE = ["sum", "max", "min", "mean", "var"]


class Tape:
    """Hypothesis draws, recorded while the program is built the first time and replayed
    when it is built again, so that both backends run exactly the same program."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.values: list = []
        self.position: int | None = None

    def draw(self, strategy: st.SearchStrategy):
        if self.position is None:
            value = self.data.draw(strategy)
            self.values.append(value)
            return value
        value = self.values[self.position]
        self.position += 1
        return value

    def pick(self, options: list):
        return self.draw(st.sampled_from(options))

    def replay(self) -> Tape:
        self.position = 0
        return self


class Program:
    """One random program. Every decision comes from the tape, every number from a NumPy
    generator seeded from the tape, so building it twice builds the same graph."""

    def __init__(self, tape: Tape, grad: bool = False) -> None:
        self.tape = tape
        self.grad = grad
        self.rng = np.random.default_rng(tape.draw(st.integers(0, 2**32 - 1)))
        self.special_rate = tape.pick([0.0, 0.0, 0.1, 0.3]) if not grad else 0.0
        self.leaves: list[Tensor] = []  # tensors the gradient test differentiates against
        self.pool: list[Tensor] = []

    # ------------------------------------------------------------------ data
    def array(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if dtype == "bool":
            return self.rng.random(shape) < 0.5
        if dtype == "int64":
            return self.rng.integers(-4, 5, shape).astype(np.int64)
        values = np.asarray(self.rng.standard_normal(shape) * self.rng.choice([0.5, 1.0, 3.0]))
        if self.special_rate:
            mask = self.rng.random(shape) < self.special_rate
            values[mask] = self.rng.choice(SPECIALS, size=int(mask.sum()))
        # Keep data off the comparison grid (multiples of 1/4), so that an ulp of rounding
        # cannot flip a comparison against a grid constant.
        values = np.where(np.abs(values * 4 - np.round(values * 4)) < 1e-3, values + 0.01, values)
        return values.astype(dtype)

    def leaf(self, shape: tuple[int, ...], dtype: str | None = None) -> Tensor:
        """A new input, sometimes a non-contiguous realized view of a larger tensor."""
        dtype = dtype or self.tape.pick(DTYPES)
        grad = self.grad and dtype.startswith("float")
        layout = self.tape.pick(["plain", "plain", "transposed", "strided", "reversed"])
        if layout == "transposed" and len(shape) >= 2:
            base = Tensor(self.array(shape[::-1], dtype), dtype=dtype, requires_grad=grad)
            t = base.permute(*range(len(shape) - 1, -1, -1))
        elif layout == "strided" and len(shape) >= 1:
            big = (shape[0] * 2,) + shape[1:]
            base = Tensor(self.array(big, dtype), dtype=dtype, requires_grad=grad)
            t = base[::2]
        elif layout == "reversed" and len(shape) >= 1:
            base = Tensor(self.array(shape, dtype), dtype=dtype, requires_grad=grad)
            t = base[::-1]
        else:
            base = t = Tensor(self.array(shape, dtype), dtype=dtype, requires_grad=grad)
        if t is not base:
            t.data  # noqa: B018  (realized now: later graphs read it as a strided array)
        self.leaves.append(base)
        return t

    def shape(self, max_dims: int = 3) -> tuple[int, ...]:
        return tuple(self.tape.draw(st.lists(st.sampled_from(DIMS), max_size=max_dims)))

    def operand(self) -> Tensor:
        """Any tensor so far, most often the newest, so that chains grow deep."""
        return self.pool[-1] if self.tape.draw(st.booleans()) else self.tape.pick(self.pool)

    def partner(self, shape: tuple[int, ...]) -> Tensor | float:
        """Something that broadcasts against ``shape``: a Python scalar, a tensor of the
        pool whose shape fits, or a new input with some axes dropped or set to 1."""
        kind = self.tape.pick(["scalar", "pool", "leaf", "leaf"])
        if kind == "scalar":
            return self.tape.pick(SCALARS)
        if kind == "pool":
            fits = [t for t in self.pool if _broadcasts(t.shape, shape)]
            if fits:
                return self.tape.pick(fits)
        drop = self.tape.draw(st.integers(0, len(shape)))
        ones = [self.tape.draw(st.booleans()) for _ in shape[drop:]]
        return self.leaf(tuple(1 if o else d for o, d in zip(ones, shape[drop:], strict=True)))

    # ------------------------------------------------------------------- ops
    def unary(self, x: Tensor) -> Tensor:
        op = self.tape.pick(UNARY)
        if op == "log":
            return (x.abs() + 0.1).log()
        if op == "sqrt":
            return x.abs().sqrt()
        if op == "neg":
            return -x
        return getattr(x, op)()

    def binary(self, x: Tensor) -> Tensor:
        op = self.tape.pick(BINARY)
        other = self.partner(x.shape)
        a, b = (other, x) if self.tape.draw(st.booleans()) else (x, other)
        if op in ("maximum", "minimum"):
            return getattr(F, op)(a, b)
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b}[op]()  # fmt: skip

    def select(self, x: Tensor) -> Tensor:
        """``where(x <op> grid constant, x, other)``."""
        op = self.tape.pick(COMPARE)
        threshold = self.tape.pick([0.0, 0.25, -0.5, 1.0, 2.0])
        cond = F.compare(op, x, threshold)
        other = self.partner(x.shape)
        return tinytorch.where(cond, x, other) if self.tape.draw(st.booleans()) else \
            tinytorch.where(cond, other, x)  # fmt: skip

    def clip(self, x: Tensor) -> Tensor:
        lo, hi = sorted(self.tape.draw(st.lists(st.sampled_from([-1.0, -0.25, 0.0, 0.5, 2.0]),
                                                min_size=2, max_size=2)))  # fmt: skip
        which = self.tape.pick(["both", "lo", "hi"])
        return x.clip(lo if which != "hi" else None, hi if which != "lo" else None)

    def power(self, x: Tensor) -> Tensor:
        return x ** self.tape.pick(POWERS)

    def reduce(self, x: Tensor) -> Tensor:
        op = self.tape.pick(REDUCE)
        keepdims = self.tape.draw(st.booleans())
        axes = [a for a in range(x.ndim) if self.tape.draw(st.booleans())]
        form = self.tape.pick(["none", "int", "tuple"])
        if form == "none" or not axes:
            axis = None
        elif form == "int":
            axis = axes[0] - x.ndim * self.tape.draw(st.booleans())  # sometimes negative
        else:
            axis = tuple(axes)
        return getattr(x, op)(axis=axis, keepdims=keepdims)

    def softmax(self, x: Tensor) -> Tensor:
        if x.ndim == 0:
            return x.softmax(0) if self.tape.draw(st.booleans()) else x
        return x.softmax(self.tape.draw(st.integers(-x.ndim, x.ndim - 1)))

    def reshape(self, x: Tensor) -> Tensor:
        how = self.tape.pick(["flatten", "unsqueeze", "squeeze", "merge", "split"])
        if how == "flatten":
            return x.reshape(-1)
        if how == "unsqueeze":
            return x.unsqueeze(self.tape.draw(st.integers(0, x.ndim)))
        if how == "squeeze" or x.ndim < 2:
            return x.squeeze()
        k = self.tape.draw(st.integers(0, x.ndim - 2))
        if how == "merge":
            return x.reshape(*x.shape[:k], x.shape[k] * x.shape[k + 1], *x.shape[k + 2 :])
        d = x.shape[k]
        f = next((f for f in (2, 3) if d % f == 0 and d > f), 1)
        return x.reshape(*x.shape[:k], f, d // f, *x.shape[k + 1 :])

    def permute(self, x: Tensor) -> Tensor:
        if self.tape.draw(st.booleans()) and x.ndim >= 2:
            return x.transpose(*self.tape.draw(st.permutations(range(x.ndim)))[:2])
        return x.permute(*self.tape.draw(st.permutations(range(x.ndim))))

    def expand(self, x: Tensor) -> Tensor:
        lead = [self.tape.pick([1, 2, 3]) for _ in range(self.tape.draw(st.integers(0, 1)))]
        dims = [self.tape.pick([1, 2, 3]) if d == 1 else d for d in x.shape]
        return x.expand(*lead, *dims)

    def slice(self, x: Tensor) -> Tensor:
        key = []
        for d in x.shape:
            kind = self.tape.pick(["all", "slice", "slice", "int"])
            if kind == "int" and d > 0:
                key.append(self.tape.draw(st.integers(-d, d - 1)))
            elif kind == "slice":
                start = self.tape.pick([None, 0, 1, -1, -2])
                stop = self.tape.pick([None, 3, -1, 1])
                key.append(slice(start, stop, self.tape.pick([1, 2, 3, -1, -2])))
            else:
                key.append(slice(None))
        return x[tuple(key)]

    def index(self, x: Tensor) -> Tensor:
        axis = self.tape.draw(st.integers(0, x.ndim - 1)) if x.ndim else 0
        if x.ndim == 0 or x.shape[axis] == 0:
            return x
        d = x.shape[axis]
        rows = self.tape.draw(st.lists(st.integers(-d, d - 1), min_size=1, max_size=4))
        return x[(slice(None),) * axis + (rows,)]

    def concat(self, x: Tensor) -> Tensor:
        if x.ndim == 0:
            return x
        axis = self.tape.draw(st.integers(0, x.ndim - 1))
        shape = list(x.shape)
        shape[axis] = self.tape.pick([0, 1, 2])
        other = x if self.tape.draw(st.booleans()) else self.leaf(tuple(shape))
        return tinytorch.concat([x, other] if self.tape.draw(st.booleans()) else [other, x],
                                axis=axis)  # fmt: skip

    def astype(self, x: Tensor) -> Tensor:
        dtype = self.tape.pick(["float32", "float64", "int64", "bool"])
        if dtype == "int64" and x.dtype.kind == "f":
            # NaN, inf and out-of-range floats have no integer value (C and LLVM leave it
            # undefined); give the cast only numbers it is defined on.
            x = tinytorch.where(x != x, 0.0, x).clip(-1e6, 1e6)
        return x.astype(dtype)

    def matmul(self, x: Tensor) -> Tensor:
        if x.ndim == 0:
            return x
        if x.ndim >= 2 and self.tape.draw(st.booleans()):
            return x @ x.transpose(-1, -2)  # (.., m, k) @ (.., k, m)
        n = self.tape.pick([1, 3, 0])
        w = self.leaf((x.shape[-1], n) if self.tape.draw(st.booleans()) else (x.shape[-1],),
                      dtype=self.tape.pick(["float32", "float32", "float64", "int64"]))  # fmt: skip
        return x @ w

    STEPS = ["unary", "unary", "binary", "binary", "binary", "select", "clip", "power",
             "reduce", "reduce", "softmax", "reshape", "permute", "expand", "slice", "index",
             "concat", "astype", "matmul"]  # fmt: skip

    # ----------------------------------------------------------------- build
    def build(self) -> list[Tensor]:
        for _ in range(self.tape.draw(st.integers(1, 3))):
            self.pool.append(self.leaf(self.shape()))
        for _ in range(self.tape.draw(st.integers(1, 6))):
            step = self.tape.pick(self.STEPS)
            x = self.operand()
            try:
                out = getattr(self, step)(x)
            except (ShapeError, DTypeError):
                continue  # refused at the user's line, identically on both runs
            self.pool.append(out)
        outputs = [self.pool[-1]]
        for t in self.tape.draw(st.lists(st.sampled_from(self.pool), max_size=2)):
            if all(t is not o for o in outputs):
                outputs.append(t)
        return outputs


def _broadcasts(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    if len(small) > len(big):
        return False
    return all(s in (1, b) for s, b in zip(small[::-1], big[::-1], strict=False))


def run_program(tape: Tape, backend: str) -> list[np.ndarray]:
    with tinytorch.backend(backend):
        outputs = Program(tape).build()
        tinytorch.realize(*outputs)
        return [t.numpy() for t in outputs]


def assert_close(expected: np.ndarray, got: np.ndarray, what: str) -> None:
    """Equal for integers and booleans; for floats NaN and inf where NumPy has them and the
    rest within the dtype's tolerance, relative to the output's own scale."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.name not in TOLERANCE:
        np.testing.assert_array_equal(got, expected, err_msg=what)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=f"{what}: NaNs")
    infinite = np.isinf(expected)
    np.testing.assert_array_equal(np.isinf(got), infinite, err_msg=f"{what}: infinities")
    np.testing.assert_array_equal(got[infinite], expected[infinite], err_msg=f"{what}: inf sign")
    finite = np.isfinite(expected)
    if not finite.any():
        return
    rtol, atol = TOLERANCE[expected.dtype.name]
    scale = max(1.0, float(np.abs(expected[finite]).max()))
    np.testing.assert_allclose(got[finite], expected[finite], rtol=rtol, atol=atol * scale,
                               err_msg=what)  # fmt: skip


@SETTINGS
@given(st.data())
def test_random_programs_give_the_same_values_on_llvm_and_numpy(data):
    """llvm == numpy on a random program (within the dtype's tolerance)."""
    tape = Tape(data)
    expected = run_program(tape, "numpy")
    got = run_program(tape.replay(), "llvm")
    for k, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert_close(e, g, f"output {k}")


def run_gradients(tape: Tape, backend: str) -> list[np.ndarray | None]:
    with tinytorch.backend(backend):
        program = Program(tape, grad=True)
        out = program.build()[0]
        if out.dtype.kind != "f" or not out.requires_grad:
            return []
        weights = np.random.default_rng(7).standard_normal(out.shape).astype(out.dtype)
        (out * Tensor(weights, dtype=out.dtype)).sum().backward()
        grads = [leaf.grad for leaf in program.leaves]
        tinytorch.realize(*(g for g in grads if g is not None))
        return [None if g is None else g.numpy() for g in grads]


@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))
@given(st.data())
def test_random_programs_give_the_same_gradients_on_llvm_and_numpy(data):
    """x.grad of (out * R).sum() agrees between llvm and numpy for every input x."""
    tape = Tape(data)
    expected = run_gradients(tape, "numpy")
    got = run_gradients(tape.replay(), "llvm")
    assert len(got) == len(expected)
    for k, (e, g) in enumerate(zip(expected, got, strict=True)):
        assert (e is None) == (g is None), f"grad {k}: None on one backend only"
        if e is not None:
            assert_close(e, g, f"grad of input {k}")


def test_the_tape_replays_the_same_program():
    """Building twice from one tape gives the same graph (the harness's own check)."""

    @settings(max_examples=20, deadline=None)
    @given(st.data())
    def check(data):
        from tinytorch.ir.graph import Capture

        tape = Tape(data)
        first = Capture([t._node for t in Program(tape).build()]).signature
        second = Capture([t._node for t in Program(tape.replay()).build()]).signature
        assert first == second

    check()


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_a_fixed_program_with_every_feature_agrees(dtype):
    """One hand-written program touching views, NaN and broadcasting agrees exactly."""

    def program():
        x = Tensor(np.arange(24, dtype=dtype).reshape(2, 3, 4) - 5, dtype=dtype)
        v = x.permute(2, 0, 1)[::-2, :, 1:]
        v.data  # noqa: B018  (a realized, non-contiguous view)
        y = tinytorch.where(v > 0, v * 2, -v) + v.sum(axis=0, keepdims=True)
        return [y, y.max(axis=-1), y.astype("float32").softmax(-1)]

    with tinytorch.backend("numpy"):
        expected = [t.numpy() for t in program()]
    with tinytorch.backend("llvm"):
        got = [t.numpy() for t in program()]
    for e, g in zip(expected, got, strict=True):
        assert_close(e, g, "fixed program")
