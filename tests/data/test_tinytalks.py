"""The TinyTalks loader and the Q/A text format, on small files the tests write; downloads
are faked (no network)."""

import hashlib
import io
import socket
import urllib.error
import urllib.request

import pytest

import tinytorch
from tinytorch.data.datasets import (
    DatasetNotFoundError,
    format_qa_pairs,
    format_qa_prompt,
    load_tinytalks,
    parse_qa_text,
    read_qa_file,
    tinytalks,
)

PAIRS = [
    ("What is the capital of France?", "Paris"),
    ("If a train travels 120 km in 2 hours, what is its average speed?", "60 km/h"),
    ("What color is the sky?", "Blue"),
]
BOOK_TEXT = "".join(f"Q: {q}\nA: {a}\n\n" for q, a in PAIRS)  # the book's format, by hand


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any real download attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def write(path, text, newline="\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------------------------- parsing
def test_the_books_format_reads_as_pairs():
    assert parse_qa_text(BOOK_TEXT) == PAIRS


def test_windows_line_ends_bom_and_trailing_spaces_are_tolerated():
    text = "\ufeff" + "".join(f"Q:  {q}   \nA:{a}\t \n  \n" for q, a in PAIRS)
    assert parse_qa_text(text.replace("\n", "\r\n")) == PAIRS


def test_a_missing_blank_line_between_pairs_is_fine():
    text = "".join(f"Q: {q}\nA: {a}\n" for q, a in PAIRS)
    assert parse_qa_text(text) == PAIRS


def test_a_title_before_the_first_question_is_skipped():
    assert parse_qa_text("TinyTalks test set\nversion 1\n\n" + BOOK_TEXT) == PAIRS


def test_a_line_without_prefix_continues_the_field_above():
    text = "Q: Name two\nprimary colors.\nA: Red\nand blue\n\nQ: x?\nA: y\n"
    assert parse_qa_text(text) == [("Name two\nprimary colors.", "Red\nand blue"), ("x?", "y")]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("A: Paris\n", 1, "'A:' line with no 'Q:' line before it"),
        ("Q: one?\nA: 1\n\nQ: two?\n\nQ: three?\nA: 3\n", 4, "has no 'A:' line"),
        ("Q: one?\nA: 1\n\nQ: two?\n", 4, "has no 'A:' line"),
        ("Q: one?\nA: 1\n\nstray words\n", 4, "expected a line starting with 'Q:' or 'A:'"),
        ("Q: one?\nA: 1\nA: 2\n", 3, "a second 'A:'"),
        ("Q:\nA: 1\n", 1, "empty question"),
        ("Q: one?\nA:   \n", 2, "empty answer"),
    ],
)
def test_malformed_text_names_file_and_line(tmp_path, text, line, what):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(ValueError, match=rf"bad\.txt:{line}: .*{what}"):
        read_qa_file(path)


def test_non_utf8_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Q: café?\nA: oui\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt: not UTF-8"):
        read_qa_file(path)


# ------------------------------------------------------------------- formatting
def test_format_writes_the_training_text_and_reads_back():
    assert format_qa_pairs(PAIRS) == BOOK_TEXT
    multi = [("Name two\nprimary colors.", "Red\nand blue")]
    assert parse_qa_text(format_qa_pairs(multi)) == multi
    assert format_qa_prompt("What is 2 plus 2?") == "Q: What is 2 plus 2?\nA: "


@pytest.mark.parametrize(
    "pairs", [[("", "a")], [("q", " ")], [("q", "a\n\nb")], [("q", "a\nQ: b")], [("q",)]]
)
def test_format_refuses_pairs_that_would_not_read_back(pairs):
    with pytest.raises((ValueError, TypeError), match="format_qa_pairs: pair 0"):
        format_qa_pairs(pairs)


# ------------------------------------------------------------------- loading
def test_loads_a_file_from_a_directory_and_credits_it(tmp_path, capsys):
    """The pairs come back in order; the printed line names the file, the licence, and
    that this copy is not the published v1 (its checksum differs)."""
    write(tmp_path / "tinytalks_v1.txt", BOOK_TEXT)
    assert load_tinytalks(tmp_path, download=False) == PAIRS
    out = capsys.readouterr().out
    assert "3 Q&A pairs" in out and "CC BY 4.0" in out and "TinyTorch" in out
    assert "differs from the published v1" in out


def test_data_dir_may_be_the_file_itself(tmp_path):
    path = write(tmp_path / "my_talks.txt", BOOK_TEXT, newline="\r\n")
    assert load_tinytalks(path, download=False) == PAIRS


def test_the_data_dir_variable_is_honoured(tmp_path, monkeypatch):
    """TINYTORCH_DATA_DIR=D means the file in D/tinytalks."""
    write(tmp_path / "tinytalks" / "tinytalks_v1.txt", BOOK_TEXT)
    monkeypatch.setenv("TINYTORCH_DATA_DIR", str(tmp_path))
    assert tinytalks.default_tinytalks_dir() == tmp_path / "tinytalks"
    assert load_tinytalks(download=False) == PAIRS


def test_an_empty_file_is_an_error(tmp_path):
    write(tmp_path / "tinytalks_v1.txt", "\n\n")
    with pytest.raises(ValueError, match="no 'Q:' / 'A:' pairs"):
        load_tinytalks(tmp_path, download=False)


def test_without_the_file_and_downloads_the_message_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_tinytalks(tmp_path / "empty", download=False)
    message = str(info.value)
    assert "tinytalks_v1.txt" in message and str(tmp_path / "empty") in message
    assert "--data-dir" in message and "TINYTORCH_DATA_DIR" in message


def test_offline_fails_fast_and_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def offline(request, timeout):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    target = tmp_path / "tinytalks"
    with pytest.raises(DatasetNotFoundError, match="network unreachable") as info:
        load_tinytalks(target)
    assert calls == [tinytalks.MIRRORS[0] + "tinytalks_v1.txt"]
    assert "tinytalks_v1.txt" in str(info.value)
    assert list(target.iterdir()) == []


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(tmp_path, monkeypatch):
    """Bytes that are not TinyTalks v1 (here: valid Q/A text, but not the pinned file)."""
    monkeypatch.setattr(urllib.request, "urlopen", lambda r, timeout: _Response(BOOK_TEXT.encode()))
    with pytest.raises(DatasetNotFoundError, match="SHA-256") as info:
        load_tinytalks(tmp_path)
    assert "download of tinytalks_v1.txt failed" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_verified_download_lands_in_the_cache_and_is_read(tmp_path, monkeypatch, capsys):
    """With the checksum pinned to the served bytes, the file is saved under its name, read,
    and reported as the published version."""
    served = BOOK_TEXT.encode()
    requested = []

    def serve(request, timeout):
        requested.append(request.full_url)
        return _Response(served)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    monkeypatch.setattr(tinytalks, "SHA256", hashlib.sha256(served).hexdigest())
    assert load_tinytalks(tmp_path) == PAIRS
    assert requested == [
        "https://raw.githubusercontent.com/MLSysBook/TinyTorch/main/datasets/tinytalks/"
        "tinytalks_v1.txt"
    ]
    assert (tmp_path / "tinytalks_v1.txt").read_bytes() == served
    out = capsys.readouterr().out
    assert "CC BY 4.0" in out and "differs" not in out
    assert load_tinytalks(tmp_path) == PAIRS and len(requested) == 1  # cached now


def test_the_pinned_file_facts():
    assert tinytalks.SHA256 == "62e5b5e2095c4cd4b4a70ae9644b943f157c513f4099e2d029489ab945348a21"
    assert (tinytalks.SIZE_BYTES, tinytalks.NUM_PAIRS) == (17_945, 301)


def test_load_tinytalks_is_exported_at_the_top():
    assert tinytorch.load_tinytalks is load_tinytalks
