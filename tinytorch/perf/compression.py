"""Compression (book Module 16): make a trained model smaller by removing what matters least.

    from tinytorch.perf.compression import magnitude_prune, measure_sparsity
    magnitude_prune(model, sparsity=0.8)
    measure_sparsity(model)          # 80.0 (a percentage, not 0.8)

Four ideas, as in the book, plus one that turns structured pruning into real speed:

* **magnitude pruning** zeroes the smallest weights of the whole model (one global
  threshold), leaving the shapes alone: smaller only with sparse storage, no faster on dense
  hardware;
* **structured pruning** zeroes whole output channels (columns of a ``Linear`` weight, which
  is stored ``(in, out)``), chosen by their L2 norm;
* **knowledge distillation** trains a small student on a big teacher's softened outputs
  (:mod:`tinytorch.perf.distillation`);
* **low-rank approximation** factors a weight with the SVD;
* **compaction** (:func:`compact_structured`, beyond the book) physically removes the
  channels structured pruning emptied, and the next layer's matching inputs, so the model
  does fewer flops and is really faster (:mod:`tinytorch.perf.compaction`).

Everything works on dense NumPy arrays (no CSR), one shot, no fine-tuning, as the book
says. Parameters are rebound to new arrays (``p.data = ...``), never written in place, so
graphs built earlier keep the values they were built with.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor
from tinytorch.perf.compaction import compact_structured, linear_layers
from tinytorch.perf.distillation import KnowledgeDistillation

__all__ = [
    "KnowledgeDistillation",
    "compact_structured",
    "low_rank_approximate",
    "magnitude_prune",
    "measure_sparsity",
    "structured_prune",
]


def _ratio(value: Any, name: str, function: str) -> float:
    """``value`` as a float in [0, 1], else a TypeError/ValueError naming ``function``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{function}: {name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{function}: {name} must be in [0, 1], got {value}")
    return float(value)


def _weight_matrices(model: Any) -> list[Tensor]:
    """The parameters with more than one dimension: weight matrices and kernels, no biases."""
    if not callable(getattr(model, "parameters", None)):
        raise TypeError(f"expected a model with parameters(), got {type(model).__name__}")
    return [p for p in model.parameters() if len(p.shape) > 1]


def measure_sparsity(model: Any) -> float:
    """The percentage (0-100) of weights that are exactly zero: ``80.0`` means 80%.

    Counted over the same population that :func:`magnitude_prune` prunes, the weight
    matrices (every parameter with more than one dimension). Biases are left out (the book
    leaves this open): they start at zero, so counting them would make a freshly built model
    look sparse. A model without weight matrices has sparsity 0.0.
    """
    weights = _weight_matrices(model)
    total = sum(int(p.size) for p in weights)
    if total == 0:
        return 0.0
    zeros = sum(int(np.count_nonzero(p.data == 0)) for p in weights)
    return 100.0 * zeros / total


def magnitude_prune(model: Any, sparsity: float = 0.9) -> Any:
    """Zero the ``sparsity`` fraction of smallest-magnitude weights, with one global
    threshold over every weight matrix (biases excluded). Returns the model (changed).

    ``threshold = percentile(|all weights|, sparsity * 100)``; a weight survives when
    ``|w| >= threshold``, so weights equal to the threshold are kept (the book's rule). One
    threshold for the whole model means a layer whose weights are small overall loses more
    of them than a layer with large weights: the importance is global, not per layer.
    At ``sparsity=1.0`` the threshold is the largest magnitude, which ``>=`` keeps.
    """
    sparsity = _ratio(sparsity, "sparsity", "magnitude_prune")
    weights = _weight_matrices(model)
    if not weights:
        return model
    magnitudes = np.concatenate([np.abs(p.data).ravel() for p in weights])
    threshold = np.percentile(magnitudes, sparsity * 100)
    for p in weights:
        values = p.data
        p.data = np.where(np.abs(values) >= threshold, values, 0).astype(values.dtype)
    return model


def structured_prune(model: Any, prune_ratio: float = 0.5) -> Any:
    """Zero the ``prune_ratio`` fraction of output channels with the smallest L2 norm, in
    every ``Linear`` of the model, each layer on its own. Returns the model (changed).

    A ``Linear`` weight is ``(in, out)``, so an output channel is a column: its importance is
    ``norm(W[:, j])``. ``int(out * prune_ratio)`` columns are zeroed, with their biases, so
    the channel's output is exactly 0 for every input. As in the book every ``Linear`` is
    pruned, including a classifier's last layer (whose pruned classes then always score 0):
    to spare a layer, prune a ``Sequential`` of just the layers you mean, e.g.
    ``structured_prune(Sequential(model.layers[0], model.layers[2]), 0.5)``.
    :func:`compact_structured` then removes the zeroed channels for real speed.
    """
    prune_ratio = _ratio(prune_ratio, "prune_ratio", "structured_prune")
    for layer in linear_layers(model):
        weight = np.array(layer.weight.data, copy=True)
        num_to_prune = int(weight.shape[1] * prune_ratio)
        if num_to_prune == 0:
            continue
        channel_norms = np.linalg.norm(weight, axis=0)
        if num_to_prune >= weight.shape[1]:
            prune_indices = np.arange(weight.shape[1])
        else:
            prune_indices = np.argpartition(channel_norms, num_to_prune)[:num_to_prune]
        weight[:, prune_indices] = 0
        layer.weight.data = weight
        if layer.bias is not None:
            bias = np.array(layer.bias.data, copy=True)
            bias[prune_indices] = 0
            layer.bias.data = bias
    return model


def low_rank_approximate(
    weight_matrix: Any, rank_ratio: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated SVD: ``(U, S, V)`` with shapes ``(m, k)``, ``(k,)``, ``(k, n)`` such that
    ``U @ diag(S) @ V`` is the best rank-``k`` approximation of the matrix (Eckart-Young).

    ``k = max(1, int(rank_ratio * min(m, n)))``. Storing the factors costs
    ``m*k + k + k*n`` numbers instead of ``m*n``: for (512, 256) at 0.5, k = 128 and
    98,432 instead of 131,072 (1.33x). The error is the discarded singular values:
    ``||W - U diag(S) V||_F = sqrt(sum of the dropped S**2)``.
    """
    rank_ratio = _ratio(rank_ratio, "rank_ratio", "low_rank_approximate")
    matrix = np.asarray(weight_matrix.data if isinstance(weight_matrix, Tensor) else weight_matrix)
    if matrix.ndim != 2 or 0 in matrix.shape:
        raise ValueError(
            f"low_rank_approximate: expected a non-empty 2-D weight matrix, got shape "
            f"{matrix.shape}"
        )
    m, n = matrix.shape
    U, S, V = np.linalg.svd(matrix, full_matrices=False)
    k = max(1, int(rank_ratio * min(m, n)))
    return U[:, :k], S[:k], V[:k, :]
