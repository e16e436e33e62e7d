"""Byte Pair Encoding: subword tokens learned from a corpus (book Module 10, part 2).

Characters make sequences long; whole words make vocabularies huge and leave every new word
unknown. BPE starts from characters and repeatedly *merges the most frequent adjacent pair*
into a new token, so frequent words and pieces ("th", "ing", "the</w>") become single tokens
while a rare word still splits into known pieces.

Training (the book's loop, with the same results, computed faster):

1. Split each text of the corpus on whitespace; count each distinct word.
2. Spell every word as characters plus the end-of-word marker ``'</w>'``:
   ``"hello" -> ['h', 'e', 'l', 'l', 'o', '</w>']``. The marker lets a token know it ends a
   word, and is what decoding turns back into spaces.
3. The vocabulary starts as ``['<UNK>']`` + the distinct symbols, sorted.
4. While the vocabulary is smaller than the target: count every adjacent pair — as the book
   does, a pair counts once per distinct word that contains it, times that word's frequency
   (``_get_pairs`` returns a set) — take the most frequent pair, merge it everywhere (left to
   right, non-overlapping), append the merged token to the vocabulary and the pair to
   ``merges``. Stop early when no pair is left.

**Ties** (the book leaves them to ``Counter.most_common`` over a set, which depends on string
hashing and so changes between runs): here the pair *seen first* wins. Pairs are numbered as
they first appear — the initial spellings are scanned word by word in corpus order, left to
right; pairs a merge creates are numbered next, in the same order — and among equally
frequent pairs the lowest number is merged. The book's example ``["hello", "hello", "help"]``
therefore merges ``('h', 'e')`` first (it ties with ``('e', 'l')`` at 3 and was seen first).

Instead of recounting the corpus for every merge, counts are kept up to date: only the words
that contain the merged pair are re-spelled and their pairs re-counted, and a heap finds the
next best pair (a few hundred merges on ~20 KB of text take well under a second).

Encoding applies the merges *in the order they were learned* (``_apply_merges``), word by
word. Decoding joins the tokens, turns ``'</w>'`` into a space and collapses whitespace, so
``decode(encode(text)) == " ".join(text.split())`` whenever every character of ``text`` was
in the training corpus.

Defined edge cases (no tracebacks):

* an empty or all-whitespace text encodes to ``[]``; ``decode([]) == ""``;
* a character never seen in training encodes as ``0`` (``<UNK>``) and decodes as ``"<UNK>"``;
  so does any id outside the vocabulary;
* an untrained tokenizer knows only ``<UNK>``: every character and every word end encodes as
  ``0``;
* the marker is the plain string ``'</w>'`` (as in the book), so text that itself contains
  ``</w>`` does not round-trip: decoding turns it into a space, like every word end;
* ``vocab_size`` is the target until ``train`` runs, then the size of the vocabulary actually
  built (fewer when the corpus ran out of pairs, more when it has more distinct characters than
  the target), so ``Embedding(tok.vocab_size, dim)`` always fits the ids; the target is kept in
  ``target_vocab_size``.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import Counter, defaultdict
from itertools import pairwise

from tinytorch.data.tokenizer import (
    UNK,
    UNK_ID,
    Tokenizer,
    check_corpus,
    check_ids,
    check_text,
    check_vocab_size,
)

END_OF_WORD = "</w>"
_CACHE_LIMIT = 100_000  # words whose encoding is remembered

Pair = tuple[str, str]


def merge_pair(tokens: list[str], first: str, second: str) -> list[str]:
    """Every non-overlapping ``first, second`` in ``tokens`` joined, scanning left to right."""
    merged, out, i, n = first + second, [], 0, len(tokens)
    while i < n:
        if i < n - 1 and tokens[i] == first and tokens[i + 1] == second:
            out.append(merged)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    """Byte Pair Encoding tokenizer with ``'</w>'`` end-of-word markers and ``<UNK>`` at id 0.

    >>> tok = BPETokenizer(vocab_size=9)
    >>> tok.train(["hello", "hello", "help"])
    >>> tok.merges
    [('h', 'e'), ('he', 'l')]
    >>> tok.vocab
    ['<UNK>', '</w>', 'e', 'h', 'l', 'o', 'p', 'he', 'hel']
    >>> tok.decode(tok.encode("hello help"))
    'hello help'
    """

    def __init__(self, vocab_size: int = 1000) -> None:
        self.target_vocab_size = check_vocab_size(vocab_size, "BPETokenizer")
        self.vocab_size = self.target_vocab_size
        self.vocab: list[str] = [UNK]
        self.merges: list[Pair] = []
        self._build_mappings()

    # ------------------------------------------------------------------ the book's helpers
    def _get_word_tokens(self, word: str) -> list[str]:
        """``"hi" -> ['h', 'i', '</w>']``; the empty word has no tokens."""
        return [*word, END_OF_WORD] if word else []

    def _get_pairs(self, word_tokens: list[str]) -> set[Pair]:
        """The distinct adjacent pairs of a spelling (a set, as in the book)."""
        return set(pairwise(word_tokens))

    def _build_mappings(self) -> None:
        """``token_to_id`` / ``id_to_token`` from ``vocab``, and the merge ranks used by
        ``_apply_merges``. Call it again after editing ``vocab`` or ``merges`` by hand."""
        self.token_to_id = {token: idx for idx, token in enumerate(self.vocab)}
        self.id_to_token = {idx: token for idx, token in enumerate(self.vocab)}
        ranks: dict[Pair, list[int]] = defaultdict(list)
        for rank, pair in enumerate(self.merges):
            ranks[tuple(pair)].append(rank)
        self._ranks = dict(ranks)
        self._word_cache: dict[str, list[int]] = {}

    def _apply_merges(self, tokens: list[str]) -> list[str]:
        """The learned merges applied to ``tokens`` in the order they were learned.

        Equivalent to the book's loop (for each merge in order, merge it everywhere) but it
        only visits merges that apply: repeatedly take, among the pairs present, the one
        whose next rank after the last applied rank is lowest.
        """
        tokens = list(tokens)
        last = -1
        while len(tokens) > 1:
            best_rank, best = None, None
            for pair in pairwise(tokens):
                ranks = self._ranks.get(pair)
                if ranks is None:
                    continue
                k = bisect_right(ranks, last)
                if k < len(ranks) and (best_rank is None or ranks[k] < best_rank):
                    best_rank, best = ranks[k], pair
            if best is None:
                return tokens
            tokens = merge_pair(tokens, *best)
            last = best_rank
        return tokens

    # ------------------------------------------------------------------------ training
    def train(self, corpus: list[str], vocab_size: int | None = None) -> None:
        """Learn merges from ``corpus`` (a list of texts) until the vocabulary has
        ``vocab_size`` tokens (default: the target given to the constructor)."""
        texts = check_corpus(corpus, "BPETokenizer.train")
        if vocab_size is not None:
            self.target_vocab_size = check_vocab_size(vocab_size, "BPETokenizer.train")
        word_freq = Counter(word for text in texts for word in text.split())
        words = list(word_freq)  # first-occurrence order
        freqs = [word_freq[w] for w in words]
        spellings = [self._get_word_tokens(w) for w in words]

        self.vocab = [UNK, *sorted({symbol for s in spellings for symbol in s})]
        self.merges = []
        known = set(self.vocab)

        pair_number: dict[Pair, int] = {}  # order of first appearance: the tie-breaker
        counts: dict[Pair, int] = defaultdict(int)
        holders: dict[Pair, set[int]] = defaultdict(set)  # pair -> words containing it
        for w, spelling in enumerate(spellings):
            for pair in pairwise(spelling):
                pair_number.setdefault(pair, len(pair_number))
            for pair in self._get_pairs(spelling):
                counts[pair] += freqs[w]
                holders[pair].add(w)
        heap = [(-c, pair_number[p], p) for p, c in counts.items()]
        heapq.heapify(heap)

        while len(self.vocab) < self.target_vocab_size:
            best = self._pop_best(heap, counts)
            if best is None:
                break
            changed: set[Pair] = set()
            for w in sorted(holders[best]):
                old = spellings[w]
                new = merge_pair(old, *best)
                old_pairs, new_pairs = self._get_pairs(old), self._get_pairs(new)
                for pair in old_pairs - new_pairs:
                    counts[pair] -= freqs[w]
                    holders[pair].discard(w)
                    changed.add(pair)
                for pair in pairwise(new):
                    pair_number.setdefault(pair, len(pair_number))
                for pair in new_pairs - old_pairs:
                    counts[pair] += freqs[w]
                    holders[pair].add(w)
                    changed.add(pair)
                spellings[w] = new
            for pair in changed:
                if counts[pair] > 0:
                    heapq.heappush(heap, (-counts[pair], pair_number[pair], pair))
                else:
                    del counts[pair], holders[pair]
            merged = best[0] + best[1]
            self.merges.append(best)
            if merged not in known:  # a token can be reached by two different merges
                known.add(merged)
                self.vocab.append(merged)

        self.vocab_size = len(self.vocab)
        self._build_mappings()

    @staticmethod
    def _pop_best(heap: list, counts: dict[Pair, int]) -> Pair | None:
        """The most frequent pair (lowest first-seen number among ties), skipping heap
        entries whose count has changed since they were pushed."""
        while heap:
            neg_count, _, pair = heapq.heappop(heap)
            if counts.get(pair, 0) == -neg_count:
                return pair
        return None

    # ------------------------------------------------------------------ encode / decode
    def encode(self, text: str) -> list[int]:
        """Whitespace-separated words, each spelled, merged and looked up (unknown: 0)."""
        ids: list[int] = []
        cache = self._word_cache
        for word in check_text(text, "BPETokenizer.encode").split():
            word_ids = cache.get(word)
            if word_ids is None:
                lookup = self.token_to_id.get
                tokens = self._apply_merges(self._get_word_tokens(word))
                word_ids = [lookup(token, UNK_ID) for token in tokens]
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[word] = word_ids
            ids.extend(word_ids)
        return ids

    def decode(self, tokens: list[int]) -> str:
        """Tokens joined, ``'</w>'`` turned into spaces, whitespace collapsed; unknown ids
        decode as ``'<UNK>'``."""
        lookup = self.id_to_token.get
        text = "".join(lookup(i, UNK) for i in check_ids(tokens, "BPETokenizer.decode"))
        return " ".join(text.replace(END_OF_WORD, " ").split())


__all__ = ["END_OF_WORD", "BPETokenizer", "merge_pair"]
