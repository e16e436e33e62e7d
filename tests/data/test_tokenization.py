"""Module 10: character and BPE tokenizers and the book's utility functions.

BPE training is checked against the book's loop written out plainly below (recount every
pair after every merge), with the documented tie-breaking; merge application against the
book's "apply each merge in order" loop.
"""

import os
import random
import subprocess
import sys
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest

import tinytorch.core.tokenization as book
from tinytorch.data.bpe import END_OF_WORD, merge_pair
from tinytorch.data.tokenization import (
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    analyze_tokenization,
    create_tokenizer,
    tokenize_dataset,
)

BOOK_CORPUS = ["hello", "hello", "help"]


# ------------------------------------------------------------------- references
def book_bpe(corpus, target):
    """The book's training loop, recounting everything each round. Ties: the pair seen
    first (pairs numbered in order of first appearance, scanning words in corpus order)."""
    word_freq = Counter(w for text in corpus for w in text.split())
    spelling = {w: [*w, END_OF_WORD] for w in word_freq}
    vocab = ["<UNK>", *sorted({s for sp in spelling.values() for s in sp})]
    merges, number = [], {}
    while len(vocab) < target:
        for sp in spelling.values():
            for pair in pairwise(sp):
                number.setdefault(pair, len(number))
        counts = Counter()
        for word, freq in word_freq.items():
            for pair in set(pairwise(spelling[word])):
                counts[pair] += freq
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], number[p]))
        for word in spelling:
            spelling[word] = merge_pair(spelling[word], *best)
        merges.append(best)
        if best[0] + best[1] not in vocab:
            vocab.append(best[0] + best[1])
    return merges, vocab


def book_apply_merges(tokens, merges):
    """The book's _apply_merges: every merge in order, each applied across the tokens."""
    for first, second in merges:
        out, i = [], 0
        while i < len(tokens):
            if i < len(tokens) - 1 and tokens[i] == first and tokens[i + 1] == second:
                out.append(first + second)
                i += 2
            else:
                out.append(tokens[i])
                i += 1
        tokens = out
    return tokens


def random_corpus(seed, n_texts=60, alphabet="abcde"):
    """Texts of short words over a small alphabet: many repeated pairs, many ties."""
    rng = random.Random(seed)
    return [
        " ".join(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
            for _ in range(rng.randint(0, 8))
        )
        for _ in range(n_texts)
    ]


# ------------------------------------------------------------------- CharTokenizer
def test_char_vocab_is_unk_then_sorted_characters():
    """build_vocab: ['<UNK>'] + sorted distinct characters; "hello" -> [2, 1, 3, 3, 4]."""
    tok = CharTokenizer()
    tok.build_vocab(["hello"])
    assert tok.vocab == ["<UNK>", *sorted(set("hello"))] == ["<UNK>", "e", "h", "l", "o"]
    assert tok.vocab_size == 5 and tok.unk_id == 0
    assert tok.encode("hello") == [tok.vocab.index(c) for c in "hello"] == [2, 1, 3, 3, 4]
    assert tok.char_to_id["h"] == 2 and tok.id_to_char[2] == "h"


def test_char_ids_do_not_depend_on_corpus_order():
    a, b = CharTokenizer(), CharTokenizer()
    a.build_vocab(["the cat", "sat"])
    b.build_vocab(["sat", "tac eht"])
    assert a.vocab == b.vocab


def test_char_round_trip_is_lossless_for_known_characters():
    corpus = random_corpus(1, alphabet="ab c\nD!é")
    tok = CharTokenizer()
    tok.build_vocab(corpus)
    rng = random.Random(2)
    for _ in range(20):
        text = "".join(rng.choice("ab c\nD!é") for _ in range(rng.randint(0, 30)))
        ids = tok.encode(text)
        assert len(ids) == len(text) and 0 not in ids
        assert tok.decode(ids) == text


def test_char_unknowns_are_zero_and_decode_as_unk():
    """Unknown characters map to 0 (never raise); 0 and ids past the vocabulary decode as
    '<UNK>'."""
    tok = CharTokenizer()
    tok.build_vocab(["abc"])
    assert tok.encode("a?c") == [1, 0, 3]
    assert tok.decode([1, 0, 3, 99, -1]) == "a<UNK>c<UNK><UNK>"


def test_char_empty_text_and_empty_ids():
    tok = CharTokenizer()
    tok.build_vocab(["abc"])
    assert tok.encode("") == [] and tok.decode([]) == ""


def test_char_untrained_knows_only_unk():
    tok = CharTokenizer()
    assert tok.vocab == ["<UNK>"] and tok.vocab_size == 1
    assert tok.encode("hi") == [0, 0]


def test_char_given_vocab_keeps_its_order_after_unk():
    """CharTokenizer(vocab=[...]): '<UNK>' first, then the given characters in order,
    duplicates and a given '<UNK>' dropped; vocab_size counts '<UNK>'."""
    tok = CharTokenizer(["c", "a", "b", "a", "<UNK>"])
    assert tok.vocab == ["<UNK>", "c", "a", "b"] and tok.vocab_size == 4
    assert tok.encode("abc") == [2, 3, 1]


def test_char_decode_accepts_numpy_ids():
    tok = CharTokenizer()
    tok.build_vocab(["hello"])
    assert tok.decode(np.array(tok.encode("hello"))) == "hello"


def test_char_bad_input_is_a_typed_error_naming_the_method():
    tok = CharTokenizer()
    with pytest.raises(ValueError, match=r"CharTokenizer: vocab\[1\] must be a single character"):
        CharTokenizer(["a", "ab"])
    with pytest.raises(TypeError, match="CharTokenizer.encode: text must be a str, got int"):
        tok.encode(5)
    with pytest.raises(TypeError, match=r"CharTokenizer.build_vocab: .*wrap it"):
        tok.build_vocab("hello")
    with pytest.raises(TypeError, match=r"CharTokenizer.build_vocab: corpus\[1\] must be a str"):
        tok.build_vocab(["ok", 3])
    with pytest.raises(TypeError, match=r"CharTokenizer.decode: tokens\[1\] must be an int"):
        tok.decode([1, 2.0])


def test_base_tokenizer_is_abstract():
    with pytest.raises(NotImplementedError):
        Tokenizer().encode("x")
    with pytest.raises(NotImplementedError):
        Tokenizer().decode([1])


# ------------------------------------------------------------------- BPE: the book's example
def test_book_helpers_spell_words_and_collect_pairs():
    tok = BPETokenizer()
    assert tok._get_word_tokens("hello") == ["h", "e", "l", "l", "o", "</w>"]
    assert tok._get_word_tokens("") == []
    assert tok._get_pairs(["l", "l", "l"]) == {("l", "l")}  # a set: once per word
    assert tok._get_pairs(["h", "e", "l", "p", "</w>"]) == {
        ("h", "e"), ("e", "l"), ("l", "p"), ("p", "</w>"),
    }  # fmt: skip


def test_book_example_counts_and_first_merge():
    """["hello", "hello", "help"]: ('h','e') and ('e','l') both count 3, ('l','l') 2; the
    tie goes to ('h','e'), seen first, and 'he' joins the vocabulary."""
    tok = BPETokenizer(vocab_size=8)
    counts = Counter()
    for word, freq in Counter(BOOK_CORPUS).items():
        for pair in tok._get_pairs(tok._get_word_tokens(word)):
            counts[pair] += freq
    assert counts[("h", "e")] == counts[("e", "l")] == 3 and counts[("l", "l")] == 2
    tok.train(BOOK_CORPUS)
    assert tok.merges[0] == ("h", "e")
    assert tok.vocab[:7] == ["<UNK>", "</w>", "e", "h", "l", "o", "p"]
    assert tok.vocab[7] == "he"
    assert tok._apply_merges(tok._get_word_tokens("hello"))[:2] == ["he", "l"]


def test_book_example_second_merge_is_the_true_most_frequent_pair():
    """After 'he' the counts are ('he','l')=3, ('l','l')=2 ... (the book's prose says 'll'
    comes next, but its own loop picks ('he','l'))."""
    tok = BPETokenizer(vocab_size=9)
    tok.train(BOOK_CORPUS)
    assert tok.merges == book_bpe(BOOK_CORPUS, 9)[0] == [("h", "e"), ("he", "l")]


# ------------------------------------------------------------------- BPE: training
@pytest.mark.parametrize("seed", range(6))
def test_training_matches_the_book_loop(seed):
    """Same merges, same order, same vocabulary as recounting every pair each round."""
    corpus = random_corpus(seed)
    target = 12 + 9 * seed
    tok = BPETokenizer(vocab_size=target)
    tok.train(corpus)
    merges, vocab = book_bpe(corpus, target)
    assert tok.merges == merges
    assert tok.vocab == vocab


def test_training_matches_the_book_loop_on_real_words():
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "then", "sleeps"]
    rng = random.Random(7)
    corpus = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(40)]
    tok = BPETokenizer(vocab_size=80)
    tok.train(corpus)
    assert (tok.merges, tok.vocab) == book_bpe(corpus, 80)


def test_more_merges_extend_fewer_merges():
    """Training is greedy: the merges for a larger target start with those of a smaller."""
    corpus = random_corpus(11)
    small, large = BPETokenizer(20), BPETokenizer(40)
    small.train(corpus)
    large.train(corpus)
    assert large.merges[: len(small.merges)] == small.merges


def test_tie_breaking_does_not_depend_on_string_hashing():
    """Two interpreters with different PYTHONHASHSEED learn the same merges."""
    code = (
        "from tinytorch.data.bpe import BPETokenizer\n"
        "t = BPETokenizer(40); t.train(['ab ba cd dc ef fe gh hg'] * 3 + ['abc cab bca'])\n"
        "print(t.merges)"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_vocab_size_after_training_is_the_vocabulary_built():
    """vocab_size becomes len(vocab), so every id fits an embedding table of that size:
    more than the target when the corpus has more symbols, less when pairs run out."""
    tok = BPETokenizer(vocab_size=3)
    tok.train(["hello world"])
    assert tok.merges == [] and tok.vocab_size == len(tok.vocab) == 1 + len(set("helowrd")) + 1
    assert tok.target_vocab_size == 3

    tok = BPETokenizer(vocab_size=1000)
    tok.train(["ab"])  # a, b, </w>: two merges possible, then nothing left
    assert tok.merges == [("a", "b"), ("ab", "</w>")]
    assert tok.vocab_size == len(tok.vocab) == 6
    assert max(tok.encode("ab ba b")) < tok.vocab_size


def test_train_vocab_size_argument_overrides_the_constructor():
    tok = BPETokenizer(vocab_size=1000)
    tok.train(BOOK_CORPUS, vocab_size=8)
    assert len(tok.vocab) == 8 and tok.target_vocab_size == 8


def test_retraining_replaces_everything():
    tok = BPETokenizer(vocab_size=20)
    tok.train(["zzz yyy"])
    tok.train(BOOK_CORPUS, vocab_size=9)
    assert "z" not in tok.vocab and tok.merges == [("h", "e"), ("he", "l")]


# ------------------------------------------------------------------- BPE: encode / decode
@pytest.mark.parametrize("seed", range(4))
def test_apply_merges_follows_learned_order(seed):
    """_apply_merges equals applying each merge in order, on random spellings."""
    tok = BPETokenizer(vocab_size=30)
    tok.train(random_corpus(seed))
    rng = random.Random(seed)
    for _ in range(50):
        word = "".join(rng.choice("abcde") for _ in range(rng.randint(1, 12)))
        tokens = tok._get_word_tokens(word)
        assert tok._apply_merges(tokens) == book_apply_merges(tokens, tok.merges)


def test_apply_merges_with_hand_written_merges_that_reach_one_token_twice():
    """'abc' reachable from ('ab','c') and ('a','bc'); a pair merged again later. Order
    matters, and the fast path must agree with the plain loop."""
    tok = BPETokenizer()
    tok.merges = [("b", "c"), ("abc", "d"), ("a", "b"), ("a", "bc"), ("ab", "c"), ("abc", "d")]
    tok.vocab = ["<UNK>", "a", "b", "c", "d", "</w>", "bc", "abcd", "ab", "abc"]
    tok._build_mappings()
    for word in ["abcd", "abcabcd", "ababcd", "dabc", "bcbcd", "a"]:
        tokens = tok._get_word_tokens(word)
        assert tok._apply_merges(tokens) == book_apply_merges(tokens, tok.merges), word


def test_round_trip_is_lossless_up_to_whitespace():
    """decode(encode(t)) == ' '.join(t.split()) for any text over the training characters."""
    corpus = random_corpus(3)
    tok = BPETokenizer(vocab_size=50)
    tok.train(corpus)
    rng = random.Random(4)
    texts = corpus + ["  ".join(rng.choice(corpus) for _ in range(3)) + "\n"]
    texts += ["".join(rng.choice("abcde  \t") for _ in range(40)) for _ in range(20)]
    for text in texts:
        ids = tok.encode(text)
        assert 0 not in ids
        assert tok.decode(ids) == " ".join(text.split())


def test_bpe_compresses_its_training_text():
    corpus = ["the cat sat on the mat with the hat"] * 5
    tok = BPETokenizer(vocab_size=40)
    tok.train(corpus)
    assert len(tok.encode(corpus[0])) < len(corpus[0].replace(" ", "")) + 9


def test_literal_end_of_word_marker_in_text_decodes_as_a_space():
    """The documented limit of a string marker: '</w>' typed in the text is a word end."""
    tok = BPETokenizer(vocab_size=30)
    tok.train(["a</w>b"])
    assert tok.decode(tok.encode("a</w>b")) == "a b"


def test_bpe_unknown_characters_encode_as_zero():
    tok = BPETokenizer(vocab_size=15)
    tok.train(BOOK_CORPUS)
    ids = tok.encode("hex")
    assert 0 in ids and tok.decode(ids).endswith("<UNK>")
    assert tok.decode([10_000]) == "<UNK>"


def test_bpe_empty_and_whitespace_text():
    tok = BPETokenizer(vocab_size=15)
    tok.train(BOOK_CORPUS)
    assert tok.encode("") == [] == tok.encode(" \n\t ")
    assert tok.decode([]) == ""


def test_untrained_bpe_maps_everything_to_unk():
    """Before train(): vocab is ['<UNK>'], each character and each word end encodes as 0."""
    tok = BPETokenizer(vocab_size=100)
    assert tok.vocab == ["<UNK>"] and tok.merges == [] and tok.vocab_size == 100
    assert tok.encode("hi yo") == [0] * 6
    assert tok.decode([0]) == "<UNK>"


def test_bpe_training_on_an_empty_corpus():
    tok = BPETokenizer(vocab_size=10)
    tok.train(["", "   "])
    assert tok.vocab == ["<UNK>"] and tok.merges == [] and tok.encode("a") == [0, 0]


def test_bpe_bad_input_is_a_typed_error():
    with pytest.raises(ValueError, match="BPETokenizer: vocab_size must be at least 1, got 0"):
        BPETokenizer(vocab_size=0)
    with pytest.raises(TypeError, match="BPETokenizer: vocab_size must be an int, got str"):
        BPETokenizer(vocab_size="10")
    tok = BPETokenizer()
    with pytest.raises(TypeError, match="BPETokenizer.train: corpus must be a list of strings"):
        tok.train("hello world")
    with pytest.raises(TypeError, match="BPETokenizer.encode: text must be a str, got list"):
        tok.encode(["hello"])
    with pytest.raises(TypeError, match="BPETokenizer.decode: tokens must be a sequence"):
        tok.decode("abc")


# ------------------------------------------------------------------- utilities
def test_create_tokenizer_builds_the_requested_strategy():
    corpus = ["hello world", "help"]
    char = create_tokenizer("char", vocab_size=10, corpus=corpus)
    assert isinstance(char, CharTokenizer) and char.vocab[1:] == sorted(set("".join(corpus)))
    bpe = create_tokenizer("BPE", vocab_size=15, corpus=corpus)
    assert isinstance(bpe, BPETokenizer) and len(bpe.vocab) == 15
    reference = BPETokenizer(15)
    reference.train(corpus)
    assert bpe.merges == reference.merges
    untrained = create_tokenizer("bpe", 50, None)
    assert untrained.vocab == ["<UNK>"] and untrained.vocab_size == 50


def test_create_tokenizer_rejects_unknown_strategies():
    with pytest.raises(ValueError, match=r"create_tokenizer: unknown strategy 'word'.*'char'"):
        create_tokenizer("word", 100, ["x"])


def test_tokenize_dataset_truncates_without_padding():
    tok = create_tokenizer("char", corpus=["abcdef"])
    texts = ["abcdef", "ab", ""]
    assert tokenize_dataset(texts, tok, max_length=3) == [
        tok.encode("abc"), tok.encode("ab"), [],
    ]  # fmt: skip
    assert tokenize_dataset(texts, tok, None) == [tok.encode(t) for t in texts]
    assert tokenize_dataset(texts, tok, 0) == [[], [], []]
    with pytest.raises(ValueError, match="tokenize_dataset: max_length must be >= 0, got -1"):
        tokenize_dataset(texts, tok, -1)
    with pytest.raises(TypeError, match="tokenize_dataset: tokenizer must have an encode"):
        tokenize_dataset(texts, "char", 3)


def test_analyze_tokenization_char_compression_is_one():
    texts = ["hello", "world!"]
    tok = create_tokenizer("char", corpus=["helowrd"])
    stats = analyze_tokenization(texts, tok)
    assert stats["compression_ratio"] == 1.0
    assert stats["total_tokens"] == stats["total_characters"] == 11
    assert stats["avg_sequence_length"] == 5.5
    assert (stats["max_sequence_length"], stats["min_sequence_length"]) == (6, 5)
    assert stats["unk_rate"] == pytest.approx(1 / 11)  # '!' was not in the corpus
    assert stats["unique_tokens"] == len(set("helowrd!"))
    assert stats["vocab_size"] == tok.vocab_size


def test_analyze_tokenization_bpe_compression_is_characters_per_token():
    corpus = ["the cat sat on the mat"] * 4
    tok = create_tokenizer("bpe", 30, corpus)
    stats = analyze_tokenization(corpus, tok)
    n_tokens = sum(len(tok.encode(t)) for t in corpus)
    assert stats["total_tokens"] == n_tokens
    assert stats["compression_ratio"] == pytest.approx(sum(map(len, corpus)) / n_tokens)
    assert stats["compression_ratio"] > 1.0 and stats["unk_rate"] == 0.0


def test_analyze_tokenization_of_nothing_is_zeros():
    stats = analyze_tokenization([], create_tokenizer("char", corpus=["a"]))
    assert stats["total_tokens"] == 0 and stats["compression_ratio"] == 0.0
    assert stats["avg_sequence_length"] == 0.0 and stats["unk_rate"] == 0.0


def test_book_import_path_is_the_same_implementation():
    """from tinytorch.core.tokenization import BPETokenizer (book L6959)."""
    assert book.BPETokenizer is BPETokenizer and book.CharTokenizer is CharTokenizer
    assert book.create_tokenizer is create_tokenizer and book.Tokenizer is Tokenizer
    assert book.tokenize_dataset is tokenize_dataset
    assert book.analyze_tokenization is analyze_tokenization
