"""Quantization lowering: turn simulated int8 matmuls into real integer arithmetic.

A quantized layer, written the book's way, computes in float: it dequantizes its int8 weight
(and, once calibrated, its quantized input) and multiplies floats::

    xq = quantize(x, sx, zx)                  int8
    y  = matmul(dequantize(xq, sx, zx),       float32: (xq - zx) * sx
                dequantize(Wq, sw, zw))       float32: (Wq - zw) * sw, a whole float matrix

That keeps the 4x memory saving only while the model is idle: every call materializes a
float32 copy of the weight and runs a float GEMM on it. Because both operands are affine in
their integers, the same product is (sw per column j, or one sw for the whole weight)::

    y[i, j] = sx * sw[j] * ( sum_k (xq[i,k] - zx) * Wq[k,j]  -  zw[j] * sum_k (xq[i,k] - zx) )

so this pass rewrites the matmul into

    acc = int8_matmul(xq, Wq, zx)             int32: int8 x int8 products, int32 sums
    r   = sum(cast(xq, int32) - zx, axis=1)   int32: one row sum per input row
    y   = cast(acc - r * zw, float32) * sx * sw          the float epilogue

The integer part is exact; the epilogue is a chain of elementwise ops, so the fusion pass
puts it (with the layer's bias add and activation that follow) into one kernel. Nothing of
the float weight is left: the dequantize node becomes dead and DCE removes it.

Weights kept transposed (``Wq = permute(Wt)`` of an ``(N, K)`` int8 tensor, which is how
:class:`~tinytorch.perf.quantization.QuantizedLinear` stores them) are read in place
(``layout="nk"``): every output is then a dot product of two contiguous int8 rows.
:class:`~tinytorch.perf.quantized_conv.QuantizedConv2d` writes its convolution in the same
form, im2col rows of its int8 input (one per output pixel) times its ``(out, C*kh*kw)``
int8 kernels, one scale per output channel, so convolutions need no rule of their own.

What is matched: a 2-D ``matmul`` whose left operand is ``dequantize`` with one scale and
zero point (0-d tensors, expanded to the data's shape), and whose right operand is
``dequantize`` of a 2-D int8 weight with one scale and zero point, or one per column.
Anything else (an input that was never quantized, because the layer was not calibrated) is
left alone.
"""

from __future__ import annotations

from tinytorch.ir import build as B
from tinytorch.ir.graph import Graph
from tinytorch.ir.node import Node
from tinytorch.passes.base import Pass
from tinytorch.passes.rewrite import rewrite_nodes


def unexpanded(node: Node) -> Node:
    """A quantization parameter before it was broadcast to the data's shape."""
    return node.inputs[0] if node.op == "expand" else node


def _per_tensor_dequantize(node: Node) -> bool:
    """``dequantize`` with one scale and one zero point for the whole tensor."""
    return node.op == "dequantize" and all(unexpanded(p).shape == () for p in node.inputs[1:])


def _weight_dequantize(node: Node) -> bool:
    """``dequantize`` of a matrix, per tensor or per column."""
    if node.op != "dequantize" or node.ndim != 2:
        return False
    return all(unexpanded(p).shape in ((), node.shape[1:]) for p in node.inputs[1:])


def _weight_source(wq: Node) -> tuple[Node, str]:
    """The int8 weight as the integer kernel should read it: a transposed ``(N, K)`` tensor
    under a ``permute`` is read directly (``"nk"``), anything else as it is (``"kn"``)."""
    if wq.op == "permute" and wq.attrs["perm"] == (1, 0):
        return wq.inputs[0], "nk"
    return wq, "kn"


def lower_matmul(node: Node, inputs: tuple[Node, ...]) -> Node | None:
    """The rule: a quantized 2-D matmul becomes integer matmul + correction + epilogue."""
    if node.op != "matmul" or node.ndim != 2:
        return None
    x_deq, w_deq = inputs
    if not (_per_tensor_dequantize(x_deq) and _weight_dequantize(w_deq)):
        return None
    xq, sx, zx = x_deq.inputs[0], *map(unexpanded, x_deq.inputs[1:])
    wq, sw, zw = w_deq.inputs[0], *map(unexpanded, w_deq.inputs[1:])
    (m, n), k = node.shape, xq.shape[1]
    weight, layout = _weight_source(wq)
    with B.source(node.src):
        acc = B.make("int8_matmul", (xq, weight, zx), layout=layout)  # int32 (M, N)
        shifted = B.sub(B.cast(xq, "int32"), B.expand(zx, (m, k)))
        rows = B.reduce_sum(shifted, (1,), keepdims=True)  # (M, 1)
        zw_row = B.reshape(zw, (1, n)) if zw.shape else B.reshape(zw, (1, 1))
        correction = B.mul(B.expand(rows, (m, n)), B.expand(zw_row, (m, n)))
        exact = B.sub(acc, correction)  # int32: sum_k (xq - zx)(Wq - zw)
        sw_row = B.reshape(sw, (1, n)) if sw.shape else B.reshape(sw, (1, 1))
        out = B.mul(B.cast(exact, "float32"), B.expand(sx, (m, n)))
        out = B.mul(out, B.expand(sw_row, (m, n)))
        return B.cast(out, node.dtype)


class QuantizeLowering(Pass):
    """Rewrite ``dequantize(xq) @ dequantize(Wq)`` into int8 x int8 -> int32 compute with
    zero-point correction and a float epilogue (see the module docstring)."""

    name = "quantize_lowering"

    def run(self, graph: Graph) -> tuple[Graph, bool]:
        return rewrite_nodes(graph, lower_matmul)
