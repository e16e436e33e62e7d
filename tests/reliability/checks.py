"""What a user sees when something goes wrong: the check every reliability case makes."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tinytorch

PACKAGE = str(Path(tinytorch.__file__).resolve().parent)


def user_error(kind: type[BaseException], call: Callable[[], Any], *fragments: str):
    """Call ``call()`` (a lambda written in the test) and check what a user would see:

    * it raises ``kind`` (an exact type or a subclass: the typed errors of ``ir.errors``);
    * the innermost traceback frame outside the tinytorch package is ``call`` itself, i.e.
      the error points at the user's own line, not somewhere inside the library;
    * the message contains every fragment (the op's name, the shapes).

    Returns the exception for further checks."""
    with pytest.raises(kind) as info:
        call()
    frames = traceback.extract_tb(info.tb)
    outside = [f for f in frames if not str(Path(f.filename).resolve()).startswith(PACKAGE)]
    innermost = outside[-1]
    code = call.__code__
    assert (innermost.filename, innermost.name) == (code.co_filename, code.co_name), (
        f"error raised from {innermost.filename}:{innermost.lineno}, not the user's line"
    )
    assert innermost.lineno >= code.co_firstlineno
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in the message: {message}"
    return info.value
