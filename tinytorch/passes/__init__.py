"""Graph-to-graph rewrites, one file each, and the PassManager that runs them in order.

Passes that are a local rule per node (constant folding, CSE, algebraic simplification) share
one driver, :func:`rewrite_nodes` (``rewrite.py``). The default pipeline, in DESIGN.md's
order (fusion comes last, after every rewrite that could change what is worth fusing)::

    constant_folding -> cse -> dce -> quantize_lowering -> kv_cache_rewrite
    -> algebraic_simplification -> cse -> dce -> fusion

It is a plain list: ``tinytorch.set_pipeline([...])`` replaces it, ``[]`` turns passes off.
"""

from tinytorch.passes.algebraic import AlgebraicSimplification
from tinytorch.passes.base import Pass, PassManager, PassRecord
from tinytorch.passes.constant_folding import ConstantFolding
from tinytorch.passes.cse import CommonSubexpressionElimination
from tinytorch.passes.dce import DeadCodeElimination
from tinytorch.passes.fusion import Fusion, fusion_report
from tinytorch.passes.kv_cache import KVCacheRewrite
from tinytorch.passes.quantize_lowering import QuantizeLowering
from tinytorch.passes.rewrite import Rule, rewrite_nodes
from tinytorch.passes.verify import VerificationError, verify


def default_pipeline() -> list[Pass]:
    return [
        ConstantFolding(),
        CommonSubexpressionElimination(),
        DeadCodeElimination(),
        QuantizeLowering(),
        KVCacheRewrite(),
        AlgebraicSimplification(),
        CommonSubexpressionElimination(),
        DeadCodeElimination(),
        Fusion(),
    ]


__all__ = [
    "AlgebraicSimplification",
    "CommonSubexpressionElimination",
    "ConstantFolding",
    "DeadCodeElimination",
    "Fusion",
    "KVCacheRewrite",
    "Pass",
    "PassManager",
    "PassRecord",
    "QuantizeLowering",
    "Rule",
    "VerificationError",
    "default_pipeline",
    "fusion_report",
    "rewrite_nodes",
    "verify",
]
