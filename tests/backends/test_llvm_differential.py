"""Differential testing: random programs give the same answers on ``llvm`` as on ``numpy``.

Hypothesis writes small random programs with the public Tensor API: unary math, broadcasting
arithmetic with tensors and Python scalars, comparisons feeding ``tinytorch.where``, ``clip``,
``pow``, reductions over random axes, ``softmax``, reshapes, permutes, expands, strided and
reversed slices, integer-list indexing, ``concat``, ``astype`` and ``matmul``, over float32,
float64, int64 and bool inputs whose shapes include size-1 and empty dimensions, some of them
non-contiguous (realized transposes and strided slices). The program is built and realized
once per backend (the draws are recorded on the first run and replayed on the second), and
the results must agree:

How close is "agree"? The llvm backend fuses with FMA contraction, sums in vector lanes
(``reassoc``) and uses its own exp/log/tanh, so last bits differ, and a random program can
amplify them (``exp(exp(exp(x)))``). So each program also runs on numpy *lifted*: its float32
inputs given as float64, same values. Where numpy's float32 answer and the lifted one differ,
that difference is numpy's own rounding error, and llvm may err as much (four times it):

* integers and booleans exactly, except where numpy's float32 and float64 runs disagree
  (there rounding decided, e.g. a comparison of values an ulp apart);
* floats with NaN and infinities in the same places (same sign), except where the float32
  and float64 runs disagree (an overflow on the edge), and the other values within
  ``4 * |numpy - lifted| + rtol * |numpy| + atol * scale``, ``scale`` being the output's
  largest finite magnitude (float32: rtol 2e-5, atol 1e-6; float64: 1e-9, 1e-12; a float64
  output of a program with float32 values in it gets float32's).

Where rounding alone decides a discrete answer, neither backend is wrong, and the lifted run
does not always tell (tanh(9) is 1.0 rounded correctly, 0.99999994 in NumPy's float32 and
below 1 in truth). So the programs keep discrete decisions away from the values functions
saturate at: comparisons use thresholds like 0.1 and 1.3, never 0, ±1 or 0.5, and a float
is cast to an integer after adding 0.5 (so that ±1, 0 and 0.5 do not sit on a truncation
boundary) and after clipping NaN, inf and huge values away (their cast is undefined in C and
LLVM; NumPy gives INT64_MIN). Any ``KernelCompileWarning`` is an error: a fallback to NumPy
would hide a code generator bug from the comparison.

A third generator, :class:`FusionProgram`, builds what the fusion pass must get right: a
reduction combined again with its own input on the same axes (keepdims) and on other axes
(square shapes, so a reduced ``(n, n)`` broadcasts back as ``(n,)`` along the other axis),
through transposes, a value read by a reduction and by elementwise ops, and softmax,
log-softmax and layernorm over any axis. The llvm runs must also have compiled every fused
group: a group falling back to NumPy is an error, not a silent pass.

``TINYTORCH_HYPOTHESIS_EXAMPLES=5000 pytest tests/backends/test_llvm_differential.py`` runs
thousands of programs (the default is a few hundred, to keep the suite fast).
"""

from __future__ import annotations

import operator
import os
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm import executable
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.graph import Capture

# A kernel that fails to compile falls back to NumPy with a warning, which would hide a code
# generator bug from a comparison of values: here the warning is an error.
pytestmark = pytest.mark.filterwarnings(
    "error::tinytorch.backends.llvm.executable.KernelCompileWarning"
)
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
THRESHOLDS = [0.1, -0.3, 0.7, 1.3, -1.7]  # none is a value a function saturates at
COMMON_SLICES = [slice(None, None, -1), slice(None, None, 2), slice(1, None), slice(None, -1),
                 slice(1, None, 2), slice(None, None, -2), slice(-2, None, -1)]  # fmt: skip
UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "gelu", "abs", "neg"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]
COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
           "==": operator.eq, "!=": operator.ne}  # fmt: skip
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
        """One of ``options``, drawn by position (objects of the first run never leak into
        the second)."""
        return options[self.draw(st.sampled_from(range(len(options))))]

    def replay(self) -> Tape:
        self.position = 0
        return self


class Program:
    """One random program. Every decision comes from the tape, every number from a NumPy
    generator seeded from the tape, so building it twice builds the same graph. ``lines``
    is the program as Python, for the failure report."""

    def __init__(self, tape: Tape, grad: bool = False, lift: bool = False) -> None:
        self.tape = tape
        self.grad = grad
        self.lift = lift  # float32 inputs become float64 (same values): the lifted reference
        self.rng = np.random.default_rng(tape.draw(st.integers(0, 2**32 - 1)))
        self.special_rate = tape.pick([0.0, 0.0, 0.1, 0.3]) if not grad else 0.0
        self.leaves: list[Tensor] = []  # tensors the gradient test differentiates against
        self.pool: list[Tensor] = []
        self.names: dict[int, str] = {}
        self.lines: list[str] = []

    def name(self, x: Tensor | float) -> str:
        return self.names[id(x)] if isinstance(x, Tensor) else repr(x)

    def define(self, t: Tensor, expr: str, prefix: str = "t") -> Tensor:
        name = f"{prefix}{len(self.names)}"
        self.names[id(t)] = name
        self.lines.append(f"{name} = {expr}  # {t.dtype}{list(t.shape)}")
        return t

    # ------------------------------------------------------------------ data
    def array(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if dtype == "bool":
            return np.asarray(self.rng.random(shape) < 0.5)
        if dtype == "int64":
            return self.rng.integers(-4, 5, shape).astype(np.int64)
        values = np.asarray(self.rng.standard_normal(shape) * self.rng.choice([0.5, 1.0, 3.0]))
        if self.special_rate:
            mask = self.rng.random(shape) < self.special_rate
            values[mask] = self.rng.choice(SPECIALS, size=int(mask.sum()))
        values = values.astype(dtype)
        return values.astype(np.float64) if self.lift else values

    def tensor(self, data: np.ndarray, grad: bool) -> Tensor:
        return Tensor(data, dtype=data.dtype.name, requires_grad=grad)

    def leaf(self, shape: tuple[int, ...], dtype: str | None = None) -> Tensor:
        """A new input, sometimes a non-contiguous realized view of a larger tensor."""
        dtype = dtype or self.tape.pick(self.DTYPES)
        grad = self.grad and dtype.startswith("float")
        layout = self.tape.pick(["plain", "plain", "transposed", "strided", "reversed"])
        if layout == "transposed" and len(shape) >= 2:
            base = self.tensor(self.array(shape[::-1], dtype), grad)
            t = base.permute(*range(len(shape) - 1, -1, -1))
        elif layout == "strided" and len(shape) >= 1:
            big = (shape[0] * 2,) + shape[1:]
            base = self.tensor(self.array(big, dtype), grad)
            t = base[::2]
        elif layout == "reversed" and len(shape) >= 1:
            base = self.tensor(self.array(shape, dtype), grad)
            t = base[::-1]
        else:
            layout = "plain"
            base = t = self.tensor(self.array(shape, dtype), grad)
        if t is not base:
            t.data  # noqa: B018  (realized now: later graphs read it as a strided array)
        self.leaves.append(base)
        return self.define(t, f"input({layout})", prefix="x")

    def shape(self) -> tuple[int, ...]:
        return tuple(self.tape.pick(self.DIMS) for _ in range(self.tape.pick(self.NDIMS)))

    def operand(self) -> Tensor:
        """Any tensor so far, most often the newest, so that chains grow deep (and fuse)."""
        return self.tape.pick([self.pool[-1], self.pool[-1], *self.pool])

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
    # Each returns the new tensor and the Python expression that made it.
    def unary(self, x: Tensor) -> tuple[Tensor, str]:
        op, n = self.tape.pick(UNARY), self.name(x)
        if op == "log":
            return (x.abs() + 0.1).log(), f"({n}.abs() + 0.1).log()"
        if op == "sqrt":
            return x.abs().sqrt(), f"{n}.abs().sqrt()"
        if op == "neg":
            return -x, f"-{n}"
        return getattr(x, op)(), f"{n}.{op}()"

    def binary(self, x: Tensor) -> tuple[Tensor, str]:
        op = self.tape.pick(BINARY)
        other = self.partner(x.shape)
        a, b = (other, x) if self.tape.draw(st.booleans()) else (x, other)
        if op in ("maximum", "minimum"):
            a, b = (a, b) if isinstance(a, Tensor) else (b, a)
            return getattr(a, op)(b), f"{self.name(a)}.{op}({self.name(b)})"
        symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
        out = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
               "div": lambda: a / b}[op]()  # fmt: skip
        return out, f"{self.name(a)} {symbol} {self.name(b)}"

    def select(self, x: Tensor) -> tuple[Tensor, str]:
        """``where(x <op> threshold, x, other)`` (or the two branches swapped)."""
        op = self.tape.pick(list(COMPARE))
        threshold = self.tape.pick(THRESHOLDS)
        cond = COMPARE[op](x, threshold)
        other = self.partner(x.shape)
        a, b = (x, other) if self.tape.draw(st.booleans()) else (other, x)
        expr = f"where({self.name(x)} {op} {threshold}, {self.name(a)}, {self.name(b)})"
        return tinytorch.where(cond, a, b), expr

    def clip(self, x: Tensor) -> tuple[Tensor, str]:
        bounds = st.lists(st.sampled_from([-1.0, -0.25, 0.0, 0.5, 2.0]), min_size=2, max_size=2)
        lo, hi = sorted(self.tape.draw(bounds))
        which = self.tape.pick(["both", "lo", "hi"])
        lo, hi = (lo if which != "hi" else None), (hi if which != "lo" else None)
        return x.clip(lo, hi), f"{self.name(x)}.clip({lo}, {hi})"

    def power(self, x: Tensor) -> tuple[Tensor, str]:
        e = self.tape.pick(POWERS)
        return x**e, f"{self.name(x)} ** {e}"

    def reduce(self, x: Tensor) -> tuple[Tensor, str]:
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
        out = getattr(x, op)(axis=axis, keepdims=keepdims)
        return out, f"{self.name(x)}.{op}(axis={axis}, keepdims={keepdims})"

    def softmax(self, x: Tensor) -> tuple[Tensor, str]:
        dim = self.tape.draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1))
        return x.softmax(dim), f"{self.name(x)}.softmax({dim})"

    def reshape(self, x: Tensor) -> tuple[Tensor, str]:
        how = self.tape.pick(["flatten", "unsqueeze", "squeeze", "merge", "split"])
        if how == "unsqueeze":
            axis = self.tape.draw(st.integers(0, x.ndim))
            return x.unsqueeze(axis), f"{self.name(x)}.unsqueeze({axis})"
        if how == "squeeze":
            return x.squeeze(), f"{self.name(x)}.squeeze()"
        shape: tuple[int, ...] = (-1,)
        if how != "flatten" and x.ndim >= 2:
            k = self.tape.draw(st.integers(0, x.ndim - 2))
            d, rest = x.shape[k], x.shape[k + 2 :]
            if how == "merge":
                shape = (*x.shape[:k], d * x.shape[k + 1], *rest)
            else:
                f = next((f for f in (2, 3) if d % f == 0 and d > f), 1)
                shape = (*x.shape[:k], f, d // f, *x.shape[k + 1 :])
        return x.reshape(*shape), f"{self.name(x)}.reshape{shape}"

    def permute(self, x: Tensor) -> tuple[Tensor, str]:
        perm = self.tape.draw(st.permutations(range(x.ndim)))
        if self.tape.draw(st.booleans()) and x.ndim >= 2:
            return x.transpose(*perm[:2]), f"{self.name(x)}.transpose{tuple(perm[:2])}"
        return x.permute(*perm), f"{self.name(x)}.permute{tuple(perm)}"

    def expand(self, x: Tensor) -> tuple[Tensor, str]:
        lead = [self.tape.pick([1, 2, 3]) for _ in range(self.tape.draw(st.integers(0, 1)))]
        shape = (*lead, *(self.tape.pick([1, 2, 3]) if d == 1 else d for d in x.shape))
        return x.expand(*shape), f"{self.name(x)}.expand{shape}"

    def slice(self, x: Tensor) -> tuple[Tensor, str]:
        """Per axis: everything, an integer, a common strided/reversed slice, or any slice
        built from small starts, stops and steps (often empty or of length one)."""
        key: list = []
        for d in x.shape:
            kind = self.tape.pick(["all", "common", "common", "any", "int"])
            if kind == "int" and d > 0:
                key.append(self.tape.draw(st.integers(-d, d - 1)))
            elif kind == "common":
                key.append(self.tape.pick(COMMON_SLICES))
            elif kind == "any":
                start = self.tape.pick([None, 0, 1, -1, -2])
                stop = self.tape.pick([None, 3, -1, 1])
                key.append(slice(start, stop, self.tape.pick([1, 2, 3, -1, -2])))
            else:
                key.append(slice(None))
        text = ", ".join(_slice_text(k) for k in key)
        return x[tuple(key)], f"{self.name(x)}[{text}]"

    def index(self, x: Tensor) -> tuple[Tensor, str]:
        axis = self.tape.draw(st.integers(0, x.ndim - 1)) if x.ndim else 0
        if x.ndim == 0 or x.shape[axis] == 0:
            return x[None], f"{self.name(x)}[None]"
        d = x.shape[axis]
        rows = self.tape.draw(st.lists(st.integers(-d, d - 1), min_size=1, max_size=4))
        return x[(slice(None),) * axis + (rows,)], f"{self.name(x)}[{':, ' * axis}{rows}]"

    def concat(self, x: Tensor) -> tuple[Tensor, str]:
        if x.ndim == 0:
            x = x.reshape(1)
        axis = self.tape.draw(st.integers(0, x.ndim - 1))
        shape = list(x.shape)
        shape[axis] = self.tape.pick([0, 1, 2])
        other = x if self.tape.draw(st.booleans()) else self.leaf(tuple(shape))
        parts = [x, other] if self.tape.draw(st.booleans()) else [other, x]
        names = ", ".join(self.name(p) if id(p) in self.names else "..." for p in parts)
        return tinytorch.concat(parts, axis=axis), f"tinytorch.concat([{names}], axis={axis})"

    def astype(self, x: Tensor) -> tuple[Tensor, str]:
        dtype = self.tape.pick(["float32", "float64", "int64", "bool"])
        n = self.name(x)
        if dtype == "int64" and x.dtype.kind == "f":
            # NaN, inf and out-of-range floats have no integer value (C and LLVM leave the
            # cast undefined): give the cast only numbers it is defined on.
            x = tinytorch.where(x != x, 0.0, x).clip(-1e6, 1e6) + 0.5
            n = f"(where({n} != {n}, 0.0, {n}).clip(-1e6, 1e6) + 0.5)"
        return x.astype(dtype), f"{n}.astype({dtype!r})"

    def matmul(self, x: Tensor) -> tuple[Tensor, str]:
        if x.ndim == 0:
            x = x.reshape(1)
        if x.ndim >= 2 and self.tape.draw(st.booleans()):
            return x @ x.transpose(-1, -2), f"{self.name(x)} @ {self.name(x)}.transpose(-1, -2)"
        n = self.tape.pick([1, 3, 0])
        shape = (x.shape[-1], n) if self.tape.draw(st.booleans()) else (x.shape[-1],)
        w = self.leaf(shape, dtype=self.tape.pick(["float32", "float32", "float64", "int64"]))
        return x @ w, f"{self.name(x) if id(x) in self.names else '...'} @ {self.name(w)}"

    DTYPES = DTYPES
    DIMS = DIMS
    FIRST: list[str] = []  # steps every program starts with
    NDIMS = [0, 1, 2, 2, 3, 3]
    # (views twice: inside kernels they are the trickiest index arithmetic)
    STEPS = ["unary", "unary", "binary", "binary", "binary", "select", "clip", "power",
             "reduce", "reduce", "softmax", "reshape", "reshape", "permute", "permute",
             "expand", "slice", "slice", "index", "concat", "astype", "matmul"]  # fmt: skip

    # ----------------------------------------------------------------- build
    def build(self) -> list[Tensor]:
        for _ in range(self.tape.pick([1, 2, 3])):
            self.pool.append(self.leaf(self.shape()))
        steps = self.tape.pick([1, 2, 3, 4, 5, 6])
        for k in range(steps + len(self.FIRST)):
            step = self.FIRST[k] if k < len(self.FIRST) else self.tape.pick(self.STEPS)
            x = self.operand()
            try:
                out, expr = getattr(self, step)(x)
            except (ShapeError, DTypeError) as exc:
                self.lines.append(f"# {step}({self.name(x)}) refused: {exc}")
                continue  # refused at the user's line, identically on both runs
            self.pool.append(self.define(out, expr))
            event(f"step: {step}")
        outputs = [self.pool[-1]]
        for _ in range(self.tape.draw(st.integers(0, 2))):
            t = self.tape.pick(self.pool)
            if all(t is not o for o in outputs):
                outputs.append(t)
        self.lines.append(f"outputs: {', '.join(self.name(o) for o in outputs)}")
        # float64 results computed from float32 values carry float32 rounding
        self.float32_inside = any(t.dtype == np.float32 for t in self.pool)
        # Let go of the intermediates: a pending tensor the user still holds is computed in
        # the same run as a graph output (DESIGN: realize together), which would cut every
        # chain into one-op kernels.
        self.pool.clear()
        return outputs


class ViewProgram(Program):
    """Chains of views (strided and reversed slices, reshapes, permutes, expands) between
    elementwise ops and reductions, on float32 shapes with no empty or size-1 axes: the
    programs whose kernels do the most index arithmetic."""

    DTYPES = ["float32"]
    DIMS = [2, 3, 4, 5, 6]
    NDIMS = [2, 3]
    FIRST = ["unary"]  # (a view of an input is a NumPy view; of a computed value, a kernel's)
    STEPS = ["unary", "binary", "power", "slice", "slice", "reshape", "reshape", "permute",
             "permute", "expand", "reduce"]  # fmt: skip

    def slice(self, x: Tensor) -> tuple[Tensor, str]:
        key = [self.tape.pick([slice(None), *COMMON_SLICES]) for _ in x.shape]
        text = ", ".join(_slice_text(k) for k in key)
        return x[tuple(key)], f"{self.name(x)}[{text}]"


class FusionProgram(Program):
    """What fusion must get right, on float32 tensors whose axes all have the same size (so a
    reduction without keepdims broadcasts back against its input along *other* axes): a
    reduction re-combined with its input (same axes, other axes, through a transpose or a
    unary op), a value read by a reduction and by elementwise ops, softmax / log-softmax /
    layernorm over any axis, between elementwise ops and views."""

    DTYPES = ["float32"]
    NDIMS = [2, 2, 3]
    FIRST = ["unary"]
    STEPS = ["rebroadcast", "rebroadcast", "rebroadcast", "normalize", "readers", "unary",
             "binary", "reduce", "permute", "slice", "reshape"]  # fmt: skip

    def shape(self) -> tuple[int, ...]:
        return (self.tape.pick([2, 3, 4]),) * self.tape.pick(self.NDIMS)

    def _axis(self, x: Tensor) -> int | None:
        return self.tape.draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim else None

    def rebroadcast(self, x: Tensor) -> tuple[Tensor, str]:
        """``x <op> f(x.<reduce>(axis, keepdims))``, the reduction read again by its input."""
        op, axis = self.tape.pick(["sum", "max", "min", "mean"]), self._axis(x)
        keep = self.tape.draw(st.booleans())
        r, n = getattr(x, op)(axis=axis, keepdims=keep), self.name(x)
        text = f"{n}.{op}(axis={axis}, keepdims={keep})"
        how = self.tape.pick(["plain", "plain", "transposed", "tanh"])
        if how == "transposed" and r.ndim >= 2:
            r, text = r.transpose(-1, -2), f"{text}.transpose(-1, -2)"
        elif how == "tanh":
            r, text = r.tanh(), f"{text}.tanh()"
        combine = self.tape.pick(["+", "-", "*"])
        a, b, ta, tb = (x, r, n, text) if self.tape.draw(st.booleans()) else (r, x, text, n)
        out = {"+": operator.add, "-": operator.sub, "*": operator.mul}[combine](a, b)
        return out, f"{ta} {combine} {tb}"

    def normalize(self, x: Tensor) -> tuple[Tensor, str]:
        kind, axis = self.tape.pick(["softmax", "logsoftmax", "layernorm"]), self._axis(x)
        n = self.name(x)
        if axis is None:
            return x.softmax(-1), f"{n}.softmax(-1)"
        if kind == "softmax":
            return x.softmax(axis), f"{n}.softmax({axis})"
        if kind == "logsoftmax":
            shifted = x - x.max(axis=axis, keepdims=True)
            out = shifted - shifted.exp().sum(axis=axis, keepdims=True).log()
            return out, f"log_softmax({n}, {axis})"
        mean = x.mean(axis=axis, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
        return (x - mean) / (var + 1e-5).sqrt(), f"layernorm({n}, {axis})"

    def readers(self, x: Tensor) -> tuple[Tensor, str]:
        """``y = tanh(x)`` read by a reduction and by two elementwise ops."""
        axis, keep = self._axis(x), self.tape.draw(st.booleans())
        y = x.tanh()
        out = y * y.sum(axis=axis, keepdims=keep) + y
        n = self.name(x)
        return out, f"y = {n}.tanh(); y * y.sum(axis={axis}, keepdims={keep}) + y"


def _slice_text(k) -> str:
    if not isinstance(k, slice):
        return str(k)
    text = ":".join("" if v is None else str(v) for v in (k.start, k.stop, k.step))
    return text[:-1] if text.endswith(":") and k.step is None else text


def _broadcasts(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    if len(small) > len(big):
        return False
    return all(s in (1, b) for s, b in zip(small[::-1], big[::-1], strict=False))


# Groups the llvm backend leaves to NumPy by design (``backends/llvm/lowering.py``): integer
# ``**`` is not compiled.
BY_DESIGN = ("(integer pow)",)


@contextmanager
def every_group_compiled():
    """Fail if a fused group of an llvm plan run inside the block fell back to NumPy (other
    than by design, :data:`BY_DESIGN`): the comparison would then test NumPy against NumPy."""
    fallbacks: list[str] = []
    previous = executable.set_run_listener(lambda exe: fallbacks.extend(exe.fallbacks))
    try:
        yield
    finally:
        executable.set_run_listener(previous)
    unexpected = [why for why in fallbacks if not why.endswith(BY_DESIGN)]
    assert not unexpected, f"fused groups ran on NumPy instead of a kernel: {unexpected}"


def run_program(tape: Tape, backend: str, kind=Program, lift=False):
    """The program's outputs on ``backend`` (and the program, for its text)."""
    with tinytorch.backend(backend), every_group_compiled():
        program = kind(tape.replay() if tape.values else tape, lift=lift)
        outputs = program.build()
        tinytorch.realize(*outputs)
        return [t.numpy() for t in outputs], program


def assert_agree(
    expected: np.ndarray, lifted: np.ndarray, got: np.ndarray, what: str, precision: str
) -> None:
    """``got`` (llvm) agrees with ``expected`` (numpy) up to numpy's own rounding error,
    ``expected - lifted``, plus the base tolerance of ``precision`` (the least precise
    float in the program; see the module docstring)."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.kind != "f":
        settled = expected == lifted.astype(expected.dtype)
        np.testing.assert_array_equal(got[settled], expected[settled], err_msg=what)
        return
    e, e64, g = (a.astype(np.float64) for a in (expected, lifted, got))
    with np.errstate(invalid="ignore"):
        settled = (np.isnan(e) == np.isnan(e64)) & (np.isinf(e) == np.isinf(e64))
        settled &= ~np.isinf(e) | (e == e64)
    np.testing.assert_array_equal(np.isnan(g)[settled], np.isnan(e)[settled],
                                  err_msg=f"{what}: NaNs")  # fmt: skip
    infinite = settled & np.isinf(e)
    np.testing.assert_array_equal(g[infinite], e[infinite], err_msg=f"{what}: infinities")
    finite = settled & np.isfinite(e)
    np.testing.assert_array_equal(np.isfinite(g)[finite], True, err_msg=f"{what}: finite")
    if not finite.any():
        return
    rtol, atol = TOLERANCE["float32" if precision == "float32" else expected.dtype.name]
    scale = max(1.0, float(np.abs(e[finite]).max()))
    with np.errstate(invalid="ignore"):  # (inf - inf where the values are not finite)
        allowed = 4 * np.abs(e - e64) + rtol * np.abs(e) + atol * scale
        bad = finite & ~(np.abs(g - e) <= allowed)
    if bad.any():
        k = np.argwhere(bad)[0]
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {e.size} values differ; first at {tuple(k)}: "
            f"llvm {g[tuple(k)]!r}, numpy {e[tuple(k)]!r}, numpy lifted to float64 "
            f"{e64[tuple(k)]!r} (allowed {allowed[tuple(k)]:.3g})"
        )


def check_program(data: st.DataObject, kind=Program) -> None:
    tape = Tape(data)
    expected, program = run_program(tape, "numpy", kind)
    note("\n".join(program.lines))
    lifted, _ = run_program(tape, "numpy", kind, lift=True)
    got, _ = run_program(tape, "llvm", kind)
    precision = "float32" if program.float32_inside else "float64"
    for k, (e, e64, g) in enumerate(zip(expected, lifted, got, strict=True)):
        assert_agree(e, e64, g, f"output {k}", precision)


@SETTINGS
@given(st.data())
def test_random_programs_give_the_same_values_on_llvm_and_numpy(data):
    """llvm == numpy on a random program (up to rounding, see the module docstring)."""
    check_program(data)


@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))
@given(st.data())
def test_random_view_chains_inside_kernels_give_the_same_values(data):
    """llvm == numpy on chains of strided/reversed slices, reshapes, permutes and expands
    between elementwise ops (the index arithmetic of fused kernels)."""
    check_program(data, ViewProgram)


@settings(SETTINGS, max_examples=max(EXAMPLES // 2, 10))
@given(st.data())
def test_reductions_read_again_by_their_inputs_give_the_same_values(data):
    """llvm == numpy on reductions re-broadcast against their inputs (same and other axes),
    values with several readers, softmax and layernorm: the fusion pass's hard cases."""
    check_program(data, FusionProgram)


def run_gradients(tape: Tape, backend: str, lift: bool = False):
    """x.grad of ``(out * R).sum()`` for every input x (None where there is none)."""
    with tinytorch.backend(backend), every_group_compiled():
        program = Program(tape.replay() if tape.values else tape, grad=True, lift=lift)
        out = program.build()[0]
        if out.dtype.kind != "f" or not out.requires_grad:
            return [], program
        weights = np.random.default_rng(7).standard_normal(out.shape)
        (out * Tensor(weights, dtype=out.dtype)).sum().backward()
        grads = [leaf.grad for leaf in program.leaves]
        tinytorch.realize(*(g for g in grads if g is not None))
        return [None if g is None else g.numpy() for g in grads], program


@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))
@given(st.data())
def test_random_programs_give_the_same_gradients_on_llvm_and_numpy(data):
    """x.grad of (out * R).sum() agrees between llvm and numpy for every input x."""
    tape = Tape(data)
    expected, program = run_gradients(tape, "numpy")
    note("\n".join(program.lines))
    lifted, _ = run_gradients(tape, "numpy", lift=True)
    got, _ = run_gradients(tape, "llvm")
    assert len(got) == len(expected) == len(lifted)
    for k, (e, e64, g) in enumerate(zip(expected, lifted, got, strict=True)):
        assert (e is None) == (g is None), f"grad {k}: None on one backend only"
        if e is not None:
            assert_agree(e, e64, g, f"grad of input {k}", "float32")


def test_the_tape_replays_the_same_program():
    """Building twice from one tape gives the same graph (the harness's own check)."""

    @settings(max_examples=20, deadline=None)
    @given(st.data())
    def check(data):
        tape = Tape(data)
        first = Capture([t._node for t in Program(tape).build()]).signature
        second = Capture([t._node for t in Program(tape.replay()).build()]).signature
        assert first == second

    check()


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_a_fixed_program_with_views_nan_and_broadcasting_agrees(dtype):
    """One hand-written program (strided view input, where, reductions, softmax) agrees."""

    def program():
        x = Tensor(np.arange(24, dtype=dtype).reshape(2, 3, 4) - 5, dtype=dtype)
        v = x.permute(2, 0, 1)[::-2, :, 1:]
        v.data  # noqa: B018  (a realized, non-contiguous view)
        y = tinytorch.where(v > 0, v * 2, -v) + v.sum(axis=0, keepdims=True)
        return [y, y.max(axis=-1), y.astype("float32").softmax(-1)]

    with tinytorch.backend("numpy"):
        expected = [t.numpy() for t in program()]
    with tinytorch.backend("llvm"), every_group_compiled():
        got = [t.numpy() for t in program()]
    for e, g in zip(expected, got, strict=True):
        assert_agree(e, e, g, "fixed program", "float32")
