"""PyTorch as a second oracle: a handful of forwards and gradients, including the tie and
boundary conventions tinytorch promises to share with PyTorch. Optional: skipped (with the
reason shown by ``-ra``) when ``torch`` is not installed (``pip install .[torch]``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: the optional PyTorch oracle tests are skipped"
)

import tinytorch  # noqa: E402
from tinytorch import Tensor  # noqa: E402


@dataclass(frozen=True)
class Oracle:
    """``ours(*tensors)`` and ``theirs(*torch_tensors)`` agree, values and gradients."""

    id: str
    ours: Callable[..., Tensor]
    theirs: Callable[..., object]
    inputs: tuple


R = np.random.default_rng(7)
A34 = R.standard_normal((3, 4))
COND = np.array([[True], [False], [True]])
IDX = np.array([0, 2, 0, 3, 0])

ORACLES = [
    Oracle("softmax", lambda x: x.softmax(-1), lambda x: torch.softmax(x, -1), (A34,)),
    Oracle(
        "gelu-tanh",
        Tensor.gelu,
        lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
        (3 * A34,),
    ),
    Oracle("sigmoid", Tensor.sigmoid, torch.sigmoid, (np.array([-800.0, -3, 0, 2, 800]),)),
    Oracle(
        "log-sqrt-exp",
        lambda x: x.log() + x.sqrt() * x.exp(),
        lambda x: x.log() + x.sqrt() * x.exp(),
        (np.abs(A34) + 0.5,),
    ),
    Oracle(
        "matmul-broadcast-batch",
        lambda a, b: a @ b,
        torch.matmul,
        (R.standard_normal((2, 1, 2, 3)), R.standard_normal((3, 3, 2))),
    ),
    Oracle(
        "mul-div-broadcast",
        lambda a, b: a * b / (b * b + 1),
        lambda a, b: a * b / (b * b + 1),
        (R.standard_normal((3, 1, 4)), R.standard_normal((5, 1))),
    ),
    Oracle("var-unbiased", lambda x: x.var(axis=0, ddof=1), lambda x: torch.var(x, dim=0), (A34,)),
    Oracle(
        "mean-keepdims",
        lambda x: x.mean(axis=1, keepdims=True),
        lambda x: x.mean(dim=1, keepdim=True),
        (A34,),
    ),
    Oracle(
        "where-broadcast",
        lambda a, b: tinytorch.where(COND, a, b),
        lambda a, b: torch.where(torch.from_numpy(COND), a, b),
        (A34, R.standard_normal(4)),
    ),
    Oracle(
        "index-repeats",
        lambda x: x[IDX],
        lambda x: x[torch.from_numpy(IDX)],
        (R.standard_normal((4, 3)),),
    ),
    Oracle("slice-step", lambda x: x[1:3, ::2], lambda x: x[1:3, ::2], (A34,)),
    Oracle(
        "concat-stack",
        lambda a, b: tinytorch.stack([tinytorch.concat([a, b], 1)] * 2),
        lambda a, b: torch.stack([torch.cat([a, b], 1)] * 2),
        (A34, A34[:, :2]),
    ),
    # the conventions at kinks
    Oracle(
        "maximum-ties",
        Tensor.maximum,
        torch.maximum,
        (np.array([2.0, 1.0, 3.0]), np.array([2.0, 3.0, 1.0])),
    ),
    Oracle(
        "minimum-ties",
        Tensor.minimum,
        torch.minimum,
        (np.array([2.0, 1.0, 3.0]), np.array([2.0, 3.0, 1.0])),
    ),
    Oracle("max-all-ties", lambda x: x.max(), torch.max, (np.array([1.0, 3.0, 3.0, 2.0]),)),
    Oracle(
        "max-axis-ties",
        lambda x: x.max(axis=1),
        lambda x: torch.amax(x, dim=1),
        (np.array([[3.0, 3.0, 3.0], [0.0, 1.0, 1.0]]),),
    ),
    Oracle(
        "clip-boundaries",
        lambda x: x.clip(-0.5, 1.0),
        lambda x: torch.clamp(x, -0.5, 1.0),
        (np.array([-1.0, -0.5, 0.0, 1.0, 2.0]),),
    ),
    Oracle("relu-at-zero", Tensor.relu, torch.relu, (np.array([-1.0, 0.0, 1.0]),)),
    Oracle("abs-at-zero", abs, torch.abs, (np.array([-1.0, 0.0, 1.0]),)),
    Oracle("pow-zero-exponent", lambda x: x**0, lambda x: x**0, (np.array([0.0, 2.0]),)),
    Oracle(
        "pow-zero-base",
        lambda a, b: a**b,
        torch.pow,
        (np.array([0.0, 0.0, 2.0, 1.5]), np.array([0.0, 2.0, 0.0, -1.0])),
    ),
]


@pytest.mark.parametrize("case", ORACLES, ids=[c.id for c in ORACLES])
def test_forward_and_gradients_match_pytorch(case: Oracle, llvm_exempt) -> None:
    """Same values and the same ``.grad`` for ``sum(out * R)`` as PyTorch, in float64."""
    if case.id in {"index-repeats", "slice-step"}:
        llvm_exempt.no_kernel("a gather or a slice and their gradients run without a kernel")
    ours = [Tensor(a, dtype="float64", requires_grad=True) for a in case.inputs]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in case.inputs]
    out, ref = case.ours(*ours), case.theirs(*theirs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    (out * Tensor(weights, dtype="float64")).sum().backward()
    (ref * torch.from_numpy(weights)).sum().backward()
    for k, (x, t) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(
            x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"gradient of input {k}"
        )
