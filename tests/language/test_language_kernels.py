"""What the llvm backend makes of the language layers: attention's scale + mask + softmax
is one kernel between the two BLAS matmuls, LayerNorm's forward is one kernel, and the
embedding gather / scatter-add run as opaque ops (their NumPy kernels), never as a
"fallback". These tests pick their backend themselves (llvm), so they run once."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.attention import scaled_dot_product_attention
from tinytorch.core.embeddings import Embedding
from tinytorch.core.transformer import LayerNorm, create_causal_mask
from tinytorch.ir.graph import Capture
from tinytorch.runtime import compile_plan

rng = np.random.default_rng(0)


@pytest.fixture
def backend() -> str:
    return "llvm"


def randn(*shape: int) -> Tensor:
    return Tensor(rng.standard_normal(shape).astype(np.float32))


def plan_of(backend: str, *outputs: Tensor):
    return compile_plan(Capture([t._node for t in outputs]), backend)


def steps_of(plan) -> list[tuple[str, str]]:
    """("kernel", its ops) or ("numpy", the op) for every step of the plan."""
    return [
        ("kernel", " ".join(m.op for m in step[4]))
        if step[0] == "kernel"
        else ("numpy", step[1].op)
        for step in plan.executable.steps
    ]


def test_scale_mask_and_softmax_are_one_kernel(backend):
    """softmax(Q K^T / sqrt(d) + (1 - mask) * -1e9): the matmul on BLAS, then everything
    up to the normalised weights in one kernel."""
    q, k = randn(2, 3, 5, 4), randn(2, 3, 5, 4)
    mask = create_causal_mask(5).reshape(1, 1, 5, 5)
    _, weights = scaled_dot_product_attention(q, k, randn(2, 3, 5, 4), mask)
    plan = plan_of(backend, weights)
    steps = [s for s in steps_of(plan) if s[1] != "permute"]  # K^T is a NumPy view
    assert [kind for kind, _ in steps] == ["numpy", "kernel"]
    assert steps[0] == ("numpy", "matmul")
    ops = steps[1][1].split()
    assert {"mul", "add", "max", "exp", "sum", "div"} <= set(ops)
    assert plan.executable.fallbacks == []


def test_attention_output_is_matmul_kernel_matmul(backend):
    q, k, v = randn(1, 2, 4, 3), randn(1, 2, 4, 3), randn(1, 2, 4, 3)
    out, _ = scaled_dot_product_attention(q, k, v, create_causal_mask(4).reshape(1, 1, 4, 4))
    kinds = [s for s in steps_of(plan_of(backend, out)) if s[1] != "permute"]
    assert kinds == [("numpy", "matmul"), kinds[1], ("numpy", "matmul")]
    assert kinds[1][0] == "kernel"


def test_layernorm_forward_is_one_kernel(backend):
    """Mean, variance, normalisation and gamma/beta over the last axis: one kernel, two
    row reductions."""
    plan = plan_of(backend, LayerNorm(16)(randn(2, 5, 16)))
    steps = steps_of(plan)
    assert [kind for kind, _ in steps] == ["kernel"]
    assert steps[0][1].split().count("sum") == 2


def test_embedding_lookup_and_its_gradient_are_opaque_ops_not_fallbacks(backend):
    embed = Embedding(10, 4)
    out = embed(Tensor([[1, 2, 2]]))
    (out * 2.0).sum().backward()
    plan = plan_of(backend, out, embed.weight.grad)
    ops = [what for kind, what in steps_of(plan) if kind == "numpy"]
    assert "gather" in ops and "scatter_add" in ops
    assert plan.executable.fallbacks == []


def test_every_layernorm_inside_a_gpt_is_one_kernel(backend):
    """In the whole forward of a 2-layer GPT, each of the five LayerNorms (two per block and
    the final one) is a single kernel: both row reductions and the sqrt in one place."""
    from tinytorch.core.transformer import GPT

    np.random.seed(0)
    logits = GPT(10, 8, num_layers=2, num_heads=2, max_seq_len=8)(Tensor([[1, 2, 3, 4]]))
    kernels = [
        what.split() for kind, what in steps_of(plan_of(backend, logits)) if kind == "kernel"
    ]
    with_sqrt = [ops for ops in kernels if "sqrt" in ops]
    assert len(with_sqrt) == 5
    assert all(ops.count("sum") == 2 and ops.count("sqrt") == 1 for ops in with_sqrt)
