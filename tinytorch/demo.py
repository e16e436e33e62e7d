"""A tour of the compiler: build a small graph, show it after every pass, run it, profile it.

    python -m tinytorch.demo [--backend numpy] [--dump-dir tinytorch-dump]

A two-layer network's forward pass and gradients are built lazily, dumped (one text + DOT
file per pass), realized on the chosen backend, checked against NumPy, and profiled per user
line. Exits non-zero if the values disagree with NumPy.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import tinytorch
from tinytorch import Tensor
from tinytorch.core.activations import GELU, Softmax


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help=f"one of {tinytorch.available_backends()}")
    parser.add_argument("--dump-dir", default="tinytorch-dump", help="where the per-pass graphs go")
    args = parser.parse_args(argv)
    if args.backend:
        tinytorch.set_backend(args.backend)

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((4, 3)).astype(np.float32)
    w1_np = rng.standard_normal((3, 5)).astype(np.float32)
    w2_np = rng.standard_normal((5, 2)).astype(np.float32)

    x = Tensor(x_np)
    w1 = Tensor(w1_np, requires_grad=True)
    w2 = Tensor(w2_np, requires_grad=True)
    h = x @ w1 * 1.0 + 0.0  # `* 1.0 + 0.0` is there for the passes to remove
    a = GELU()(h)
    probs = Softmax()(a @ w2)
    loss = (probs * probs).sum()
    loss.backward()
    print(
        f"built lazily: probs {probs.shape}, loss {loss.shape}, "
        f"grads {w1.grad.shape} {w2.grad.shape}; nothing computed yet "
        f"(loss realized: {loss._node.value is not None})\n"
    )

    files = tinytorch.dump_graph([loss, w1.grad, w2.grad], args.dump_dir, quiet=True)
    print(f"graph after each pass written to {args.dump_dir}/ ({len(files)} files):")
    for f in files:
        if f.suffix == ".txt":
            print(f"  {f.name:<40} {len(f.read_text().splitlines()) - 3:>4} nodes")
    print()
    print(tinytorch.explain(probs).split("== after")[0])

    with tinytorch.profile() as prof:
        got_loss, got_g1 = loss.item(), w1.grad.numpy()
    print(f"realized on backend {tinytorch.current_backend()!r}: loss = {got_loss:.6f}\n")
    print(prof.table(limit=8))

    # The same computation in plain NumPy, as the check.
    h = x_np @ w1_np
    g = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    z = g @ w2_np
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    ok = np.allclose(got_loss, (p * p).sum(), rtol=1e-5) and np.isfinite(got_g1).all()
    print(f"\nmatches NumPy: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
