"""Module 13: the GPT as a whole. Model-level properties (causality, position is used, every
parameter learns, a tiny model overfits a batch), generation, and a compiled training step
that equals the eager one. Every backend."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Adam, CrossEntropyLoss, Tensor
from tinytorch.core.transformer import GPT
from tinytorch.ir.errors import ShapeError

VOCAB = 16


def tiny_gpt(seed: int = 0, **kwargs) -> GPT:
    np.random.seed(seed)
    options = {"embed_dim": 16, "num_layers": 2, "num_heads": 2, "max_seq_len": 12}
    options.update(kwargs)
    return GPT(VOCAB, **options)


def lm_loss(model: GPT, x, y) -> Tensor:
    targets = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
    return CrossEntropyLoss()(model(x).reshape(-1, VOCAB), targets.reshape(-1))


def naive_greedy(model: GPT, prompt: np.ndarray, steps: int) -> np.ndarray:
    """Greedy decoding the plain way: run the whole (cropped) prefix, take the argmax."""
    seq = prompt.copy()
    model.eval()
    for _ in range(steps):
        logits = model(Tensor(seq[:, -model.max_seq_len :])).numpy()
        seq = np.concatenate([seq, logits[:, -1].argmax(-1)[:, None]], axis=1)
    model.train()
    return seq


# ------------------------------------------------------------------ forward
def test_logits_have_one_row_per_position(rng):
    model = tiny_gpt()
    tokens = rng.integers(0, VOCAB, (2, 6))
    assert model(Tensor(tokens)).shape == (2, 6, VOCAB)
    np.testing.assert_allclose(
        model(Tensor(tokens[0])).numpy(), model(Tensor(tokens[:1])).numpy()[0], rtol=1e-5
    )
    assert len(model.blocks) == 2 and model.ln_f.normalized_shape == 16
    assert model._create_causal_mask(3).shape == (1, 3, 3)


def test_changing_a_future_token_never_changes_earlier_logits(rng):
    model = tiny_gpt()
    tokens = rng.integers(0, VOCAB, (1, 8))
    base = model(Tensor(tokens)).numpy()
    for t in (2, 5, 7):
        changed = tokens.copy()
        changed[0, t] = (changed[0, t] + 1) % VOCAB
        out = model(Tensor(changed)).numpy()
        np.testing.assert_allclose(out[0, :t], base[0, :t], rtol=1e-5, atol=1e-6)
        assert not np.allclose(out[0, t:], base[0, t:], atol=1e-4)


def test_permuting_earlier_positions_changes_the_output(rng):
    """Without positions, the last logits would be a symmetric function of the earlier
    tokens (attention is a weighted sum); with them, a reordering is seen."""
    model = tiny_gpt()
    tokens = np.array([[1, 2, 3, 4, 5, 6]])
    shuffled = np.array([[4, 2, 5, 1, 3, 6]])  # the same tokens, the same last one
    a = model(Tensor(tokens)).numpy()[0, -1]
    b = model(Tensor(shuffled)).numpy()[0, -1]
    assert not np.allclose(a, b, atol=1e-4)


def test_every_parameter_gets_a_nonzero_gradient_from_one_step(rng):
    model = tiny_gpt()
    x, y = rng.integers(0, VOCAB, (2, 6)), rng.integers(0, VOCAB, (2, 6))
    lm_loss(model, x, y).backward()
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == 2 + 2 * 16 + 2 + 2  # tables; 16 per block; ln_f; lm_head
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert np.abs(p.grad.numpy()).max() > 0, name


@pytest.mark.backend_independent
def test_too_long_a_sequence_is_the_books_error():
    with pytest.raises(ValueError, match="Sequence length 13 exceeds maximum 12"):
        tiny_gpt()(Tensor(np.zeros((1, 13), dtype=np.int64)))
    with pytest.raises(ShapeError, match=r"tokens must be \(batch, seq\)"):
        tiny_gpt()(Tensor(np.zeros((1, 2, 3), dtype=np.int64)))


def test_dropout_in_train_mode_only(rng):
    model = tiny_gpt(dropout_prob=0.3)
    tokens = Tensor(rng.integers(0, VOCAB, (1, 5)))
    np.random.seed(0)
    assert not np.array_equal(model(tokens).numpy(), model(tokens).numpy())
    model.eval()
    np.testing.assert_array_equal(model(tokens).numpy(), model(tokens).numpy())


# ----------------------------------------------------------------- training
def make_step(model, opt):
    """One training step of ``model`` on next-token prediction (eager; compile it to replay)."""

    def step(x, y):
        opt.zero_grad()
        loss = lm_loss(model, x, y)
        loss.backward()
        opt.step()
        return loss

    return step


def test_a_tiny_gpt_overfits_a_fixed_batch(rng):
    """vocab 16, embed 32, 2 layers: Adam drives the loss on one batch down by 90% in 100
    steps (a compiled step: traced once, replayed)."""
    model = tiny_gpt(embed_dim=32, num_heads=4)
    opt = Adam(model.parameters(), lr=3e-3)
    x, y = rng.integers(0, VOCAB, (4, 8)), rng.integers(0, VOCAB, (4, 8))

    step = tinytorch.compile(make_step(model, opt))
    losses = [step(x, y).item() for _ in range(100)]
    assert losses[0] > 2.0  # about log(16) = 2.77 at the start
    assert losses[-1] < 0.1 * losses[0]


def test_a_compiled_training_step_equals_the_eager_one(rng):
    x, y = rng.integers(0, VOCAB, (2, 6)), rng.integers(0, VOCAB, (2, 6))
    eager_model, compiled_model = tiny_gpt(seed=3), tiny_gpt(seed=3)
    eager_opt = Adam(eager_model.parameters(), lr=1e-2)
    compiled_opt = Adam(compiled_model.parameters(), lr=1e-2)

    eager, compiled = (
        make_step(eager_model, eager_opt),
        tinytorch.compile(make_step(compiled_model, compiled_opt)),
    )
    for _ in range(4):
        a = eager(Tensor(x), Tensor(y)).item()
        b = compiled(x, y).item()
        assert a == pytest.approx(b, rel=1e-5, abs=1e-6)
    assert compiled.trace_count == 1 and compiled.replay_count == 3
    for p, q in zip(eager_model.parameters(), compiled_model.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------- generation
def test_greedy_generation_is_deterministic_and_is_argmax_decoding(rng):
    model = tiny_gpt()
    prompt = rng.integers(0, VOCAB, (2, 3))
    first = model.generate(Tensor(prompt), max_new_tokens=6, temperature=0)
    second = model.generate(Tensor(prompt), max_new_tokens=6, temperature=0)
    assert first.shape == (2, 9) and first.dtype == np.int64
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    np.testing.assert_array_equal(first.numpy()[:, :3], prompt)  # the prompt comes first
    np.testing.assert_array_equal(first.numpy(), naive_greedy(model, prompt, 6))


def test_generation_past_max_seq_len_slides_the_window(rng):
    model = tiny_gpt(max_seq_len=5)
    prompt = rng.integers(0, VOCAB, (1, 4))
    out = model.generate(prompt, max_new_tokens=6, temperature=0)
    assert out.shape == (1, 10)
    np.testing.assert_array_equal(out.numpy(), naive_greedy(model, prompt, 6))


def test_a_1d_prompt_gives_a_1d_result():
    out = tiny_gpt().generate(Tensor([1, 2, 3]), max_new_tokens=2, temperature=0)
    assert out.shape == (5,) and list(out.numpy()[:3]) == [1, 2, 3]


def test_sampling_is_reproducible_with_a_seed_and_top_1_is_greedy(rng):
    model = tiny_gpt()
    prompt = rng.integers(0, VOCAB, (1, 2))
    np.random.seed(7)
    a = model.generate(prompt, max_new_tokens=8, temperature=1.5).numpy()
    np.random.seed(7)
    b = model.generate(prompt, max_new_tokens=8, temperature=1.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < VOCAB
    top1 = model.generate(prompt, max_new_tokens=8, temperature=1.5, top_k=1).numpy()
    greedy = model.generate(prompt, max_new_tokens=8, temperature=0).numpy()
    np.testing.assert_array_equal(top1, greedy)


def test_top_k_only_ever_picks_among_the_k_best():
    """With an untrained model and top_k=2, every sampled token is one of the two largest
    logits at its step (checked by recomputing the logits)."""
    model = tiny_gpt(dropout_prob=0.0)
    np.random.seed(3)
    out = model.generate(np.array([[1, 2]]), max_new_tokens=5, temperature=3.0, top_k=2).numpy()
    model.eval()
    for t in range(2, 7):
        logits = model(Tensor(out[:, :t])).numpy()[0, -1]
        assert out[0, t] in np.argsort(logits)[-2:]


def test_generate_restores_every_layers_mode_and_builds_no_gradients():
    model = tiny_gpt(dropout_prob=0.2)
    model.train()
    model.blocks[1].eval()  # a mixed state must come back as it was
    model.generate(np.array([[1, 2, 3]]), max_new_tokens=3)
    assert model.training and model.blocks[0].training and not model.blocks[1].training
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.backend_independent
def test_generate_argument_errors():
    model = tiny_gpt()
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        model.generate([[1]], max_new_tokens=-1)
    with pytest.raises(ValueError, match="temperature must be a number >= 0"):
        model.generate([[1]], temperature=-0.5)
    with pytest.raises(ValueError, match="non-empty"):
        model.generate(np.zeros((1, 0), dtype=np.int64))
    with pytest.raises(ValueError, match="Index out of range"):
        model.generate([[VOCAB]], max_new_tokens=1)


@pytest.mark.backend_independent
def test_the_books_import_paths_name_the_one_implementation():
    from tinytorch.core import attention, embeddings, transformer
    from tinytorch.core.autograd import EmbeddingBackward
    from tinytorch.nn import attention as nn_attention
    from tinytorch.nn import embeddings as nn_embeddings
    from tinytorch.nn import transformer as nn_transformer

    for shim, impl in ((embeddings, nn_embeddings), (attention, nn_attention),
                       (transformer, nn_transformer)):  # fmt: skip
        for name in shim.__all__:
            assert getattr(shim, name) is getattr(impl, name), name
    assert {"Embedding", "PositionalEncoding", "EmbeddingLayer"} <= set(embeddings.__all__)
    assert "create_sinusoidal_embeddings" in embeddings.__all__
    assert {"scaled_dot_product_attention", "MultiHeadAttention", "MASK_VALUE"} <= set(
        attention.__all__
    )
    assert {"create_causal_mask", "LayerNorm", "MLP", "TransformerBlock", "GPT"} <= set(
        transformer.__all__
    )
    assert tinytorch.GPT is GPT
    out = embeddings.Embedding(4, 2)(Tensor([1, 3]))
    assert isinstance(out.grad_fn, EmbeddingBackward)
