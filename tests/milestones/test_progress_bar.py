"""The training progress bar: a redrawn line on a terminal, plain lines in a pipe."""

import io

import pytest

from tinytorch.util.progress import ProgressBar, format_metrics


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("TINYTORCH_PROGRESS", raising=False)


def test_in_a_pipe_it_prints_about_ten_plain_lines():
    """100 epochs to a non-terminal: the first, every tenth and the last, one per line."""
    out = io.StringIO()
    bar = ProgressBar(range(100), desc="training", unit="epoch", stream=out)
    for epoch in bar:
        bar.set(loss=1.0 / (epoch + 1), acc=epoch / 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11 and "\r" not in out.getvalue()
    assert lines[0].startswith("training epoch   1/100  loss 1.0000  acc   0.0%")
    assert lines[-1].startswith("training epoch 100/100  loss 0.0100  acc  99.0%")


def test_on_a_terminal_it_redraws_one_line():
    """On a terminal the line is redrawn with a carriage return and ends with one newline."""
    out = FakeTerminal()
    for _ in ProgressBar(range(5), desc="train", stream=out):
        pass
    text = out.getvalue()
    assert text.startswith("\r") and text.count("\n") == 1
    assert "[########################] step 5/5" in text


def test_the_environment_can_force_either_style(monkeypatch):
    """TINYTORCH_PROGRESS=bar draws a bar even into a pipe; =plain never does."""
    monkeypatch.setenv("TINYTORCH_PROGRESS", "bar")
    assert ProgressBar(total=3, stream=io.StringIO()).interactive
    monkeypatch.setenv("TINYTORCH_PROGRESS", "plain")
    assert not ProgressBar(total=3, stream=FakeTerminal()).interactive


def test_metrics_format_accuracies_as_percentages():
    """Names containing 'acc' are shown in percent, other floats with 4 decimals."""
    assert format_metrics({"loss": 0.25, "test_acc": 0.975, "lr": 3}) == (
        "loss 0.2500  test_acc  97.5%  lr 3"
    )


def test_manual_updates_and_unknown_totals():
    """update() without an iterable; without a total it counts without a bar."""
    out = io.StringIO()
    with ProgressBar(stream=out, unit="batch") as bar:
        bar.update()
        bar.update()
    assert out.getvalue().splitlines()[0].startswith("batch 1")
