"""The generated smoke Q&A corpus: deterministic, distinct, and every answer right (checked
by working each question out independently)."""

import re
import string

import pytest

from tinytorch.data.datasets import format_qa_pairs, parse_qa_text, synthetic_qa_pairs
from tinytorch.data.datasets.synthetic_qa import NUM_SYNTHETIC_PAIRS
from tinytorch.data.tokenization import CharTokenizer


def solve(question):
    """The answer a person would give, worked out from the question's words."""
    if m := re.fullmatch(r"what is (\d+) (plus|minus) (\d+)\?", question):
        a, op, b = int(m[1]), m[2], int(m[3])
        return str(a + b if op == "plus" else a - b)
    if m := re.fullmatch(r"what number comes (after|before) (\d+)\?", question):
        return str(int(m[2]) + (1 if m[1] == "after" else -1))
    if m := re.fullmatch(r"count from (\d+) to (\d+)", question):
        return " ".join(map(str, range(int(m[1]), int(m[2]) + 1)))
    if m := re.fullmatch(r"what letter comes (after|before) ([a-z])\?", question):
        return chr(ord(m[2]) + (1 if m[1] == "after" else -1))
    raise AssertionError(f"unexpected question {question!r}")


def test_every_answer_is_right():
    for question, answer in synthetic_qa_pairs(None):
        assert answer == solve(question), question


def test_the_corpus_is_distinct_and_covers_every_family():
    pairs = synthetic_qa_pairs(None)
    assert len(pairs) == len(set(pairs)) == NUM_SYNTHETIC_PAIRS
    expected = {
        "plus": 10 * 10,
        "minus": sum(a + 1 for a in range(10)),
        "number comes after": 20,
        "number comes before": 20,
        "count from": sum(9 - gap for gap in range(1, 5)),
        "letter comes after": len(string.ascii_lowercase) - 1,
        "letter comes before": len(string.ascii_lowercase) - 1,
    }
    for words, count in expected.items():
        assert sum(words in q for q, _ in pairs) == count, words
    assert sum(expected.values()) == NUM_SYNTHETIC_PAIRS
    assert ("what letter comes after c?", "d") in pairs
    assert ("what is 3 plus 4?", "7") in pairs


def test_same_seed_same_list_other_seed_other_order():
    assert synthetic_qa_pairs(50, seed=1) == synthetic_qa_pairs(50, seed=1)
    assert synthetic_qa_pairs(50, seed=1) != synthetic_qa_pairs(50, seed=2)
    assert sorted(synthetic_qa_pairs(None, seed=1)) == sorted(synthetic_qa_pairs(None, seed=2))


def test_a_smaller_n_is_a_prefix_of_a_larger_one():
    assert synthetic_qa_pairs(200)[:30] == synthetic_qa_pairs(30)


def test_n_outside_the_corpus_is_an_error():
    with pytest.raises(ValueError, match=f"between 0 and {NUM_SYNTHETIC_PAIRS}"):
        synthetic_qa_pairs(NUM_SYNTHETIC_PAIRS + 1)
    with pytest.raises(ValueError, match="got -1"):
        synthetic_qa_pairs(-1)
    with pytest.raises(TypeError, match="n must be an int or None"):
        synthetic_qa_pairs(2.5)


def test_training_text_reads_back_and_has_a_small_character_vocabulary():
    pairs = synthetic_qa_pairs(100, seed=3)
    text = format_qa_pairs(pairs)
    assert text.startswith(f"Q: {pairs[0][0]}\nA: {pairs[0][1]}\n\n")
    assert parse_qa_text(text) == pairs
    tok = CharTokenizer()
    tok.build_vocab([text])
    assert tok.vocab_size < 50
    assert tok.decode(tok.encode(text)) == text
