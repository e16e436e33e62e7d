"""Kernels as a Chrome trace: open the file in https://ui.perfetto.dev or chrome://tracing.

The format is Chrome's trace-event JSON (``{"traceEvents": [...]}``). Each kernel run is one
*complete* event (``"ph": "X"``) with a start ``ts`` and a duration ``dur`` in microseconds,
on the process and thread that ran it, named by the kernel (``k_<hash>`` for a fused llvm
kernel, the op name for a node run alone). Its ``args`` list the member ops, the user lines
they came from, flops, bytes moved, GFLOP/s and GB/s, so clicking a kernel in Perfetto
answers "what is this and where did I write it". Metadata events name the process and
thread rows.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinytorch.ir.printer import short_src
from tinytorch.runtime.profiler import KernelRecord


def chrome_trace(kernels: Sequence[KernelRecord], process_name: str = "tinytorch") -> dict:
    """The trace-event document for ``kernels`` (timestamps relative to the first one)."""
    pid = os.getpid()
    origin = min((k.start for k in kernels), default=0.0)
    threads = sorted({k.thread for k in kernels})
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": process_name}}
    ]
    for n, thread in enumerate(threads):
        label = "main" if n == 0 else f"thread {n}"
        events.append(
            {"name": "thread_name", "ph": "M", "pid": pid, "tid": thread, "args": {"name": label}}
        )
    for k in kernels:
        seconds = max(k.seconds, 0.0)
        events.append(
            {
                "name": k.name,
                "cat": k.backend,
                "ph": "X",
                "ts": round((k.start - origin) * 1e6, 3),
                "dur": round(seconds * 1e6, 3),
                "pid": pid,
                "tid": k.thread,
                "args": {
                    "ops": list(k.ops),
                    "lines": [short_src(s) for s in k.srcs],
                    "shape": list(k.shape),
                    "flops": k.flops,
                    "bytes": k.bytes,
                    "gflops_per_second": k.flops / seconds / 1e9 if seconds > 0 else 0.0,
                    "gb_per_second": k.bytes / seconds / 1e9 if seconds > 0 else 0.0,
                },
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_chrome_trace(kernels: Sequence[KernelRecord], path: str | os.PathLike) -> Path:
    """Write the trace to ``path`` atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(chrome_trace(kernels), indent=1)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
