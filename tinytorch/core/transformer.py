"""``from tinytorch.core.transformer import TransformerBlock, GPT`` (book Module 13)."""

from tinytorch.nn.transformer import GPT, MLP, LayerNorm, TransformerBlock, create_causal_mask

__all__ = ["GPT", "MLP", "LayerNorm", "TransformerBlock", "create_causal_mask"]
