"""The KV cache's write: the IR's one op that changes memory it does not own.

``kv_cache_write(cache, new, pos)`` stores ``new`` (``(batch, heads, n, head_dim)``: the keys
or values of ``n`` consecutive positions) into ``cache`` (``(batch, heads, max_seq_len,
head_dim)``, a buffer the KV cache owns) at rows ``pos[0] .. pos[0] + n - 1``, **in place**,
and returns the cache itself, so attention reads the filled prefix through the result.

Why an effect. Every other op is a pure function of its inputs; this one is how a decode
step leaves something behind for the next step (the memoized keys and values) without
recomputing them. So it is registered ``effectful``: dead-code elimination keeps it even if
nothing read its result, CSE never merges two writes, simplification never touches it, and
fusion runs it alone, after its inputs and before every reader of its result (readers of
the cache get the data dependency through the returned buffer, which is what orders them).

``pos`` is a runtime value (an int64 tensor of shape ``(1,)``), not an attribute: the graph
of a decode step is the same for every token, so one compiled plan serves them all.
"""

from __future__ import annotations

from tinytorch.ir.dtypes import is_int
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.registry import OpDef, nbytes, register


def _write_infer(shapes, dtypes, attrs):
    cache, new, pos = shapes
    if len(cache) != 4 or len(new) != 4:
        raise ShapeError(
            f"kv_cache_write: cache {cache} and new entries {new} must both be 4-D "
            "(batch, heads, seq, head_dim)"
        )
    if (new[0], new[1], new[3]) != (cache[0], cache[1], cache[3]) or new[2] > cache[2]:
        raise ShapeError(
            f"kv_cache_write: new entries {new} do not fit the cache {cache}: expected "
            f"({cache[0]}, {cache[1]}, n <= {cache[2]}, {cache[3]})"
        )
    if dtypes[0] != dtypes[1]:
        raise DTypeError(f"kv_cache_write: cache is {dtypes[0]} but new entries are {dtypes[1]}")
    if pos != (1,) or not is_int(dtypes[2]):
        raise ShapeError(f"kv_cache_write: pos must be an integer tensor of shape (1,), got {pos}")
    return cache, dtypes[0]


def _write_kernel(node, cache, new, pos):
    start, n, rows = int(pos[0]), new.shape[2], cache.shape[2]
    if start < 0 or start + n > rows:
        raise IndexError(
            f"kv_cache_write: positions {start}..{start + n - 1} are outside the cache's "
            f"{rows} rows"
        )
    cache[:, :, start : start + n, :] = new
    return cache


def _write_cost(node):
    new = node.inputs[1]
    return 0, 2 * nbytes(new)  # read the new rows, write them: O(n), not O(max_seq_len)


register(
    OpDef(
        name="kv_cache_write",
        kind="opaque",
        arity=3,
        infer=_write_infer,
        numpy=_write_kernel,
        differentiable=False,
        effectful=True,
        cost=_write_cost,
        doc="Write `new` into `cache` at rows pos..pos+n-1 in place; returns the cache.",
    )
)
