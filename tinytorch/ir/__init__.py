"""The intermediate representation: nodes, the op registry, graphs, printing and hashing."""

from tinytorch.ir import ops  # noqa: F401  (registers every op)
from tinytorch.ir.build import make, source
from tinytorch.ir.errors import DTypeError, RealizeError, ShapeError
from tinytorch.ir.node import Node
from tinytorch.ir.registry import OpDef, all_ops, get, register

__all__ = [
    "DTypeError",
    "Node",
    "OpDef",
    "RealizeError",
    "ShapeError",
    "all_ops",
    "get",
    "make",
    "register",
    "source",
]
