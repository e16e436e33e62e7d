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

    cd milestones/05_2017_transformer && python 01_vaswani_generation.py --epochs 5  # the book
    python milestones/05_2017_transformer/01_vaswani_generation.py [--smoke] [--backend B]
"""

import sys

from _qa_gpt import begin, loss_gate, train

from tinytorch.core.tokenization import CharTokenizer
from tinytorch.core.transformer import GPT
from tinytorch.data.datasets.qa_text import format_qa_pairs
from tinytorch.data.text import answer

# (embed, layers, heads, context, batch, steps, lr) for the full and the smoke runs
FULL = (128, 4, 4, 64, 16, 800, 2e-3)
SMOKE = (48, 2, 4, 32, 16, 250, 3e-3)


def main(argv: list[str] | None = None) -> int:
    started = begin(__doc__, argv, FULL, SMOKE)
    if isinstance(started, int):  # SKIPPED: no TinyTalks here
        return started
    args, (embed, layers, heads, context, batch, steps, lr), pairs = started

    held_out, training = pairs[:5], pairs[5:]  # five questions the model never sees
    text = format_qa_pairs(training)
    tokenizer = CharTokenizer()
    tokenizer.build_vocab([format_qa_pairs(pairs)])
    print(f"  {len(training)} training pairs, {len(text):,} characters, vocabulary "
          f"{tokenizer.vocab_size} characters; {len(held_out)} questions held out")  # fmt: skip

    model = GPT(tokenizer.vocab_size, embed, layers, heads, max_seq_len=context)
    ids = tokenizer.encode(text)
    first, last = train(model, ids, context, batch, args.steps or steps, lr, args.seed)
    for question, truth in held_out[:3]:
        print(f"Q: {question}\nA: {answer(model, tokenizer, question)}   (reference: {truth})")
    return loss_gate(args.smoke, first, last)


if __name__ == "__main__":
    sys.exit(main())
