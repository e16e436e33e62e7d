"""tinytorch: the TinyTorch book's framework, built as a lazy graph compiler.

    from tinytorch import Tensor
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * 3).sum()          # a graph, not a number
    y.backward(); print(x.grad)  # realized here: passes -> backend -> values

Switch backends with ``tinytorch.set_backend("numpy")`` / ``with tinytorch.backend(...)`` or
``TINYTORCH_BACKEND``; look inside with ``tinytorch.dump_graph`` and ``tinytorch.profile()``.
"""

from tinytorch import ir  # noqa: F401  (registers the ops)
from tinytorch.backends import available_backends
from tinytorch.data.datasets import load_cifar10, load_mnist, load_tinydigits, load_tinytalks
from tinytorch.data.loader import DataLoader, Dataset, TensorDataset
from tinytorch.frontend.autograd import enable_autograd, enable_grad, is_grad_enabled, no_grad
from tinytorch.frontend.compile import CompiledFunction, TraceError, compile
from tinytorch.frontend.functional import concat, stack, where
from tinytorch.frontend.inspect import dump_graph, explain, fusion_report
from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.ir.errors import DTypeError, RealizeError, ShapeError
from tinytorch.nn.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.nn.attention import MultiHeadAttention, scaled_dot_product_attention
from tinytorch.nn.embeddings import Embedding, EmbeddingLayer, PositionalEncoding
from tinytorch.nn.layers import Dropout, Flatten, Linear, Sequential
from tinytorch.nn.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss, log_softmax
from tinytorch.nn.module import Layer
from tinytorch.nn.spatial import AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d
from tinytorch.nn.transformer import GPT, MLP, LayerNorm, TransformerBlock
from tinytorch.optim.clipping import clip_grad_norm
from tinytorch.optim.optimizers import SGD, Adam, AdamW, Optimizer
from tinytorch.optim.schedules import CosineSchedule
from tinytorch.runtime import (
    backend,
    current_backend,
    dump_to,
    eager_check,
    get_pipeline,
    profile,
    set_backend,
    set_debug,
    set_pipeline,
)
from tinytorch.train.trainer import Trainer

cat = concat
__version__ = "0.1.0"

__all__ = [
    "scaled_dot_product_attention",
    "TransformerBlock",
    "PositionalEncoding",
    "MultiHeadAttention",
    "MLP",
    "LayerNorm",
    "GPT",
    "EmbeddingLayer",
    "Embedding",
    "CompiledFunction",
    "TraceError",
    "compile",
    "Adam",
    "AdamW",
    "AvgPool2d",
    "BatchNorm2d",
    "BinaryCrossEntropyLoss",
    "Conv2d",
    "CosineSchedule",
    "CrossEntropyLoss",
    "DataLoader",
    "Dataset",
    "Dropout",
    "DTypeError",
    "Flatten",
    "GELU",
    "Layer",
    "Linear",
    "MaxPool2d",
    "MSELoss",
    "Optimizer",
    "RealizeError",
    "ReLU",
    "Sequential",
    "SGD",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Tensor",
    "TensorDataset",
    "Trainer",
    "available_backends",
    "backend",
    "cat",
    "clip_grad_norm",
    "concat",
    "current_backend",
    "dump_graph",
    "dump_to",
    "eager_check",
    "enable_autograd",
    "enable_grad",
    "explain",
    "fusion_report",
    "get_pipeline",
    "is_grad_enabled",
    "load_cifar10",
    "load_mnist",
    "load_tinydigits",
    "load_tinytalks",
    "log_softmax",
    "no_grad",
    "profile",
    "realize",
    "set_backend",
    "set_debug",
    "set_pipeline",
    "stack",
    "where",
]
