"""Text for language models: next-token training windows, and answering with a trained model.

A character-level language model learns from one long stream of token ids. Training draws
random *windows* from it: ``context`` ids in, the same window shifted by one out, so every
position learns to predict the token after it. :class:`TextWindows` draws those batches.

Q&A text (``"Q: ...\\nA: ...\\n\\n"``, see :mod:`tinytorch.data.datasets.qa_text`) turns a
language model into a question answerer: prompt it with ``"Q: question\\nA: "`` and read what
it writes up to the end of the line. :func:`answer` does exactly that, greedily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.data.datasets.qa_text import format_qa_prompt


class TextWindows:
    """Random ``(inputs, targets)`` windows over a stream of token ids.

    ``batch(n)`` returns two int64 arrays of shape ``(n, context)``; ``targets`` is
    ``inputs`` shifted one token to the left (``targets[:, t]`` follows ``inputs[:, t]``).
    The starts are drawn by a NumPy generator seeded with ``seed``: a run is reproducible.
    """

    def __init__(self, ids: Sequence[int] | np.ndarray, context: int, seed: int = 0) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        if self.ids.ndim != 1:
            raise ValueError(f"TextWindows: ids must be a 1-D stream, got shape {self.ids.shape}")
        if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 1:
            raise ValueError(f"TextWindows: context must be a positive int, got {context!r}")
        if len(self.ids) < context + 1:
            raise ValueError(
                f"TextWindows: a stream of {len(self.ids)} tokens is too short for windows of "
                f"{context} (+1 target)"
            )
        self.context = int(context)
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        starts = self.rng.integers(0, len(self.ids) - self.context, size)
        rows = starts[:, None] + np.arange(self.context + 1)
        window = self.ids[rows]
        return window[:, :-1], window[:, 1:]


def answer(model: Any, tokenizer: Any, question: str, context: str = "",
           max_new_tokens: int = 40) -> str:  # fmt: skip
    """The model's greedy answer to ``question``: it continues ``context`` (earlier turns of
    a dialogue, already formatted) + ``"Q: question\\nA: "`` up to the end of the line.

    ``model`` is anything with the GPT's ``generate(prompt_tokens, max_new_tokens,
    temperature)``; ``tokenizer`` anything with ``encode``/``decode``."""
    prompt = tokenizer.encode(context + format_qa_prompt(question))
    tokens = model.generate(np.asarray(prompt), max_new_tokens=max_new_tokens, temperature=0)
    written = tokenizer.decode([int(t) for t in tokens.numpy()[len(prompt) :]])
    return written.split("\n", 1)[0].strip()
