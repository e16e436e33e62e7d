"""Compression (Module 16): the book's numbers, NumPy references, and compaction's promise
that a compacted model computes what the pruned one computed."""

import numpy as np
import pytest

import tinytorch
from tinytorch import GELU, Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh, Tensor
from tinytorch.perf.compression import (
    KnowledgeDistillation,
    compact_structured,
    low_rank_approximate,
    magnitude_prune,
    measure_sparsity,
    structured_prune,
)

BACKENDS = tinytorch.available_backends()


def book_model(seed: int = 0) -> Sequential:
    np.random.seed(seed)
    return Sequential(Linear(100, 50), ReLU(), Linear(50, 10))


# ------------------------------------------------------------------ sparsity
def test_book_example_magnitude_prune_80_gives_80_percent():
    model = book_model()
    assert measure_sparsity(model) == 0.0  # biases start at 0 but are not counted
    assert magnitude_prune(model, sparsity=0.8) is model
    assert measure_sparsity(model) == pytest.approx(80.0, abs=0.05)
    assert f"Sparsity: {measure_sparsity(model):.1f}%" == "Sparsity: 80.0%"


def test_magnitude_prune_uses_one_global_threshold_and_keeps_ties():
    model = Sequential(Linear(2, 2), Linear(2, 2))
    model.layers[0].weight.data = np.array([[0.1, -0.2], [0.3, -0.4]], np.float32)
    model.layers[1].weight.data = np.array([[5.0, 6.0], [-7.0, 0.05]], np.float32)
    model.layers[1].bias.data = np.array([0.01, 0.02], np.float32)
    all_w = np.abs([0.1, 0.2, 0.3, 0.4, 5, 6, 7, 0.05])
    threshold = np.percentile(all_w, 50)  # 0.35 (between 0.3 and 0.4)
    magnitude_prune(model, sparsity=0.5)
    np.testing.assert_allclose(model.layers[0].weight.data, [[0, 0], [0, -0.4]])
    np.testing.assert_allclose(model.layers[1].weight.data, [[5, 6], [-7, 0]])
    np.testing.assert_allclose(model.layers[1].bias.data, [0.01, 0.02])  # biases untouched
    assert threshold == pytest.approx(0.35)
    # a weight equal to the threshold survives
    m = Sequential(Linear(1, 3, bias=False))
    m.layers[0].weight.data = np.array([[1.0, 2.0, 3.0]], np.float32)
    magnitude_prune(m, sparsity=0.5)  # percentile 50 of [1, 2, 3] is 2.0
    np.testing.assert_array_equal(m.layers[0].weight.data, [[0, 2, 3]])


def test_q1_512x256_at_80_percent_leaves_26214_active():
    np.random.seed(1)
    layer = Sequential(Linear(512, 256))
    magnitude_prune(layer, 0.8)
    active = int(np.count_nonzero(layer.layers[0].weight.data))
    assert active == pytest.approx(26_214, abs=1)
    assert 131_072 - active == pytest.approx(104_858, abs=1)


@pytest.mark.parametrize("bad", [-0.1, 1.5, 2])
def test_ratios_outside_0_1_are_value_errors(bad):
    model = book_model()
    with pytest.raises(ValueError, match=r"magnitude_prune: sparsity must be in \[0, 1\]"):
        magnitude_prune(model, bad)
    with pytest.raises(ValueError, match=r"structured_prune: prune_ratio must be in \[0, 1\]"):
        structured_prune(model, bad)
    with pytest.raises(ValueError, match=r"low_rank_approximate: rank_ratio"):
        low_rank_approximate(np.ones((4, 4)), bad)
    with pytest.raises(TypeError, match="magnitude_prune"):
        magnitude_prune(model, "0.5")


# ------------------------------------------------------------ structured
def test_structured_prune_zeroes_the_lowest_norm_columns_and_their_biases():
    model = Sequential(Linear(3, 4))
    w = np.array([[3, 0.1, 1, 0], [0, 0.1, 1, 0.2], [0, 0.1, 1, 0]], np.float32)
    model.layers[0].weight.data = w
    model.layers[0].bias.data = np.array([1, 2, 3, 4], np.float32)
    structured_prune(model, prune_ratio=0.5)  # norms 3, 0.17, 1.73, 0.2: drop columns 1, 3
    expected = w.copy()
    expected[:, [1, 3]] = 0
    np.testing.assert_array_equal(model.layers[0].weight.data, expected)
    np.testing.assert_array_equal(model.layers[0].bias.data, [1, 0, 3, 0])


def test_structured_prune_ratio_small_enough_prunes_nothing():
    model = book_model()
    before = model.state_dict()
    structured_prune(model, 0.01)  # int(50 * 0.01) = 0 and int(10 * 0.01) = 0
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_structured_prune_ratio_one_zeroes_every_channel():
    model = book_model()
    structured_prune(model, 1.0)
    assert measure_sparsity(model) == 100.0
    assert not model.layers[0].bias.data.any()


def test_q2_magnitude_then_structured_is_about_95_percent_sparse():
    np.random.seed(3)
    model = Sequential(Linear(256, 256), ReLU(), Linear(256, 256))
    magnitude_prune(model, 0.9)
    structured_prune(model, 0.5)
    assert 93.0 <= measure_sparsity(model) <= 97.0


# ------------------------------------------------------------- low rank
def test_low_rank_book_shapes_and_param_counts():
    rng = np.random.default_rng(0)
    U, S, V = low_rank_approximate(rng.standard_normal((512, 256)), rank_ratio=0.5)
    assert (U.shape, S.shape, V.shape) == ((512, 128), (128,), (128, 256))
    assert U.size + S.size + V.size == 98_432
    ratio = 131_072 / (U.size + S.size + V.size)
    assert ratio == pytest.approx(1.33, abs=0.005)
    U, S, V = low_rank_approximate(rng.standard_normal((1024, 1024)), rank_ratio=0.1)
    assert S.shape == (102,)
    assert U.size + S.size + V.size == 208_998  # the book prints 209,046: its arithmetic slips
    ratio = 1024 * 1024 / (U.size + S.size + V.size)
    assert ratio == pytest.approx(5.0, abs=0.05)


def test_low_rank_is_exact_at_full_rank_and_its_error_is_the_dropped_values():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((20, 12))
    U, S, V = low_rank_approximate(w, 1.0)
    np.testing.assert_allclose(U @ np.diag(S) @ V, w, atol=1e-10)
    U, S, V = low_rank_approximate(Tensor(w.astype(np.float32)), 0.25)  # k = 3
    full = np.linalg.svd(w, compute_uv=False)
    err = np.linalg.norm(w - U @ np.diag(S) @ V)
    assert err == pytest.approx(np.sqrt(np.sum(full[3:] ** 2)), rel=1e-4)
    assert low_rank_approximate(w, 0.0)[1].shape == (1,)  # k is at least 1
    with pytest.raises(ValueError, match=r"2-D weight matrix, got shape \(3,\)"):
        low_rank_approximate(np.ones(3))


# ---------------------------------------------------------- distillation
def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_distillation_loss_matches_numpy_and_its_gradient(backend):
    rng = np.random.default_rng(0)
    s_np = rng.standard_normal((6, 5)).astype(np.float32)
    t_np = rng.standard_normal((6, 5)).astype(np.float32) * 3
    y = np.array([0, 1, 2, 3, 4, 0])
    T, alpha = 4.0, 0.7
    ps, pt = _softmax(s_np / T), _softmax(t_np / T)
    kl = np.mean(np.sum(pt * np.log(pt / ps), axis=1))  # KL(teacher || student)
    ce = -np.mean(np.log(_softmax(s_np)[np.arange(6), y]))
    # d/ds: alpha * (ps - pt) / T / N + (1 - alpha) * (softmax(s) - onehot) / N
    grad = alpha * (ps - pt) / T / 6 + (1 - alpha) * (_softmax(s_np) - np.eye(5)[y]) / 6
    with tinytorch.backend(backend):
        kd = KnowledgeDistillation(None, None, temperature=T, alpha=alpha)
        s = Tensor(s_np, requires_grad=True)
        loss = kd.distillation_loss(s, Tensor(t_np), y)
        assert isinstance(loss, Tensor) and loss.shape == ()
        assert float(loss) == pytest.approx(alpha * kl + (1 - alpha) * ce, rel=1e-5)
        loss.backward()
        np.testing.assert_allclose(s.grad.data, grad, rtol=1e-4, atol=1e-6)
    assert kd._kl_divergence(ps, pt) == pytest.approx(kl)  # the book's helpers agree
    assert kd._cross_entropy(_softmax(s_np), y) == pytest.approx(ce)


def test_distillation_from_itself_has_no_soft_loss():
    kd = KnowledgeDistillation(None, None, alpha=1.0)
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    assert float(kd.distillation_loss(Tensor(logits), logits, [2])) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_distillation_loss_reads_like_the_books_float(backend):
    """The book's ``distillation_loss(...) -> float``: ours is a 0-d Tensor (it trains the
    student), printed, compared and converted the way a float is."""
    with tinytorch.backend(backend):
        kd = KnowledgeDistillation(None, None, alpha=1.0)
        logits = np.array([[1.0, 2.0, 3.0]], np.float32)
        teacher = np.array([[3.0, 2.0, 1.0]], np.float32)
        loss = kd.distillation_loss(Tensor(logits), teacher, [2])
        T = kd.temperature
        expected = float(
            np.sum(_softmax(teacher / T) * np.log(_softmax(teacher / T) / _softmax(logits / T)))
        )
        assert f"Distillation loss: {loss:.4f}" == f"Distillation loss: {expected:.4f}"
        assert bool(loss > 0) and float(loss) == pytest.approx(expected, rel=1e-5)
        assert f"{loss}" == str(loss)  # no format spec: the tensor's usual text
        with pytest.raises(TypeError, match="unsupported format string"):
            f"{Tensor(logits):.2f}"  # only a 0-d tensor has one value to format


def test_compute_loss_trains_the_student_only():
    np.random.seed(0)
    teacher, student = Linear(4, 3), Linear(4, 3)
    kd = KnowledgeDistillation(teacher, student)
    loss = kd.compute_loss(Tensor(np.random.randn(5, 4).astype(np.float32)), [0, 1, 2, 0, 1])
    loss.backward()
    assert student.weight.grad is not None and teacher.weight.grad is None


def test_distillation_bad_arguments():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        KnowledgeDistillation(None, None, temperature=0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], got 1.5"):
        KnowledgeDistillation(None, None, alpha=1.5)
    kd = KnowledgeDistillation(None, None)
    with pytest.raises(tinytorch.ShapeError, match=r"\(2, 3\) and teacher logits \(2, 4\)"):
        kd.distillation_loss(Tensor(np.zeros((2, 3))), np.zeros((2, 4)), [0, 1])


# ------------------------------------------------------------ compaction
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("act", [ReLU, Sigmoid, Tanh, GELU])
def test_compacted_model_computes_what_the_pruned_model_computed(backend, act):
    np.random.seed(0)
    model = Sequential(Linear(16, 32), act(), Dropout(0.5), Linear(32, 24), act(), Linear(24, 5))
    for layer in (model.layers[0], model.layers[3]):  # non-zero biases: constants get folded
        layer.bias.data = np.random.randn(layer.out_features).astype(np.float32)
    model.eval()
    hidden = Sequential(model.layers[0], model.layers[3])
    structured_prune(hidden, 0.5)
    x = Tensor(np.random.randn(7, 16).astype(np.float32))
    with tinytorch.backend(backend):
        expected = model(x).data.copy()
        compact_structured(model)
        got = model(x).data
    assert model.layers[0].weight.shape == (16, 16)
    assert model.layers[3].weight.shape == (16, 12)
    assert model.layers[5].weight.shape == (12, 5)
    assert (model.layers[0].out_features, model.layers[3].in_features) == (16, 16)
    assert model.compacted_channels == 16 + 12
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_compaction_keeps_the_output_layer_and_unpruned_models_alone():
    model = book_model()
    before = model(Tensor(np.ones((2, 100), np.float32))).data.copy()
    compact_structured(model)
    assert model.compacted_channels == 0
    structured_prune(model, 0.5)  # prunes the last layer's columns too: they stay (as zeros)
    compact_structured(model)
    assert model.layers[2].weight.shape == (25, 10)
    assert before.shape == model(Tensor(np.ones((2, 100), np.float32))).shape


def test_compaction_without_a_next_bias_keeps_nonzero_constant_channels():
    model = Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1, bias=False))
    model.layers[0].weight.data = np.array([[1, 0, 0], [1, 0, 0]], np.float32)
    model.layers[0].bias.data = np.zeros(3, np.float32)  # sigmoid(0) = 0.5: cannot be folded
    x = Tensor(np.array([[1.0, 2.0]], np.float32))
    expected = model(x).data.copy()
    compact_structured(model)
    assert model.layers[0].weight.shape == (2, 3)
    np.testing.assert_allclose(model(x).data, expected)


def test_compaction_needs_a_sequential():
    with pytest.raises(TypeError, match="compact_structured: expected a Sequential"):
        compact_structured(Linear(2, 2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_student_trained_by_distillation_learns_the_teachers_answers(backend):
    np.random.seed(5)
    teacher, student = Linear(4, 3), Linear(4, 3)
    x = Tensor(np.random.randn(64, 4).astype(np.float32))
    labels = teacher(x).data.argmax(axis=1)
    kd = KnowledgeDistillation(teacher, student, temperature=2.0, alpha=0.7)
    optimizer = tinytorch.SGD(student.parameters(), lr=0.5)

    def agreement():
        return float(np.mean(student(x).data.argmax(axis=1) == labels))

    with tinytorch.backend(backend):
        before = agreement()
        for _ in range(60):
            optimizer.zero_grad()
            kd.compute_loss(x, labels).backward()
            optimizer.step()
        after = agreement()
    assert before < 0.9 <= after
