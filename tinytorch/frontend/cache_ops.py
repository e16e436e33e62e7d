"""The frontend of the KV cache's IR op (:mod:`tinytorch.ir.ops.cache`).

``kv_cache_write(cache, new, pos)`` adds one effectful ``kv_cache_write`` node: when the graph
runs, ``new`` is stored into ``cache`` at rows ``pos .. pos + n - 1`` in place, and the result
*is* the cache (read it to attend over every position written so far). Shapes are checked
now, at the caller's line; a position outside the cache is an error when the graph runs.

The write is inference-only: autograd does not track it (no gradient flows into a cache).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinytorch.frontend.source import user_op
from tinytorch.frontend.tensor_type import as_tensor, wrap
from tinytorch.ir import build as B

if TYPE_CHECKING:
    from tinytorch.frontend.tensor import Tensor


@user_op("kv_cache_write")
def kv_cache_write(cache: Tensor, new: Tensor, pos: Tensor, memoized: bool = False) -> Tensor:
    """``cache`` ``(B, H, S, D)`` with ``new`` ``(B, H, n, D)`` written at rows ``pos[0]..``
    (``pos``: an int64 tensor of shape ``(1,)``, a runtime value). Returns the cache.

    ``memoized=True`` promises the KV-cache rewrite (:mod:`tinytorch.passes.kv_cache`) that
    ``new`` is a row-wise function of a stash the caller appends to, and that the cache
    always holds that function of every stash row written: the pass may then compute and
    write only the new rows."""
    cache, new, pos = as_tensor(cache), as_tensor(new), as_tensor(pos)
    attrs = {"memoized": True} if memoized else {}
    node = B.make("kv_cache_write", (cache._node, new._node, pos._node), **attrs)
    return wrap(node, [])  # not tracked by autograd: a cache write has no gradient


def first_row() -> Tensor:
    """Position 0 as a constant ``(1,)`` int64 tensor (a write of a whole buffer)."""
    return wrap(B.make("const", (), value=0, shape=(1,), dtype="int64"), [])
