"""What library code tells a step being traced by ``tinytorch.compile``.

A compiled step is recorded once, while its Python runs, and later replayed without running
that Python. Most of what a step does is graph, and graph replays by itself. The rest is a
short list of things Python does around the graph, and the code that does them reports each
one here so the recording can repeat it:

* **fresh values** (:func:`fresh`): numbers or arrays drawn anew every step — a dropout mask,
  the learning rate a scheduler may change, Adam's bias corrections. Their maker function
  is called again on every replay.
* **Python effects** (:func:`effect`): state that lives outside tensors, such as an
  optimizer's ``step_count``; the function runs again on every replay, in the same order.
* **guards** (:func:`guard`): Python values the recorded graph depends on, such as a layer's
  ``training`` flag; if one has changed at the next call, the step is traced again.
* **rebinding** (:func:`rebound`) and **gradients** (:func:`grad_set`): a tensor given new
  values (``p.data = ...``) or a new ``.grad``, so the replay can do the same.
* **reading values** (:func:`check_read`): Python looking at a value (``.item()``, ``print``,
  ``if loss > 1``) cannot be replayed, so it is an error while tracing.

With no step being traced, every hook is one attribute check and returns at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.frontend.tensor_type import tensor_class

_local = threading.local()


class TraceError(RuntimeError):
    """Something inside a compiled function cannot be recorded for replay."""


def recorder() -> Any:
    """The recorder of the step being traced on this thread, or None."""
    return getattr(_local, "recorder", None)


def set_recorder(rec: Any) -> Any:
    """Install ``rec`` (None to stop); returns the previous recorder."""
    old = getattr(_local, "recorder", None)
    _local.recorder = rec
    return old


def fresh(make: Callable[[], Any], dtype: Any) -> Any:
    """A Tensor holding ``make()`` (as ``dtype``), made again at every replay of a
    compiled step."""
    tensor = tensor_class()._of_array(np.asarray(make(), dtype=dtype))
    rec = recorder()
    if rec is not None:
        rec.fresh(make, dtype, tensor._node)
    return tensor


def effect(fn: Callable[[], None]) -> None:
    """Run ``fn()`` now, and again at every replay of a compiled step."""
    fn()
    _tell("effect", fn)


def _tell(event: str, *args: Any) -> None:
    """Pass ``event`` to the recorder of the step being traced, if there is one."""
    rec = recorder()
    if rec is not None:
        getattr(rec, event)(*args)


def guard(obj: Any, attr: str) -> None:
    """The step being traced depends on ``obj.attr``: re-trace if it changes."""
    _tell("guard", obj, attr)


def created(node: Any) -> None:
    """A leaf tensor was made (its data may be a constant of the step)."""
    _tell("created", node)


def rebound(tensor: Any, old_node: Any) -> None:
    """``tensor`` now holds new data (``tensor.data = ...``); ``old_node`` held the old."""
    _tell("rebound", tensor, old_node)


def grad_set(tensor: Any, accumulate: bool = False) -> None:
    """``tensor.grad`` is about to be assigned or cleared, or (``accumulate``) added to."""
    _tell("grad_set", tensor, accumulate)


def check_read(what: str) -> None:
    """Refuse to hand a value to Python while a step is traced."""
    rec = recorder()
    if rec is not None and not getattr(_local, "internal", 0):
        raise TraceError(
            f"{what} inside a compiled function reads a value while the step is being "
            f"recorded ({rec.name}); a replay runs no Python, so it could not read it again. "
            "Return the tensor from the function and read it after the call, or call the "
            "function without tinytorch.compile."
        )


class internal_read:
    """``with internal_read():`` lets library code read a value while tracing (e.g. to
    validate labels): the read must not change what graph the step builds."""

    def __enter__(self) -> None:
        _local.internal = getattr(_local, "internal", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _local.internal -= 1
