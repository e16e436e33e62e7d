"""Milestone 05, part 0: attention, proven on one task no position-blind model can do.

    tokens --> Embedding + learned positions --> [self-attention --> MLP] x 2
           --> LayerNorm --> Linear --> one digit per position

"Attention Is All You Need" (Vaswani et al., 2017) replaced recurrence by attention: every
position asks every other one what it holds, and takes a weighted average of the answers.
The proof here is **sequence reversal**: read 8 random digits, write them backwards. Output
position ``i`` must copy input position ``7 - i`` -- a fixed long-range jump that a model
can only make by *attending* to the right place, and only if it knows where each token sits
(positional embeddings). There is no shortcut: a per-position MLP sees one token and scores
10%; a bag of tokens without positions cannot know the order.

The model uses the book's Module 11-13 pieces: ``EmbeddingLayer`` (token + learned position),
two pre-norm ``TransformerBlock``\\ s (``MultiHeadAttention`` with 4 heads, ``LayerNorm``,
``MLP``) without a mask -- the encoder reads the whole input -- and a ``Linear`` head. It
trains on fresh random sequences every step (Adam, cross-entropy over every position) and is
tested on 1,000 held-out sequences that never appear in training.

Gate: token accuracy on the held-out sequences >= 95% (the book: "95%+ on sequence
reversal", in about 30 seconds).

    python milestones/05_2017_transformer/00_vaswani_attention_proof.py [--smoke] [--backend B]
"""

import sys
import time

import numpy as np

import tinytorch
from tinytorch.core.embeddings import EmbeddingLayer
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import LayerNorm, TransformerBlock
from tinytorch.tito.contract import gate, milestone_parser, start
from tinytorch.util.progress import ProgressBar

GATE = 0.95
VOCAB = 10  # the digits 0-9
TEST_SIZE = 1000


class Reverser(Layer):
    """Digits ``(batch, seq)`` to logits ``(batch, seq, 10)``: an attention-only encoder."""

    def __init__(self, seq_len: int, embed_dim: int, num_heads: int, num_layers: int) -> None:
        self.embed = EmbeddingLayer(VOCAB, embed_dim, max_seq_len=seq_len)
        self.blocks = [
            TransformerBlock(embed_dim, num_heads, dropout_prob=0.0) for _ in range(num_layers)
        ]
        self.norm = LayerNorm(embed_dim)
        self.head = Linear(embed_dim, VOCAB)
        self.embed_dim = embed_dim

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)  # no mask: every position may look at every other
        batch, seq, _ = x.shape
        logits = self.head(self.norm(x).reshape(batch * seq, self.embed_dim))
        return logits.reshape(batch, seq, VOCAB)


class Sequences:
    """Random digit strings; the held-out test strings are never drawn for training."""

    def __init__(self, seq_len: int, seed: int) -> None:
        self.seq_len = seq_len
        self.rng = np.random.default_rng(seed)
        self.test = self.rng.integers(0, VOCAB, (TEST_SIZE, seq_len))
        self.held_out = {row.tobytes() for row in self.test}

    def batch(self, size: int) -> np.ndarray:
        x = self.rng.integers(0, VOCAB, (size, self.seq_len))
        for i, row in enumerate(x):
            while row.tobytes() in self.held_out:  # (a 1-in-10^5 event: redraw)
                row = x[i] = self.rng.integers(0, VOCAB, self.seq_len)
        return x


def predict(model: Reverser, x: np.ndarray) -> np.ndarray:
    """The most likely digit at every position, in eval mode without gradients."""
    model.eval()
    with tinytorch.no_grad():
        predicted = model(Tensor(x)).numpy().argmax(axis=-1)
    model.train()
    return predicted


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="default 250 (smoke: 120)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=8)
    parser.add_argument("--embed-dim", type=int, default=32)
    args = parser.parse_args(argv)
    start(args)
    steps = args.steps or (120 if args.smoke else 250)

    data = Sequences(args.seq_len, args.seed)
    model = Reverser(args.seq_len, args.embed_dim, num_heads=4, num_layers=2)
    n_params = sum(p.size for p in model.parameters())
    print(f"Task: reverse {args.seq_len} random digits; {TEST_SIZE} held-out test sequences")
    print(f"  e.g. {data.test[0].tolist()} -> {data.test[0][::-1].tolist()}")
    print(
        f"Model: EmbeddingLayer(10, {args.embed_dim}, learned positions) -> 2 x "
        f"TransformerBlock(4 heads) -> LayerNorm -> Linear {args.embed_dim}->10"
    )
    print(f"  {n_params:,} parameters")
    print(f"Training: Adam lr {args.lr}, batch {args.batch_size}, {steps} steps\n")

    optimizer = Adam(model.parameters(), lr=args.lr)
    loss_fn = CrossEntropyLoss()

    def train_step(x, y):
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    step = train_step if args.no_compile else tinytorch.compile(train_step)
    begin = time.perf_counter()
    bar = ProgressBar(range(steps), desc="training", unit="step")
    for k in bar:
        x = data.batch(args.batch_size)
        loss = step(Tensor(x), Tensor(np.ascontiguousarray(x[:, ::-1])))
        if k % 50 == 49 or k == steps - 1:
            bar.set(loss=loss.item())
    seconds = time.perf_counter() - begin

    correct = predict(model, data.test) == data.test[:, ::-1]
    acc, whole = float(correct.mean()), float(correct.all(axis=1).mean())
    for row in data.test[1:4]:
        print(f"{row.tolist()} -> {predict(model, row[None])[0].tolist()}")
    print(
        f"\ntrained in {seconds:.1f} s; held-out token accuracy {acc:.1%}, "
        f"whole sequences right {whole:.1%}"
    )
    return gate("held-out reversal token accuracy", acc, GATE)


if __name__ == "__main__":
    sys.exit(main())
