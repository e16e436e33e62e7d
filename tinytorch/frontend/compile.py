"""``tinytorch.compile(fn)``: record a whole step once, then replay it without its Python.

Building graph costs microseconds of Python per op. A training step of a small model builds
a hundred nodes, so most of its time is Python, not arithmetic — and every step builds the
*same* graph. A compiled function runs ``fn`` once, lazily, while recording what happens:

* every realization (the compiled plan that ran and where each of its inputs came from: an
  argument, a parameter or optimizer buffer, an earlier result of the same step, a fresh
  value such as a dropout mask, or a constant);
* every tensor given new data (``optimizer.step()`` rebinding parameters and buffers) and
  every ``.grad`` assigned;
* the Python effects and fresh values library code reports (see :mod:`tracing`).

That recording is a *tape*. A later call with the same guards binds the new arguments and
runs the tape: the same compiled plans, one after another, on the new data, and the same
rebinding — no op is built, no graph captured, no pass run::

    @tinytorch.compile
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for x, y in loader:
        loss = step(x, y)          # call 1 traces; calls 2, 3, ... replay
        print(loss.item())         # read values *after* the call

**Guards.** A tape is kept per key: the arguments' shapes and dtypes (and the values of
plain Python arguments), the backend, the pass pipeline and the grad mode. It also checks,
at every call, the Python values the step depended on (each layer's ``training`` flag, an
optimizer's loaded state, and whether a gradient the step adds to was empty: a step without
``zero_grad`` starts the gradients on its first call and adds to them on later ones).
A different key or a changed guard traces again; at most
``max_traces`` tapes are kept per function, after which it warns once and runs eagerly.
``TINYTORCH_DEBUG=1`` prints why each trace happened.

**What a replay sees.** Parameters and optimizer buffers are read afresh at every call, so
``load_state_dict``, ``p.data = ...`` and in-place edits outside the function are seen; the
learning rate (a scheduler may change it), Adam's step count and dropout masks are made anew.
Arguments are copied when the call starts (a NumPy array changed after the call does not
change the step). Results come back computed: the call is a realization boundary.

**What cannot be recorded.** Reading a value inside the function (``.item()``, ``.data``,
``print(t)``, ``if loss > 1``) would need Python at replay: it raises :class:`TraceError` at
trace time, with advice. Checks that read data only to validate it (the class indices of
``CrossEntropyLoss``) run while tracing, not at replay. A function must not give its own
arguments new data, and replacing a parameter *object* (``layer.weight = Tensor(...)``) is
not seen: rebind its data instead (``layer.weight.data = ...``).
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.frontend import autograd, tracing
from tinytorch.frontend.dtypes import to_array
from tinytorch.frontend.tape import Recorder, value_of
from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.runtime import config
from tinytorch.runtime.realize import set_realize_listener
from tinytorch.util.lru import LRUCache

TraceError = tracing.TraceError


class CompileWarning(UserWarning):
    """A compiled function gave up replaying and runs eagerly."""


# ------------------------------------------------------------ the function
def _flatten_args(values: Any, out: list) -> Any:
    """The key of an argument list; tensors and arrays are appended to ``out``."""
    key = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
            key.append(("T", v.shape, v._node.dtype, v.requires_grad))
        elif isinstance(v, np.ndarray):
            out.append(v)
            key.append(("A", v.shape, v.dtype.str))
        elif isinstance(v, tuple):
            key.append(("tuple", _flatten_args(v, out)))
        else:
            try:
                hash(v)
            except TypeError:
                raise TypeError(
                    f"a {type(v).__name__} argument cannot be part of a compiled call; pass "
                    "Tensors, NumPy arrays, tuples of them, or hashable Python values"
                ) from None
            key.append(("C", type(v).__name__, v))
    return tuple(key)


class CompiledFunction:
    """``fn`` with its traces; call it exactly as ``fn``. See the module docstring."""

    def __init__(self, fn: Callable, max_traces: int = 8) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = getattr(fn, "__qualname__", None) or type(fn).__name__
        self.signature = inspect.signature(fn)
        self.max_traces = max_traces
        self.tapes = LRUCache(capacity=max_traces)
        self.trace_count = 0
        self.replay_count = 0
        self.eager = False
        self.last_reason = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.eager or tracing.recorder() is not None:  # inside another trace: inline
            return self._run_eagerly(args, kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"compiled function {self.name!r}: {exc}") from None
        bound.apply_defaults()
        arrays: list[Any] = []
        try:
            arg_key = _flatten_args(bound.arguments.values(), arrays)
        except TypeError as exc:
            raise TypeError(f"compiled function {self.name!r}: {exc}") from None
        key = (
            config.current_backend(),
            config.pipeline_key(),
            autograd.is_grad_enabled(),
            tuple(bound.arguments),
            arg_key,
        )
        tape = self.tapes.get(key)
        if tape is not None:
            why = tape.guards_hold()
            if why is None:
                self.replay_count += 1
                return tape.replay([_arg_array(a) for a in arrays])
            self._note(f"guard failed: {why}")
        else:
            self._note(self._why_new(key))
        if self.trace_count >= self.max_traces:
            warnings.warn(
                f"compiled function {self.name!r} was traced {self.trace_count} times "
                f"(last reason: {self.last_reason}); it runs eagerly from now on",
                CompileWarning,
                stacklevel=2,
            )
            self.eager = True
        if self.eager:
            return self._run_eagerly(args, kwargs)
        return self._trace(bound, arrays, key)

    def _run_eagerly(self, args: tuple, kwargs: dict) -> Any:
        """Call ``fn`` as written, with NumPy arguments made Tensors as a trace would."""
        args = _substitute(list(args), _as_tensors(args))
        kwargs = {k: _substitute([v], _as_tensors([v]))[0] for k, v in kwargs.items()}
        return self.fn(*args, **kwargs)

    def _trace(self, bound: inspect.BoundArguments, values: list[Any], key: tuple) -> Any:
        self.trace_count += 1
        tensors = [v if isinstance(v, Tensor) else Tensor(v) for v in values]
        realize(*[t for t in tensors if "value" not in t._node.meta])
        arg_nodes = {id(t._node): k for k, t in enumerate(tensors)}
        swap = iter(tensors)
        call_args = _substitute(list(bound.args), swap)
        call_kwargs = {k: _substitute([v], swap)[0] for k, v in bound.kwargs.items()}
        rec = Recorder(self.name, arg_nodes)
        old_rec = tracing.set_recorder(rec)
        old_listener = set_realize_listener(rec.on_realize)
        try:
            result = self.fn(*call_args, **call_kwargs)
            pending = [t._node for t in _tensors_in(result)]
            pending += [t._grad._node for t, _ in rec.grad_tensors.values() if t._grad is not None]
            realize(*[Tensor._view_of(n) for n in pending if "value" not in n.meta])
        finally:
            tracing.set_recorder(old_rec)
            set_realize_listener(old_listener)
        self.tapes.put(key, rec.finalize(result, key))
        return result

    def _note(self, reason: str) -> None:
        self.last_reason = reason
        if config.debug_level() >= 1:
            print(f"[tinytorch] compile {self.name}: tracing ({reason})", file=sys.stderr)

    def _why_new(self, key: tuple) -> str:
        if not len(self.tapes):
            return "first call"
        names = ("backend", "pass pipeline", "grad mode", "argument names", "arguments")
        for old in self.tapes._data:
            diffs = [n for n, a, b in zip(names, old, key, strict=True) if a != b]
            if diffs == ["arguments"]:
                for name, a, b in zip(key[3], old[4], key[4], strict=False):
                    if a != b:
                        return f"argument {name!r}: {_show(a)} -> {_show(b)}"
            if diffs:
                return "new " + ", ".join(diffs)
        return "new key"

    def __repr__(self) -> str:
        return f"<compiled {self.name}: {self.trace_count} traces, {self.replay_count} replays>"


def _show(k: Any) -> str:
    if k[0] in ("T", "A"):
        return f"shape {k[1]} {k[2]}"
    return repr(k[-1])


def _substitute(values: list[Any], swap: Any) -> list[Any]:
    """``values`` with each Tensor/ndarray replaced by the next traced tensor."""
    out = []
    for v in values:
        if isinstance(v, (Tensor, np.ndarray)):
            out.append(next(swap))
        elif isinstance(v, tuple):
            out.append(tuple(_substitute(list(v), swap)))
        else:
            out.append(v)
    return out


def _as_tensors(values: Any) -> Any:
    """Tensors for the Tensors/arrays among ``values`` (nested tuples included), in order."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, np.ndarray):
            yield Tensor(v)
        elif isinstance(v, tuple):
            yield from _as_tensors(v)


def _tensors_in(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def _arg_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return np.array(value_of(value), copy=True)
    return to_array(value)


def compile(fn: Callable | None = None, *, max_traces: int = 8) -> Any:  # noqa: A001
    """Record ``fn`` once and replay it (usable as ``@compile`` or ``@compile(max_traces=4)``).

    See the module docstring for what is recorded, guarded and refused."""
    if fn is None:
        return lambda f: CompiledFunction(f, max_traces)
    if not callable(fn):
        raise TypeError(f"tinytorch.compile needs a function, got {type(fn).__name__}")
    return CompiledFunction(fn, max_traces)
