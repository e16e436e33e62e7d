"""The tokenizer contract and the character tokenizer (book Module 10, part 1).

A model reads numbers, so text must become a list of integer ids and, for generated output,
come back again. Every tokenizer here keeps one contract (:class:`Tokenizer`):

* ``encode(text) -> list[int]`` never raises for unusual *text*: a piece that is not in the
  vocabulary becomes the unknown id ``0`` (``<UNK>``), so any string can be encoded;
* ``decode(ids) -> str`` never raises for unusual *ids*: an id with no token decodes as
  ``"<UNK>"``;
* an empty string encodes to ``[]`` and ``[]`` decodes to ``""``.

Wrong *types* are bugs rather than unusual data, and raise ``TypeError`` naming the method.

:class:`CharTokenizer` makes each character one token. Its vocabulary is ``['<UNK>']``
followed by the corpus's distinct characters in sorted order (so the ids do not depend on the
order of the corpus), and ``unk_id`` is always ``0``. Encoding is one dictionary lookup per
character: sequences are long, but nothing is ever lost for characters the corpus contained.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

UNK = "<UNK>"
UNK_ID = 0


def check_text(text: object, op: str) -> str:
    """``text`` itself when it is a ``str``; otherwise a ``TypeError`` naming ``op``."""
    if not isinstance(text, str):
        raise TypeError(f"{op}: text must be a str, got {type(text).__name__}")
    return text


def check_corpus(corpus: object, op: str) -> list[str]:
    """The corpus as a list of texts. A bare string is refused: iterating it would treat
    every character as a separate text, which is almost never what was meant."""
    if isinstance(corpus, str):
        raise TypeError(f"{op}: corpus must be a list of strings, got one str (wrap it: [text])")
    if not isinstance(corpus, Iterable):
        raise TypeError(f"{op}: corpus must be a list of strings, got {type(corpus).__name__}")
    texts = list(corpus)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{op}: corpus[{i}] must be a str, got {type(text).__name__}")
    return texts


def check_vocab_size(vocab_size: object, op: str) -> int:
    """A positive integer, else ``TypeError``/``ValueError`` naming ``op``."""
    if isinstance(vocab_size, bool) or not hasattr(vocab_size, "__index__"):
        raise TypeError(f"{op}: vocab_size must be an int, got {type(vocab_size).__name__}")
    value = vocab_size.__index__()
    if value < 1:
        raise ValueError(f"{op}: vocab_size must be at least 1, got {value}")
    return value


def check_ids(tokens: object, op: str) -> list[int]:
    """Token ids as Python ints (lists, tuples, NumPy arrays and NumPy ints are accepted)."""
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(f"{op}: tokens must be a sequence of ints, got {type(tokens).__name__}")
    ids = []
    for i, token in enumerate(tokens):
        if isinstance(token, bool) or not hasattr(token, "__index__"):
            raise TypeError(f"{op}: tokens[{i}] must be an int, got {type(token).__name__}")
        ids.append(token.__index__())
    return ids


class Tokenizer:
    """The contract every tokenizer keeps: ``encode`` text to ids, ``decode`` ids to text.

    Subclasses implement both; the base class raises ``NotImplementedError`` (as the book's
    does) so that a forgotten method is loud.

    ``Tokenizer(vocab_size=50000)`` records the size an embedding table must have, as the
    book's module 11 writes it (``Embedding(vocab_size=tokenizer.vocab_size, ...)``);
    ``Tokenizer()`` leaves ``vocab_size`` as ``None``. Subclasses set their own.
    """

    def __init__(self, vocab_size: int | None = None) -> None:
        self.vocab_size = None if vocab_size is None else check_vocab_size(vocab_size, "Tokenizer")

    def encode(self, text: str) -> list[int]:
        """Text -> list of token ids."""
        raise NotImplementedError(f"{type(self).__name__} must implement encode()")

    def decode(self, tokens: list[int]) -> str:
        """List of token ids -> text."""
        raise NotImplementedError(f"{type(self).__name__} must implement decode()")


class CharTokenizer(Tokenizer):
    """One token per character; ``<UNK>`` is id 0.

    ``CharTokenizer()`` knows only ``<UNK>`` until :meth:`build_vocab` is called.
    ``CharTokenizer(vocab=['a', 'b'])`` uses the given characters in the given order after
    ``<UNK>`` (duplicates and a given ``'<UNK>'`` are dropped), so ids can be fixed by hand.

    >>> tok = CharTokenizer()
    >>> tok.build_vocab(["hello"])
    >>> tok.vocab
    ['<UNK>', 'e', 'h', 'l', 'o']
    >>> tok.encode("hello!")     # '!' was never seen: 0
    [2, 1, 3, 3, 4, 0]
    >>> tok.decode([2, 1, 3, 3, 4, 0])
    'hello<UNK>'
    """

    def __init__(self, vocab: Sequence[str] | None = None) -> None:
        chars: list[str] = []
        for i, char in enumerate(vocab or []):
            if not isinstance(char, str):
                raise TypeError(
                    f"CharTokenizer: vocab[{i}] must be a str, got {type(char).__name__}"
                )
            if char != UNK and len(char) != 1:
                raise ValueError(
                    f"CharTokenizer: vocab[{i}] must be a single character, got {char!r}"
                )
            if char != UNK:
                chars.append(char)
        self._set_vocab([UNK, *dict.fromkeys(chars)])
        self.unk_id = UNK_ID

    def _set_vocab(self, vocab: list[str]) -> None:
        self.vocab = vocab
        self.vocab_size = len(vocab)
        self.char_to_id = {char: idx for idx, char in enumerate(vocab)}
        self.id_to_char = {idx: char for idx, char in enumerate(vocab)}

    def build_vocab(self, corpus: list[str]) -> None:
        """Replace the vocabulary with ``<UNK>`` + the corpus's distinct characters, sorted."""
        all_chars: set[str] = set()
        for text in check_corpus(corpus, "CharTokenizer.build_vocab"):
            all_chars.update(text)
        self._set_vocab([UNK, *sorted(all_chars)])

    def encode(self, text: str) -> list[int]:
        """One id per character; characters outside the vocabulary become ``0``."""
        lookup = self.char_to_id.get
        return [lookup(char, UNK_ID) for char in check_text(text, "CharTokenizer.encode")]

    def decode(self, tokens: list[int]) -> str:
        """Characters joined; id 0 and ids outside the vocabulary decode as ``'<UNK>'``."""
        lookup = self.id_to_char.get
        return "".join(lookup(i, UNK) for i in check_ids(tokens, "CharTokenizer.decode"))


__all__ = ["UNK", "UNK_ID", "CharTokenizer", "Tokenizer"]
