"""Every op the IR knows, registered on import. One file per family of ops."""

from tinytorch.ir.ops import (  # noqa: F401
    cache,
    elementwise,
    index,
    leaf,
    linalg,
    movement,
    quant,
    reduce,
    spatial,
)
