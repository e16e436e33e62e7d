"""Layers (book Module 03, spec §3): Linear, Dropout, Sequential, Flatten and the Layer base
with train()/eval(), named parameters and state dicts."""

from __future__ import annotations

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.layers import Dropout, Flatten, Layer, Linear, Sequential


def param_count(layer) -> int:
    return sum(p.size for p in layer.parameters())


# -------------------------------------------------------------- book numbers
@pytest.mark.backend_independent
def test_linear_784_256_has_200960_parameters():
    """§3.5: 784·256 weights + 256 biases = 200,960."""
    assert param_count(Linear(784, 256)) == 200_960


@pytest.mark.backend_independent
def test_mlp_784_256_128_10_has_235146_parameters():
    """§3.5: 200,960 + 32,896 + 1,290 = 235,146."""
    model = Sequential(Linear(784, 256), ReLU(), Linear(256, 128), ReLU(), Linear(128, 10))
    assert param_count(model) == 235_146


@pytest.mark.backend_independent
def test_linear_init_scale_is_sqrt_one_over_fan_in():
    """§3.2: weights ~ randn * sqrt(1/in): std ≈ 0.032 for in=1000, ≈ 0.316 for in=10."""
    np.random.seed(0)
    assert Linear(1000, 10).weight.data.std() == pytest.approx(0.0316, rel=0.05)
    assert Linear(10, 1000).weight.data.std() == pytest.approx(0.316, rel=0.05)


@pytest.mark.backend_independent
def test_linear_is_seeded_by_numpys_global_rng():
    """np.random.seed reproduces the initial weights, as in the book."""
    np.random.seed(3)
    a = Linear(4, 3).weight.data.copy()
    np.random.seed(3)
    np.testing.assert_array_equal(Linear(4, 3).weight.data, a)


# -------------------------------------------------------------------- Linear
@pytest.mark.backend_independent
def test_linear_shapes_attributes_and_parameter_order():
    """Weight (in, out), zero bias (out,), both trainable, parameters() == [weight, bias]."""
    layer = Linear(3, 2)
    assert (layer.in_features, layer.out_features) == (3, 2)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    np.testing.assert_array_equal(layer.bias.data, np.zeros(2))
    assert layer.parameters() == [layer.weight, layer.bias]
    assert layer.weight.dtype == np.float32


def test_linear_forward_is_x_matmul_w_plus_b():
    """y = xW + b, the bias broadcast over the batch."""
    layer = Linear(3, 2)
    layer.bias.data = np.array([0.5, -1.0], dtype=np.float32)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = x @ layer.weight.data + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-6)


@pytest.mark.backend_independent
def test_linear_without_bias():
    """bias=False: bias is None and parameters() is just [weight]."""
    layer = Linear(3, 2, bias=False)
    assert layer.bias is None and layer.parameters() == [layer.weight]
    assert layer(Tensor(np.ones((1, 3)))).shape == (1, 2)


@pytest.mark.llvm_no_kernel(reason="matmul runs on BLAS; the bias gradient folds to a constant")
def test_linear_gradients_flow_to_weight_and_bias():
    """Backward through Linear gives dW = xᵀ·g and db = Σ g over the batch."""
    layer = Linear(3, 2)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    layer(Tensor(x)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, x.T @ np.ones((2, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.data, [2.0, 2.0])


@pytest.mark.backend_independent
def test_linear_wrong_input_width_raises_the_books_matmul_error():
    """§3.2: a shape error is the book's ValueError naming both shapes."""
    with pytest.raises(ValueError, match=r"\(32, 128\) @ \(256, 10\).*128 ≠ 256"):
        Linear(256, 10)(Tensor(np.zeros((32, 128), dtype=np.float32)))


@pytest.mark.parametrize("args, error", [((0, 3), ValueError), ((2.5, 3), TypeError)])
@pytest.mark.backend_independent
def test_linear_rejects_bad_sizes(args, error):
    """Sizes must be positive integers."""
    with pytest.raises(error):
        Linear(*args)


# ------------------------------------------------------------------- Dropout
@pytest.mark.backend_independent
def test_dropout_inference_returns_the_input_itself():
    """training=False (or p=0) returns x, the same object (§3.3)."""
    x = Tensor(np.ones((2, 3)))
    assert Dropout(0.5)(x, training=False) is x
    assert Dropout(0.0)(x) is x


def test_dropout_survivors_are_scaled_by_one_over_keep():
    """p=0.5: every output is 0 or 2x, and about half survive."""
    np.random.seed(0)
    out = Dropout(0.5)(Tensor(np.ones((100, 100), dtype=np.float32))).data
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert 0.45 < (out > 0).mean() < 0.55


def test_dropout_mask_follows_numpys_global_rng():
    """The mask is drawn with np.random.random: the same seed gives the same mask."""
    x = Tensor(np.ones((4, 5), dtype=np.float32))
    np.random.seed(7)
    first = Dropout(0.3)(x).data.copy()
    np.random.seed(7)
    np.testing.assert_array_equal(Dropout(0.3)(x).data, first)
    np.random.seed(7)
    expected = (np.random.random((4, 5)) < 0.7) / np.float32(0.7)
    np.testing.assert_allclose(first, expected, rtol=1e-6)


def test_dropout_p1_zeros_everything_but_keeps_the_graph():
    """p=1 gives zeros; backward still reaches x (with gradient 0)."""
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    out = Dropout(1.0)(x)
    np.testing.assert_array_equal(out.data, np.zeros((2, 2)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 2)))


def test_dropout_gradient_is_the_scaled_mask():
    """d(out)/dx is mask / keep: zero where dropped, 1/(1-p) where kept."""
    np.random.seed(1)
    x = Tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    out = Dropout(0.25)(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, out.data, rtol=1e-6)


@pytest.mark.parametrize("p", [1.5, -0.1])
@pytest.mark.backend_independent
def test_dropout_probability_outside_0_1_is_a_value_error(p):
    """Dropout(p=1.5) is refused when the layer is built."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout(p)


@pytest.mark.backend_independent
def test_dropout_has_no_parameters():
    assert Dropout(0.5).parameters() == []


def test_eval_reaches_dropout_inside_sequential():
    """model.eval() turns off a Dropout inside a Sequential (spec §3.4 ambiguity)."""
    drop = Dropout(0.5)
    model = Sequential(Linear(4, 4), ReLU(), drop)
    x = Tensor(np.ones((2, 4), dtype=np.float32))
    model.eval()
    assert drop.training is False and model.training is False
    np.testing.assert_array_equal(model(x).data, model(x).data)  # no randomness
    model.train()
    assert drop.training is True


@pytest.mark.backend_independent
def test_train_and_eval_reach_layers_in_lists_and_dicts():
    """Sub-layers kept in attributes, lists or dicts all receive the mode."""

    class Net(Layer):
        def __init__(self):
            self.blocks = [Sequential(Dropout(0.1))]
            self.heads = {"main": Dropout(0.2)}

        def forward(self, x):
            return self.heads["main"](self.blocks[0](x))

    net = Net().eval()
    assert net.blocks[0].layers[0].training is False
    assert net.heads["main"].training is False


def test_dropout_mask_is_data_so_the_compiled_plan_is_reused():
    """A new mask each call does not change the graph's structure: the plan is reused."""
    drop = Dropout(0.5)
    x = Tensor(np.ones((8, 8), dtype=np.float32))
    cache = tinytorch.runtime.plan_cache
    misses = []
    for _ in range(4):  # one line of code: plans are keyed by structure and user line
        drop(x).numpy()
        misses.append(cache.misses)
    assert misses[1:] == [misses[0]] * 3  # compiled on the first call only


# ---------------------------------------------------------------- Sequential
@pytest.mark.backend_independent
def test_sequential_accepts_layers_or_one_list():
    """Sequential(a, b) and Sequential([a, b]) are the same model; .layers is a list."""
    a, b = Linear(2, 3), ReLU()
    assert Sequential(a, b).layers == [a, b] == Sequential([a, b]).layers


def test_sequential_applies_layers_in_order():
    """model(x) is layer2(layer1(x))."""
    lin = Linear(2, 3)
    model = Sequential(lin, Sigmoid())
    x = Tensor([[1.0, -1.0]])
    np.testing.assert_allclose(model(x).data, Sigmoid()(lin(x)).data)


@pytest.mark.backend_independent
def test_sequential_rejects_something_not_callable():
    with pytest.raises(TypeError, match="layer 1"):
        Sequential(Linear(2, 2), 42)


@pytest.mark.backend_independent
def test_activations_have_no_parameters():
    """ReLU answers parameters() == [] so Sequential can ask it (spec §3.4)."""
    assert ReLU().parameters() == []


# -------------------------------------------------------------------- Flatten
@pytest.mark.backend_independent
def test_flatten_keeps_the_batch_dimension():
    """(N, C, H, W) -> (N, C*H*W)."""
    assert Flatten()(Tensor(np.zeros((2, 3, 4, 5)))).shape == (2, 60)


@pytest.mark.backend_independent
def test_flatten_needs_a_batch_dimension():
    with pytest.raises(ValueError, match="batch dimension"):
        Flatten()(Tensor(np.zeros(5)))


# ------------------------------------------------------ names and state dicts
@pytest.mark.backend_independent
def test_named_parameters_use_dotted_attribute_paths():
    model = Sequential(Linear(2, 3), ReLU(), Linear(3, 1, bias=False))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight"]


@pytest.mark.backend_independent
def test_custom_layer_finds_its_parameters_without_listing_them():
    """A subclass written the book's way (no super().__init__) still has parameters()."""

    class Affine(Layer):
        def __init__(self):
            self.scale = Tensor([2.0], requires_grad=True)
            self.inner = Linear(1, 1)
            self.not_a_param = Tensor([1.0])

        def forward(self, x):
            return self.inner(x) * self.scale

    layer = Affine()
    assert [n for n, _ in layer.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert layer.training is True


@pytest.mark.backend_independent
def test_shared_parameters_are_listed_once():
    lin = Linear(2, 2)
    assert len(Sequential(lin, lin).parameters()) == 2


@pytest.mark.backend_independent
def test_state_dict_round_trip_into_a_fresh_model():
    """load_state_dict(state_dict()) copies every value across."""
    np.random.seed(0)
    a = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    np.random.seed(1)
    b = Sequential(Linear(3, 4), ReLU(), Linear(4, 2))
    state = a.state_dict()
    b.load_state_dict(state)
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    state["layers.0.weight"][0, 0] = 99.0  # a copy: the model does not change
    assert a.layers[0].weight.data[0, 0] != 99.0


@pytest.mark.backend_independent
def test_load_state_dict_lists_every_mismatch_and_changes_nothing():
    model = Sequential(Linear(3, 4), Linear(4, 2))
    before = model.layers[0].weight.data.copy()
    state = model.state_dict()
    state["layers.0.weight"] = np.zeros((4, 3), dtype=np.float32)
    del state["layers.1.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing: layers.1.bias" in message and "unexpected: extra" in message
    assert "shape of layers.0.weight: expected (3, 4), got (4, 3)" in message
    np.testing.assert_array_equal(model.layers[0].weight.data, before)


@pytest.mark.backend_independent
def test_zero_grad_on_a_model_clears_every_gradient():
    """model.zero_grad() (used in the book's Module 05 prose) sets grads to None."""
    model = Sequential(Linear(2, 2))
    model(Tensor([[1.0, 2.0]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
