"""The llvm backend's buffer pool: freed intermediates are recycled, never an array that
someone can still see.

* an array only its caller holds is taken back, and handed out again for the same shape
  and dtype; one that another name, a view or a tensor still holds is not;
* the pool keeps at most ``capacity`` bytes;
* a plan run twice reuses its intermediates, and the results of both runs stay intact
  (an output of the first run is never overwritten by the second).
"""

from __future__ import annotations

import numpy as np

import tinytorch
from tinytorch import Tensor
from tinytorch.backends.llvm.buffers import BufferPool, buffer_pool


def test_an_unshared_array_is_recycled_for_the_same_shape_and_dtype():
    pool = BufferPool()
    array = np.empty((64, 64), np.float32)
    address = array.ctypes.data
    pool.give(array)
    del array
    assert pool.take((64, 64), np.dtype(np.float64)).ctypes.data != address  # other dtype
    assert pool.take((64, 64), np.dtype(np.float32)).ctypes.data == address
    assert pool.held == 0


def test_an_array_someone_else_holds_is_never_taken():
    pool = BufferPool()
    kept = np.empty((64, 64), np.float32)
    other_name = kept
    pool.give(kept)  # two names hold it
    assert pool.held == 0
    del other_name
    view = kept[1:]
    pool.give(kept)  # a view holds it
    assert pool.held == 0
    pool.give(view)  # a view does not own its memory
    assert pool.held == 0


def test_the_pool_holds_at_most_its_capacity():
    pool = BufferPool(capacity=3 * 64 * 64 * 4)
    for _ in range(5):
        pool.give(np.empty((64, 64), np.float32))
    assert pool.held == 3 * 64 * 64 * 4
    pool.clear()
    assert pool.held == 0


def test_a_repeated_step_reuses_its_buffers_and_keeps_earlier_results():
    x = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)

    def step(scale: float) -> np.ndarray:
        h = (Tensor(x) * scale).relu() @ Tensor(x)  # a kernel, then BLAS reads its output
        return ((h + 1.0).exp() * 0.0 + h).numpy()

    with tinytorch.backend("llvm"):
        first = step(1.0)
        kept = first.copy()
        reused = buffer_pool.reused
        second = step(2.0)
    assert buffer_pool.reused > reused  # the second run wrote into recycled buffers
    np.testing.assert_array_equal(first, kept)  # not overwritten by the second run
    with tinytorch.backend("numpy"):
        want = step(2.0)
    np.testing.assert_allclose(second, want, rtol=1e-5, atol=1e-4)
