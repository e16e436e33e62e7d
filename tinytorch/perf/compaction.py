"""Compaction: turn structured pruning's zeroed channels into a smaller dense model.

Structured pruning (:func:`tinytorch.perf.compression.structured_prune`) zeroes whole
columns of a ``Linear`` weight, but the matmul still multiplies by those zeros: same shapes,
same flops, same time. The channels are dead, though, and a dead channel can be removed:

    Linear A (in -> h) -> act -> Linear B (h -> out)

If column ``j`` of ``A.weight`` is all zeros, channel ``j`` of A's output is the constant
``A.bias[j]`` for every input, so after the activation it is the constant
``c_j = act(A.bias[j])`` (0 for ReLU when the bias was pruned too). Its whole effect on B
is adding ``c_j * B.weight[j, :]`` to B's output, a constant that B's bias absorbs. So
column ``j`` of A, ``A.bias[j]`` and row ``j`` of B can be deleted, and the model computes
the same function with ``h - (dead channels)`` hidden units: fewer flops, real speed.

Only elementwise layers may sit between A and B (ReLU, Sigmoid, Tanh, GELU, Dropout), since
the argument needs each channel to pass on its own. The last ``Linear`` keeps its outputs
(the model's output shape never changes). Dropout is taken in eval mode: compaction is an
inference transform, and values match the masked model's up to float rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.frontend.autograd import no_grad
from tinytorch.frontend.tensor import Tensor
from tinytorch.nn.activations import GELU, ReLU, Sigmoid, Tanh
from tinytorch.nn.layers import Dropout, Linear
from tinytorch.nn.module import Layer

# Layers that act on every element on its own, so a constant channel stays a constant.
ELEMENTWISE_LAYERS: tuple[type, ...] = (ReLU, Sigmoid, Tanh, GELU, Dropout)


def linear_layers(model: Any) -> list[Linear]:
    """Every ``Linear`` reachable from ``model`` (itself, its ``layers``, its attributes,
    lists and dicts), in attribute order, each once."""
    found: list[Linear] = []
    seen: set[int] = set()

    def walk(obj: Any) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, Linear):
            found.append(obj)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                walk(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                walk(item)
        elif isinstance(obj, Layer) or hasattr(obj, "layers"):
            for value in vars(obj).values():
                walk(value)

    walk(model)
    return found


def _constant_after(values: np.ndarray, between: list[Any]) -> np.ndarray:
    """The constants ``values`` after the elementwise layers ``between`` (Dropout: eval)."""
    x = Tensor(values.reshape(1, -1).astype(np.float32))
    with no_grad():
        for layer in between:
            x = x if isinstance(layer, Dropout) else layer(x)
        return np.asarray(x.data, dtype=np.float64).reshape(-1)


def _compact_pair(first: Linear, between: list[Any], second: Linear) -> int:
    """Remove ``first``'s all-zero output columns and ``second``'s matching input rows,
    folding the channels' constant outputs into ``second``'s bias. Returns how many."""
    w1 = np.asarray(first.weight.data)
    w2 = np.asarray(second.weight.data)
    dead = ~np.any(w1 != 0, axis=0)
    if not dead.any():
        return 0
    bias1 = (
        np.asarray(first.bias.data) if first.bias is not None else np.zeros(w1.shape[1], w1.dtype)
    )
    constants = _constant_after(bias1[dead], between)
    if second.bias is None:  # nowhere to fold: only channels that pass on exactly 0 go
        dead_idx = np.flatnonzero(dead)
        dead[dead_idx[constants != 0]] = False
        constants = constants[constants == 0]
    keep = ~dead
    if not keep.any():  # keep one (zero) channel: a Linear needs at least one output
        keep[np.flatnonzero(dead)[0]] = True
        constants = constants[1:]
        dead = ~keep
    if second.bias is not None:
        folded = constants @ w2[dead].astype(np.float64)
        second.bias.data = (np.asarray(second.bias.data, np.float64) + folded).astype(w2.dtype)
    # New parameter tensors, not new ``.data``: a parameter keeps its shape for life (an
    # optimizer built earlier holds the old ones; build a new optimizer after compacting).
    first.weight = _parameter(w1[:, keep])
    if first.bias is not None:
        first.bias = _parameter(bias1[keep])
    second.weight = _parameter(w2[keep, :])
    first.out_features = second.in_features = int(keep.sum())
    return int(dead.sum())


def _parameter(values: np.ndarray) -> Tensor:
    return Tensor(np.ascontiguousarray(values), requires_grad=True)


def compact_structured(model: Any) -> Any:
    """Physically drop the output channels that structured pruning zeroed, and the next
    ``Linear``'s matching inputs, in a ``Sequential`` (anything with a ``layers`` list).

    Returns the model, changed in place: each hidden ``Linear`` gets narrower, the model
    computes the same values (in eval mode) with fewer flops. Run it after
    :func:`~tinytorch.perf.compression.structured_prune`; nested ``Sequential``s are
    compacted on their own. ``model.compacted_channels`` records how many channels went.
    """
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise TypeError(
            f"compact_structured: expected a Sequential (a model with a `layers` list), "
            f"got {type(model).__name__}"
        )
    removed = 0
    for i, layer in enumerate(layers):
        if hasattr(layer, "layers") and isinstance(layer.layers, list):
            compact_structured(layer)
            removed += getattr(layer, "compacted_channels", 0)
            continue
        if not isinstance(layer, Linear):
            continue
        j = i + 1
        while j < len(layers) and isinstance(layers[j], ELEMENTWISE_LAYERS):
            j += 1
        if j < len(layers) and isinstance(layers[j], Linear):
            removed += _compact_pair(layer, layers[i + 1 : j], layers[j])
    model.compacted_channels = removed
    return model
