"""Every component the milestone chapters name ("YOUR Code Powers This") imports from the
book's module paths under the name the chapter uses."""

import importlib

import pytest

from tinytorch.core.embeddings import Embedding, PositionalEncoding

NAMED = {
    # Milestone 03 (and 01-02)
    "tinytorch.core.tensor": ["Tensor"],
    "tinytorch.core.layers": ["Linear"],
    "tinytorch.core.activations": ["ReLU", "Sigmoid"],
    "tinytorch.core.losses": ["CrossEntropyLoss"],
    "tinytorch.core.optimizers": ["SGD"],
    "tinytorch.core.data_loader": ["DataLoader"],
    # Milestone 04
    "tinytorch.core.spatial": ["Conv2d", "MaxPool2d"],
    # Milestone 05
    "tinytorch.core.tokenization": ["CharTokenizer"],
    "tinytorch.core.embeddings": ["TokenEmbedding", "PositionalEmbedding"],
    "tinytorch.core.attention": ["MultiHeadAttention"],
    "tinytorch.core.transformer": ["TransformerBlock", "LayerNorm"],
    # Milestone 06
    "tinytorch.perf.profiling": ["Profiler"],
    "tinytorch.perf.memoization": ["KVCache", "enable_kv_cache"],
    "tinytorch.perf.compression": ["magnitude_prune"],
}


@pytest.mark.parametrize("path", sorted(NAMED))
def test_named_components_import(path):
    module = importlib.import_module(path)
    missing = [name for name in NAMED[path] if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"


def test_milestone_05_names_are_module_11_classes():
    """TokenEmbedding / PositionalEmbedding are Module 11's Embedding / PositionalEncoding."""
    from tinytorch.core.embeddings import PositionalEmbedding, TokenEmbedding

    assert TokenEmbedding is Embedding and PositionalEmbedding is PositionalEncoding
    tokens = TokenEmbedding(10, 4)
    assert tokens.weight.shape == (10, 4)
    positions = PositionalEmbedding(8, 4)
    assert positions(tokens([[1, 2, 3]])).shape == (1, 3, 4)
