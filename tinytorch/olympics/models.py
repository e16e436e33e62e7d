"""``SimpleMLP`` (book Module 20, part 1): the baseline model the capstone benchmarks.

    from tinytorch.olympics import SimpleMLP, BenchmarkReport
    X_train, y_train, X_test, y_test = load_tinydigits()    # 8x8 digits, shipped
    model = SimpleMLP()                                       # 64 -> 32 -> 10
    BenchmarkReport("simple_mlp").benchmark_model(model, X_test, y_test)

The book names it ("baseline model for benchmarking demonstrations") without giving its
signature. Ours is ``Flatten -> Linear(input_size, hidden_size) -> ReLU ->
Linear(hidden_size, output_size)``, sized by default for TinyDigits (the dataset that ships
with tinytorch), so it can be benchmarked without a download; ``SimpleMLP(784, 128, 10)``
takes the ``(1, 28, 28)`` inputs of ``Benchmark.run_latency_benchmark``'s default. It is a
``Sequential``: the book's optimizations that walk ``model.layers`` (``structured_prune``,
``quantize_model``) work on it unchanged.
"""

from __future__ import annotations

from tinytorch.nn.activations import ReLU
from tinytorch.nn.layers import Flatten, Linear, Sequential
from tinytorch.nn.module import positive_int


class SimpleMLP(Sequential):
    """``SimpleMLP(input_size=64, hidden_size=32, output_size=10)``: one hidden ReLU layer;
    ``fc1`` and ``fc2`` are its two ``Linear`` layers (also in ``layers``)."""

    def __init__(self, input_size: int = 64, hidden_size: int = 32, output_size: int = 10):
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.output_size = positive_int(output_size, "output_size")
        super().__init__(
            Flatten(),
            Linear(self.input_size, self.hidden_size),
            ReLU(),
            Linear(self.hidden_size, self.output_size),
        )

    @property
    def fc1(self):
        """The first (hidden) layer, whatever ``layers[1]`` is now (``quantize_model``
        replaces it with its int8 version)."""
        return self.layers[1]

    @property
    def fc2(self):
        """The output layer, ``layers[3]``."""
        return self.layers[3]

    def __repr__(self) -> str:
        return (
            f"SimpleMLP(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"output_size={self.output_size})"
        )
