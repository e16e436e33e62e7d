"""The last result of each milestone, remembered between runs for ``tito milestone list``.

One JSON file, ``milestones.json`` in tinytorch's cache folder (``~/.cache/tinytorch``;
``$TINYTORCH_CACHE_DIR`` or ``$XDG_CACHE_HOME`` move it), maps a milestone's folder name to
its last run: mode, backend, time, and each script's gate and seconds. The file is only a
convenience: an unreadable one is ignored with a warning, and it is always written whole
(temp file + rename), never half.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tinytorch.util.flags import cache_root


def status_path() -> Path:
    return cache_root() / "milestones.json"


def load_status() -> dict[str, Any]:
    path = status_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"tito: ignoring unreadable {path} ({exc})", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}


def save_status(data: dict[str, Any]) -> None:
    """Write the results file atomically (temp file + rename): never half-written."""
    path = status_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".milestones.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:
        print(f"tito: could not save results to {path} ({exc})", file=sys.stderr)


def describe_status(record: dict[str, Any] | None) -> str:
    """One line for ``tito milestone list``: ``2 passed (smoke, numpy, 2024-...)``."""
    if not record:
        return "not run"
    counts: dict[str, int] = {}
    for result in record.get("scripts", {}).values():
        counts[result["gate"]] = counts.get(result["gate"], 0) + 1
    parts = [f"{n} {gate.lower()}" for gate, n in sorted(counts.items())]
    return (
        f"{', '.join(parts)} ({record.get('mode')}, {record.get('backend')}, {record.get('when')})"
    )
