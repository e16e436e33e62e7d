"""Milestone 05, part 1: a character-level GPT learns to answer questions.

    "Q: ...\\nA: ..." text --> CharTokenizer --> GPT (Embedding + positions,
    causal self-attention blocks, LayerNorm, Linear) --> the next character

A GPT is a language model: trained only to predict the next character of its text, it picks
up whatever structure that text has. Trained on question/answer pairs, it learns that after
``"A: "`` comes an answer to the question above: prompt it with ``"Q: question\\nA: "`` and it
writes one. The model is the book's Module 13 ``GPT`` (causal mask, pre-norm
``TransformerBlock``\\ s); the text is TinyTalks v1 (301 short Q&A pairs).

TinyTalks is downloaded (17,945 bytes, checksummed) into ``milestones/datasets/tinytalks/``
(or ``--data-dir DIR``, or ``$TINYTORCH_DATA_DIR/tinytalks``); offline and without the file the
full run reports SKIPPED and says where to put it. TinyTalks: CC BY 4.0, by the TinyTorch
authors (credited when it loads). ``--smoke`` never downloads: it trains a smaller GPT on a Q&A
corpus this project generates by code (arithmetic, counting, letters).

Gate: the training loss (mean of the last 50 steps) < 1.5, as the book states
(smoke: the loss falls to at most half of where it started). Sample answers to held-out
questions are printed, not gated.

    python milestones/05_2017_transformer/01_vaswani_generation.py [--smoke] [--backend B]
"""

import sys
import time

import numpy as np

from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.transformer import GPT
from tinytorch.data.datasets import DatasetNotFoundError, load_tinytalks
from tinytorch.data.datasets.qa_text import format_qa_pairs
from tinytorch.data.datasets.synthetic_qa import synthetic_qa_pairs
from tinytorch.data.text import TextWindows, answer
from tinytorch.tito.contract import (
    dataset_dir,
    finish,
    fit_language_model,
    milestone_parser,
    skip,
    start,
)

GATE = 1.5
# (embed, layers, heads, context, batch, steps, lr) for the full and the smoke runs
FULL = (128, 4, 4, 64, 16, 800, 2e-3)
SMOKE = (48, 2, 4, 32, 16, 250, 3e-3)


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--data-dir", default=None, help="a directory holding tinytalks_v1.txt")
    parser.add_argument("--no-download", action="store_true", help="use only files on disk")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    args = parser.parse_args(argv)
    start(args)
    embed, layers, heads, context, batch, steps, lr = SMOKE if args.smoke else FULL
    steps = args.steps or steps

    if args.smoke:
        pairs = synthetic_qa_pairs(n=None, seed=args.seed)
        print(f"Smoke corpus: {len(pairs)} generated Q&A pairs (arithmetic, counting, letters)")
    else:
        try:
            pairs = load_tinytalks(dataset_dir(args, "tinytalks"), download=not args.no_download)
        except DatasetNotFoundError as exc:
            print(exc)
            return skip(str(exc).splitlines()[0])
    held_out, train = pairs[:5], pairs[5:]
    text = format_qa_pairs(train)
    tokenizer = CharTokenizer()
    tokenizer.build_vocab([format_qa_pairs(pairs)])
    ids = tokenizer.encode(text)
    print(f"  {len(train)} training pairs, {len(text):,} characters, vocabulary "
          f"{tokenizer.vocab_size} characters; {len(held_out)} questions held out")  # fmt: skip

    model = GPT(tokenizer.vocab_size, embed, layers, heads, max_seq_len=context)
    n_params = sum(p.size for p in model.parameters())
    print(f"Model: GPT(vocab {tokenizer.vocab_size}, embed {embed}, {layers} layers, "
          f"{heads} heads, context {context}): {n_params:,} parameters")  # fmt: skip
    print(f"Training: Adam lr {lr}, batch {batch} windows of {context} characters, "
          f"{steps} steps\n")  # fmt: skip

    begin = time.perf_counter()
    losses = fit_language_model(model, TextWindows(ids, context, args.seed), steps, lr, batch)
    seconds = time.perf_counter() - begin
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-50:]))
    print(f"\ntrained in {seconds:.1f} s; loss {first:.3f} -> {last:.3f}\n")
    for question, truth in held_out[:3]:
        print(f"Q: {question}\nA: {answer(model, tokenizer, question)}   (reference: {truth})")

    if args.smoke:
        return finish(last <= first / 2, f"training loss {first:.3f} -> {last:.3f} (at most half)")
    return finish(last < GATE, f"training loss {last:.3f} {'<' if last < GATE else '>='} {GATE}")


if __name__ == "__main__":
    sys.exit(main())
