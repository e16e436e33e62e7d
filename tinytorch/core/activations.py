"""``from tinytorch.core.activations import ReLU, Sigmoid, Softmax`` (book Module 02)."""

from tinytorch.nn.activations import GELU, Activation, ReLU, Sigmoid, Softmax, Tanh

__all__ = ["GELU", "Activation", "ReLU", "Sigmoid", "Softmax", "Tanh"]
