"""Sliding windows over images: ``windows`` (im2col's unfold step) and ``fold`` (its gradient).

A convolution is a dot product between the kernel and every ``kh x kw`` patch of the input.
The book writes it as seven nested loops (spec §2.4). Here it is two steps:

1. ``windows`` gathers every patch: from ``x`` of shape ``(N, C, H, W)`` it makes
   ``(kh, kw, N, C, OH, OW)``, where ``[a, b, n, c, i, j]`` is pixel ``(a, b)`` of the patch
   whose top-left corner is at ``(i * sh - ph, j * sw - pw)`` of the unpadded image.
   ``OH = (H + 2*ph - kh) // sh + 1`` (the book's formula; leftover rows are ignored).
2. The frontend lays the patches out as a matrix ``(C*kh*kw, N*OH*OW)`` — "im2col" — and one
   ``matmul`` of the weights ``(out, C*kh*kw)`` with it computes every output pixel on BLAS.

The kernel offsets come *first* ("kernel-major"): for each offset ``(a, b)`` the slab
``[a, b]`` is a whole shifted image, contiguous. Reductions over the offsets then combine
``kh*kw`` large contiguous arrays, and the im2col permute copies rows of ``OH*OW`` pixels.
(The patch-last layout ``(N, C, OH, OW, kh, kw)`` is the textbook picture, but it puts a
2- or 3-element axis innermost, which made NumPy's max pooling 20x slower when measured.)

Pooling reuses step 1: max pooling is ``max`` over the first two axes of ``windows``, average
pooling is their ``sum`` times ``1/(kh*kw)``. Positions outside the image take
``pad_value``: ``0.0`` for convolution and average pooling, ``-inf`` for max pooling, so that a
padded position never wins the max (with zeros, an all-negative window would return 0, a value
that is not in the image; spec §2.4).

``fold`` is the adjoint of ``windows``: it scatter-adds each window's values back to the pixel
each came from (overlapping windows accumulate) and drops what fell on the padding. It is
``windows``' VJP, and ``windows`` (with zero padding) is ``fold``'s VJP.

Both are ``opaque`` for the fusion pass. The NumPy backend runs them with these NumPy
kernels (``sliding_window_view`` makes ``windows`` a strided view; no Python loop over
pixels); the llvm backend reads ``windows`` by index arithmetic inside the kernels that use
it and compiles ``fold`` into a kernel (``tinytorch/backends/llvm/windows.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.ir import build as B
from tinytorch.ir.dtypes import is_float
from tinytorch.ir.errors import ShapeError
from tinytorch.ir.node import Node
from tinytorch.ir.registry import OpDef, nbytes, register

Pair = tuple[int, int]


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """The book's formula: ``(size + 2*padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def _check_geometry(op: str, shape: tuple[int, ...], attrs: dict[str, Any]) -> tuple[int, int]:
    """Validate ``kernel``/``stride``/``padding`` against an ``(N, C, H, W)`` shape and return
    ``(OH, OW)``."""
    if len(shape) != 4:
        raise ShapeError(f"{op}: expects a 4-D (N, C, H, W) input, got shape {shape}")
    (kh, kw), (sh, sw), (ph, pw) = attrs["kernel"], attrs["stride"], attrs["padding"]
    if kh <= 0 or kw <= 0:
        raise ShapeError(f"{op}: kernel size must be positive, got {(kh, kw)}")
    if sh <= 0 or sw <= 0:
        raise ShapeError(f"{op}: stride must be positive, got {(sh, sw)}")
    if ph < 0 or pw < 0:
        raise ShapeError(f"{op}: padding must be >= 0, got {(ph, pw)}")
    H, W = shape[2] + 2 * ph, shape[3] + 2 * pw
    if kh > H or kw > W:
        raise ShapeError(
            f"{op}: kernel {(kh, kw)} is larger than the padded input {(H, W)} "
            f"(input {shape[2:]}, padding {(ph, pw)})"
        )
    return out_size(shape[2], kh, sh, ph), out_size(shape[3], kw, sw, pw)


# ----------------------------------------------------------------------- windows
def _windows_infer(shapes, dtypes, attrs):
    (x,) = shapes
    oh, ow = _check_geometry("windows", x, attrs)
    if not is_float(dtypes[0]) and math.isinf(attrs["pad_value"]):
        raise ShapeError(f"windows: pad_value {attrs['pad_value']} needs a float input")
    return (*attrs["kernel"], x[0], x[1], oh, ow), dtypes[0]


def _windows_kernel(node: Node, x: np.ndarray) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = node.attrs["kernel"], node.attrs["stride"], node.attrs["padding"]
    if ph or pw:
        pad = ((0, 0), (0, 0), (ph, ph), (pw, pw))
        x = np.pad(x, pad, constant_values=np.asarray(node.attrs["pad_value"], dtype=x.dtype))
    view = sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, H-kh+1, W-kw+1, kh, kw)
    oh, ow = node.shape[4], node.shape[5]
    view = view[:, :, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw]
    return np.ascontiguousarray(np.moveaxis(view, (4, 5), (0, 1)))  # kernel-major copy


def _windows_vjp(node: Node, g: Node) -> tuple[Node]:
    x = node.inputs[0]
    return (make_fold(g, x.shape, node.attrs),)


def _windows_cost(node: Node) -> tuple[int, int]:
    return 0, nbytes(node) + nbytes(node.inputs[0])


register(
    OpDef(
        name="windows",
        kind="opaque",
        arity=1,
        infer=_windows_infer,
        numpy=_windows_kernel,
        vjp=_windows_vjp,
        cost=_windows_cost,
        grad_name="UnfoldBackward",
        doc="(N, C, H, W) -> (kh, kw, N, C, OH, OW): every kernel-sized patch (im2col's unfold).",
    )
)


# -------------------------------------------------------------------------- fold
def _fold_infer(shapes, dtypes, attrs):
    (g,) = shapes
    target = tuple(attrs["shape"])
    oh, ow = _check_geometry("fold", target, attrs)
    want = (*attrs["kernel"], target[0], target[1], oh, ow)
    if g != want:
        raise ShapeError(f"fold: windows of shape {g} do not match {want} for input {target}")
    return target, dtypes[0]


def _fold_kernel(node: Node, g: np.ndarray) -> np.ndarray:
    """Scatter-add: one strided ``+=`` per kernel offset (kh*kw of them), not per pixel."""
    (kh, kw), (sh, sw), (ph, pw) = node.attrs["kernel"], node.attrs["stride"], node.attrs["padding"]
    n, c, h, w = node.shape
    oh, ow = g.shape[4], g.shape[5]
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=node.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += g[i, j]
    return out[:, :, ph : ph + h, pw : pw + w]


def _fold_vjp(node: Node, g: Node) -> tuple[Node]:
    attrs = {k: node.attrs[k] for k in ("kernel", "stride", "padding")}
    return (B.make("windows", (g,), pad_value=0.0, **attrs),)


def _fold_cost(node: Node) -> tuple[int, int]:
    (g,) = node.inputs
    return g.size, nbytes(g) + 2 * nbytes(node)


def make_fold(g: Node, shape: tuple[int, ...], attrs: dict[str, Any]) -> Node:
    """``fold`` of window gradients ``g`` back to an input of ``shape`` (geometry from
    ``attrs``, the ``windows`` node's attributes; its ``pad_value`` does not matter: padded
    positions are constants and get no gradient)."""
    keep = {k: attrs[k] for k in ("kernel", "stride", "padding")}
    return B.make("fold", (g,), shape=tuple(shape), **keep)


register(
    OpDef(
        name="fold",
        kind="opaque",
        arity=1,
        infer=_fold_infer,
        numpy=_fold_kernel,
        vjp=_fold_vjp,
        cost=_fold_cost,
        doc="(kh, kw, N, C, OH, OW) -> (N, C, H, W): scatter-add windows back (col2im).",
    )
)
