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

    cd milestones/05_2017_transformer && python 02_vaswani_dialogue.py --epochs 5  # the book
    python milestones/05_2017_transformer/02_vaswani_dialogue.py [--smoke] [--backend B]
"""

import sys

from _qa_gpt import begin, loss_gate, train

from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.transformer import GPT
from tinytorch.data.datasets.qa_text import format_qa_pairs
from tinytorch.data.text import answer

TURNS = 3  # Q&A turns per dialogue
# (embed, layers, heads, context, batch, steps, lr) for the full and the smoke runs
FULL = (128, 4, 4, 128, 8, 800, 2e-3)
SMOKE = (48, 2, 4, 64, 8, 250, 3e-3)


def dialogues(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Consecutive pairs grouped ``TURNS`` at a time: one conversation each."""
    return [pairs[k : k + TURNS] for k in range(0, len(pairs) - TURNS + 1, TURNS)]


def main(argv: list[str] | None = None) -> int:
    started = begin(__doc__, argv, FULL, SMOKE)
    if isinstance(started, int):  # SKIPPED: no TinyTalks here
        return started
    args, (embed, layers, heads, context, batch, steps, lr), pairs = started

    talks = dialogues(pairs)
    held_out, training = talks[:2], talks[2:]  # two conversations the model never sees
    text = "\n".join(format_qa_pairs(talk) for talk in training)
    tokenizer = CharTokenizer()
    tokenizer.build_vocab([format_qa_pairs(pairs)])
    print(f"  {len(training)} training dialogues of {TURNS} turns, {len(text):,} characters; "
          f"{len(held_out)} dialogues held out")  # fmt: skip

    model = GPT(tokenizer.vocab_size, embed, layers, heads, max_seq_len=context)
    ids = tokenizer.encode(text)
    first, last = train(model, ids, context, batch, args.steps or steps, lr, args.seed)
    for talk in held_out:
        earlier = format_qa_pairs(talk[:-1])
        question, truth = talk[-1]
        print(earlier + f"Q: {question}")
        print(f"A: {answer(model, tokenizer, question, context=earlier)}   (reference: {truth})\n")
    return loss_gate(args.smoke, first, last)


if __name__ == "__main__":
    sys.exit(main())
