"""A training progress bar that degrades to plain lines when output is not a terminal.

    bar = ProgressBar(range(epochs), desc="train", unit="epoch")
    for epoch in bar:
        loss = trainer.train_epoch(loader)
        bar.set(loss=loss, acc=accuracy)     # shown on the bar (acc* values as percentages)

On a terminal the bar redraws one line in place. In a pipe, a file or CI it prints a plain
line about ten times per run (and always the last step), so logs stay short and readable.
``TINYTORCH_PROGRESS=bar`` or ``=plain`` overrides the choice (``tito`` uses it to keep the
bar when it streams a milestone's output to your terminal).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tinytorch.util.flags import env


def _interactive(stream: TextIO) -> bool:
    forced = env("TINYTORCH_PROGRESS").lower()
    if forced in ("bar", "tty", "1"):
        return True
    if forced in ("plain", "lines", "0"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def format_metrics(metrics: dict[str, Any]) -> str:
    parts = []
    for name, value in metrics.items():
        if isinstance(value, float) and "acc" in name:
            parts.append(f"{name} {100 * value:5.1f}%")
        elif isinstance(value, float):
            parts.append(f"{name} {value:.4f}")
        else:
            parts.append(f"{name} {value}")
    return "  ".join(parts)


class ProgressBar:
    """Wrap an iterable (or count ``update()`` calls up to ``total``) and show progress."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        total: int | None = None,
        desc: str = "",
        unit: str = "step",
        stream: TextIO | None = None,
        lines: int = 10,
        width: int = 24,
    ) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stdout
        self.width = width
        self.every = max(1, -(-(total or 0) // max(1, lines)))  # ceil(total / lines)
        self.count = 0
        self.metrics: dict[str, Any] = {}
        self.interactive = _interactive(self.stream)
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("ProgressBar was created without an iterable")
        try:
            for item in self.iterable:
                yield item
                self.update()
        finally:
            self.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set(self, **metrics: Any) -> None:
        """Record metrics (loss, accuracy, ...) shown from the next redraw on."""
        self.metrics.update(metrics)

    def update(self, n: int = 1) -> None:
        self.count += n
        if self.interactive:
            if time.perf_counter() - self._last_draw >= 0.05 or self.count == self.total:
                self._draw(end="")  # redraw at most 20 times a second
        elif self.count in (1, self.total) or self.count % self.every == 0:
            self._draw(end="\n")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.interactive:
            self._draw(end="\n")

    def line(self) -> str:
        """The current state as text: description, bar, position, metrics, elapsed time."""
        elapsed = time.perf_counter() - self._start
        head = f"{self.desc} " if self.desc else ""
        if self.total:
            pos = f"{self.unit} {self.count:>{len(str(self.total))}}/{self.total}"
            if self.interactive:
                filled = round(self.width * min(self.count, self.total) / self.total)
                head += "[" + "#" * filled + "." * (self.width - filled) + "] "
        else:
            pos = f"{self.unit} {self.count}"
        metrics = format_metrics(self.metrics)
        return f"{head}{pos}" + (f"  {metrics}" if metrics else "") + f"  {elapsed:.1f}s"

    def _draw(self, end: str) -> None:
        self._last_draw = time.perf_counter()
        text = self.line()
        if self.interactive:
            text = "\r" + text + "\x1b[K"
        self.stream.write(text + end)
        self.stream.flush()


__all__ = ["ProgressBar", "format_metrics"]
