"""Finding the user's line.

Every node records where the user wrote the op, so that errors, dumps and profiles can point
at *their* code. The user's frame is the first one on the stack outside the ``tinytorch``
package. Frontend entry points wrap their work in :func:`user_op`, which computes that
location once (nested frontend calls, like the ``exp`` inside ``softmax``, reuse it), attaches
it to every node built inside, and, if an error escapes, adds a note naming the op and line.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from tinytorch.ir.build import _state as build_state
from tinytorch.runtime import config

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The library's own layers. Scripts shipped inside the package (the demo) count as user code.
_LIBRARY_DIRS = tuple(
    os.path.join(_PACKAGE_DIR, d) + os.sep
    for d in ("frontend", "ir", "passes", "backends", "runtime", "core")
) + (os.path.join(_PACKAGE_DIR, "__init__.py"),)
F = TypeVar("F", bound=Callable[..., Any])


def user_src() -> str | None:
    """``file:line`` of the innermost frame outside the tinytorch library."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_DIRS) and not filename.startswith("<frozen"):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def user_op(name: str) -> Callable[[F], F]:
    """Decorate a frontend op: nodes it builds record the user's line; errors name both."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = build_state
            if getattr(state, "src", None) is not None:  # called from another frontend op
                return fn(*args, **kwargs)
            src = user_src()
            state.src = src  # what build.source() does, without a generator's overhead
            try:
                result = fn(*args, **kwargs)
            except (ValueError, TypeError, IndexError) as exc:
                if src and hasattr(exc, "add_note") and not getattr(exc, "_tt_noted", 0):
                    exc.add_note(f"in tinytorch op '{name}' called at {src}")
                    exc._tt_noted = 1
                raise
            finally:
                state.src = None
            if config.eager():
                _realize_eagerly(result)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _realize_eagerly(result: Any) -> None:
    from tinytorch.runtime import realize

    nodes = [
        getattr(r, "_node", None) for r in (result if isinstance(result, tuple) else (result,))
    ]
    realize([n for n in nodes if n is not None])
