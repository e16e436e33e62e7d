"""Milestone 05, part 2: a GPT that follows a conversation.

    dialogue text (Q/A, Q/A, Q/A) --> CharTokenizer --> GPT with a longer context
    --> the next answer, written with the earlier turns in view

Part 1 answered one question at a time. A chat model reads the whole conversation: its
prompt is every earlier turn followed by the new question. Here the training text is made of
*dialogues* (three Q&A turns in a row, separated by a blank line), and the GPT's context is
long enough to hold a whole dialogue, so every answer is learned with the earlier turns in
view -- the same model as part 1, trained on conversations instead of single pairs.

Data as in part 1: TinyTalks v1 (downloaded, CC BY 4.0, credited when it loads; SKIPPED
offline without the file), or with ``--smoke`` the Q&A corpus this project generates by code.

Gate: the training loss (mean of the last 50 steps) < 1.5, as the book states (smoke: the
loss falls to at most half of where it started). Answers in held-out dialogues are printed.

    python milestones/05_2017_transformer/02_vaswani_dialogue.py [--smoke] [--backend B]
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
TURNS = 3  # Q&A turns per dialogue
# (embed, layers, heads, context, batch, steps, lr) for the full and the smoke runs
FULL = (128, 4, 4, 128, 8, 800, 2e-3)
SMOKE = (48, 2, 4, 64, 8, 250, 3e-3)


def dialogues(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Consecutive pairs grouped ``TURNS`` at a time: one conversation each."""
    return [pairs[k : k + TURNS] for k in range(0, len(pairs) - TURNS + 1, TURNS)]


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
    talks = dialogues(pairs)
    held_out, train = talks[:2], talks[2:]
    text = "\n".join(format_qa_pairs(talk) for talk in train)
    tokenizer = CharTokenizer()
    tokenizer.build_vocab([format_qa_pairs(pairs)])
    print(f"  {len(train)} training dialogues of {TURNS} turns, {len(text):,} characters; "
          f"{len(held_out)} dialogues held out")  # fmt: skip

    model = GPT(tokenizer.vocab_size, embed, layers, heads, max_seq_len=context)
    n_params = sum(p.size for p in model.parameters())
    print(f"Model: GPT(vocab {tokenizer.vocab_size}, embed {embed}, {layers} layers, "
          f"{heads} heads, context {context}): {n_params:,} parameters")  # fmt: skip
    print(f"Training: Adam lr {lr}, batch {batch} windows of {context} characters, "
          f"{steps} steps\n")  # fmt: skip

    begin = time.perf_counter()
    windows = TextWindows(tokenizer.encode(text), context, args.seed)
    losses = fit_language_model(model, windows, steps, lr, batch)
    seconds = time.perf_counter() - begin
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-50:]))
    print(f"\ntrained in {seconds:.1f} s; loss {first:.3f} -> {last:.3f}\n")
    for talk in held_out:
        earlier = format_qa_pairs(talk[:-1])
        question, truth = talk[-1]
        print(earlier + f"Q: {question}")
        print(f"A: {answer(model, tokenizer, question, context=earlier)}   (reference: {truth})\n")

    if args.smoke:
        return finish(last <= first / 2, f"training loss {first:.3f} -> {last:.3f} (at most half)")
    return finish(last < GATE, f"training loss {last:.3f} {'<' if last < GATE else '>='} {GATE}")


if __name__ == "__main__":
    sys.exit(main())
