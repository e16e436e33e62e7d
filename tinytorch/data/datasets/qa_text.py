"""The ``Q:`` / ``A:`` text format of TinyTalks, read and written.

A file is a list of question/answer pairs, each a ``Q:`` line then an ``A:`` line, pairs
separated by blank lines::

    Q: What is the capital of France?
    A: Paris

    Q: If a train travels 120 km in 2 hours, what is its average speed?
    A: 60 km/h

Reading is forgiving where the meaning is still clear: Windows line ends, a byte-order mark,
spaces around lines and after the prefix (``Q:What`` is fine), a missing blank line between
pairs, several blank lines, lines before the first ``Q:`` (a title or notes: skipped), and a
line without a prefix right under a ``Q:`` or ``A:`` line (it continues that question or
answer, joined with a newline). Everything else is a ``ValueError`` naming the file and the
line: an answer with no question, a question with no answer, an empty question or answer, a
stray line after a blank line.

Writing (:func:`format_qa_pairs`) produces exactly ``"Q: ...\\nA: ...\\n\\n"`` per pair: the
training text of the Q&A milestones, so the same helper serves TinyTalks and the generated
smoke corpus, and :func:`format_qa_prompt` gives the prompt a model answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

QUESTION, ANSWER = "Q:", "A:"


def parse_qa_text(text: str, source: str = "<text>") -> list[tuple[str, str]]:
    """``(question, answer)`` pairs from Q/A text; ``source`` names it in errors."""
    pairs: list[tuple[str, str]] = []
    question: list[str] | None = None  # lines of the open question
    answer: list[str] | None = None  # lines of its answer, once seen
    q_line = a_line = 0
    field_open = False  # the previous line was part of a Q or A (a continuation may follow)

    def close() -> None:
        nonlocal question, answer
        if question is None:
            return
        if answer is None:
            raise ValueError(f"{source}:{q_line}: the question has no 'A:' line after it")
        q, a = "\n".join(question).strip(), "\n".join(answer).strip()
        if not a:
            raise ValueError(f"{source}:{a_line}: empty answer after 'A:'")
        pairs.append((q, a))
        question = answer = None

    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            field_open = False
            continue
        if line.startswith(QUESTION):
            close()
            question, answer, q_line = [line[len(QUESTION) :].strip()], None, lineno
            if not question[0]:
                raise ValueError(f"{source}:{lineno}: empty question after 'Q:'")
            field_open = True
        elif line.startswith(ANSWER):
            if question is None:
                raise ValueError(f"{source}:{lineno}: 'A:' line with no 'Q:' line before it")
            if answer is not None:
                raise ValueError(
                    f"{source}:{lineno}: a second 'A:' for the question on line {q_line}"
                )
            answer, a_line = [line[len(ANSWER) :].strip()], lineno
            field_open = True
        elif field_open:
            (answer if answer is not None else question).append(line)  # type: ignore[union-attr]
        elif question is None and not pairs:
            continue  # preamble before the first question
        else:
            raise ValueError(
                f"{source}:{lineno}: expected a line starting with 'Q:' or 'A:', "
                f"found {line[:40]!r}"
            )
    close()
    return pairs


def read_qa_file(path: str | os.PathLike) -> list[tuple[str, str]]:
    """The pairs of a UTF-8 Q/A file; errors name ``path`` and the line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    return parse_qa_text(text, str(path))


def _check_field(value: object, what: str, index: int) -> str:
    """A question or answer that reads back unchanged: a non-empty string whose later lines
    are neither blank nor start with a prefix."""
    if not isinstance(value, str):
        raise TypeError(f"format_qa_pairs: pair {index}: {what} must be a str, "
                        f"got {type(value).__name__}")  # fmt: skip
    lines = value.strip().split("\n")
    if not lines[0].strip():
        raise ValueError(f"format_qa_pairs: pair {index}: empty {what}")
    for line in lines[1:]:
        if not line.strip() or line.strip().startswith((QUESTION, ANSWER)):
            raise ValueError(
                f"format_qa_pairs: pair {index}: the {what} {value!r} has a blank line or a "
                "line starting with 'Q:'/'A:', which would not read back as one field"
            )
    return value.strip()


def format_qa_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Training text: ``"Q: {question}\\nA: {answer}\\n\\n"`` for each pair, in order."""
    chunks = []
    for index, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"format_qa_pairs: pair {index} must be (question, answer), "
                            f"got {pair!r}")  # fmt: skip
        question = _check_field(pair[0], "question", index)
        answer = _check_field(pair[1], "answer", index)
        chunks.append(f"{QUESTION} {question}\n{ANSWER} {answer}\n\n")
    return "".join(chunks)


def format_qa_prompt(question: str) -> str:
    """What a model continues to answer ``question``: ``"Q: {question}\\nA: "``; its answer
    runs to the next newline."""
    return f"{QUESTION} {_check_field(question, 'question', 0)}\n{ANSWER} "


__all__ = ["format_qa_pairs", "format_qa_prompt", "parse_qa_text", "read_qa_file"]
