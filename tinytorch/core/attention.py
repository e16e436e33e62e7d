"""``from tinytorch.core.attention import MultiHeadAttention`` (book Module 12)."""

from tinytorch.nn.attention import MASK_VALUE, MultiHeadAttention, scaled_dot_product_attention

__all__ = ["MASK_VALUE", "MultiHeadAttention", "scaled_dot_product_attention"]
