"""The Tensor (book Module 01), lazy.

A ``Tensor`` is a handle on an IR node. Operators and methods build nodes and return new
tensors at once; values are computed only when something needs them — ``.data``,
``.numpy()``, ``.item()``, ``print``, ``bool`` — and then everything pending that the value
depends on runs as one compiled graph. To a user it looks eager; laziness shows as speed and
as the graphs you can dump.

Views follow the book (§1.3): ``reshape``, ``transpose`` and slicing of a realized tensor
share its memory, so ``y = x.reshape(2, 2); y.data[0, 0] = 99`` changes ``x``; arithmetic
always makes new memory (``x + 0`` does not alias ``x``).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from tinytorch.frontend import autograd, tracing
from tinytorch.frontend import functional as F
from tinytorch.frontend.dtypes import is_float, to_array
from tinytorch.frontend.indexing import getitem
from tinytorch.frontend.tensor_type import register_tensor_class
from tinytorch.ir import build as B
from tinytorch.ir.dtypes import FLOAT_DTYPES
from tinytorch.ir.errors import DTypeError, ShapeError
from tinytorch.ir.node import Node
from tinytorch.runtime.realize import realize as run_graph


def _is_operand(x: Any) -> bool:
    """Can ``x`` take part in elementwise arithmetic with a tensor?"""
    return isinstance(x, (Tensor, list, tuple, np.ndarray, np.generic, numbers.Number))


_DTYPE_NAMES: dict[np.dtype, str] = {}


def _leaf(array: np.ndarray) -> Node:
    dtype = _DTYPE_NAMES.get(array.dtype)
    if dtype is None:  # (NumPy computes dtype.name in Python, slowly: remember it)
        dtype = _DTYPE_NAMES[array.dtype] = array.dtype.name
    node = B.make("buffer", (), shape=array.shape, dtype=dtype)
    node.meta["value"] = array
    tracing.created(node)
    return node


class Tensor:
    """``Tensor(data, requires_grad=False, dtype=None)``: data is a list, ndarray or scalar.

    Floating data becomes float32 and integer data int64 unless ``dtype`` says otherwise.
    """

    __slots__ = ("_node", "_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self._node = _leaf(to_array(data, dtype))
        self._grad: Tensor | None = None
        self.requires_grad = requires_grad
        autograd.register_tensor(self._node, self)

    # -------------------------------------------------------------- internals
    @classmethod
    def _from_op(cls, node: Node, parents: list[Tensor], label: str | None = None) -> Tensor:
        """Wrap an op's result node, deciding whether autograd tracks it."""
        t = object.__new__(cls)
        t._node = node
        t._grad = None
        meta = node.meta
        requires = False
        if parents and autograd.is_grad_enabled() and node.dtype in FLOAT_DTYPES:
            for p in parents:  # (a plain loop: this runs for every op the program builds)
                if p._node.meta.get("requires_grad"):
                    requires = True
                    break
        meta["requires_grad"] = requires
        autograd.record_op(node, parents, label)
        autograd.register_tensor(node, t)
        return t

    @classmethod
    def _of_array(cls, array: np.ndarray) -> Tensor:
        """A leaf holding ``array`` itself (no copy, no dtype change): for values the
        library made, such as a compiled step's results."""
        t = object.__new__(cls)
        t._node = _leaf(array)
        t._grad = None
        autograd.register_tensor(t._node, t)
        return t

    @classmethod
    def _view_of(cls, node: Node) -> Tensor:
        """A handle on an existing node that does not claim its gradients."""
        t = object.__new__(cls)
        t._node = node
        t._grad = None
        return t

    def _accumulate_grad(self, g: Node) -> None:
        if g.is_leaf or "tensor" in g.meta:
            # The node is someone's data already (the gradient passed to backward(), or the
            # same gradient given to both inputs of an add): give this .grad its own node,
            # so the two never share memory or autograd bookkeeping.
            g = B.make("cast", (g,), dtype=g.dtype)
        tracing.grad_set(self, accumulate=True)
        with autograd.no_grad():
            if self._grad is None:
                self._grad = Tensor._from_op(g, [])
            else:
                self._grad = Tensor._from_op(B.add(self._grad._node, g), [])

    def _realize(self) -> np.ndarray:
        run_graph([self._node])
        return self._node.meta["value"]

    # ------------------------------------------------------------- properties
    @property
    def data(self) -> np.ndarray:
        """The values as a NumPy array (computing them if needed). For a realized tensor,
        writing into this array writes into the tensor.

        Writes never reach results built earlier (eager semantics, as in the book): when
        ops already read this leaf, those pending readers keep a snapshot of the values
        as they were, and the tensor moves to a fresh leaf holding the array you get. So
        ``y = x * 3; x.data[0] = 100.`` leaves ``y`` at ``[3, 6]``, and the book's
        ``p.data -= lr * p.grad.data`` updates ``p`` in place."""
        tracing.check_read("Tensor.data")
        node = self._node
        if node.meta.get("read") and not node.inputs and "value" in node.meta:
            self._leave_snapshot(node)
        return self._realize()

    def _leave_snapshot(self, old: Node) -> None:
        """Give ops that read ``old`` a private copy of its values; keep the original array
        on a new leaf node that no op reads yet (the user is about to get it, writable)."""
        array = old.meta["value"]
        old.meta["value"] = array.copy()
        self._node = _leaf(array)
        self._node.meta["requires_grad"] = old.meta.get("requires_grad", False)
        autograd.register_tensor(self._node, self)
        tracing.rebound(self, old)

    @data.setter
    def data(self, value: Any) -> None:
        """Rebind to new values (``param.data = param.data - lr * grad``). The tensor becomes
        a leaf holding them (in its own dtype); graphs built earlier keep the old values."""
        array = value._realize() if isinstance(value, Tensor) else value
        try:
            array = np.asarray(array, dtype=self._node.dtype)  # keeps the tensor's dtype
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cannot set Tensor.data from {type(value).__name__}: {exc}") from None
        requires_grad, old = self.requires_grad, self._node
        if requires_grad and array.shape != old.shape:  # a parameter keeps its shape
            raise ShapeError(
                f"Tensor.data: cannot assign values of shape {array.shape} to a parameter "
                f"of shape {old.shape} (requires_grad=True); its layer expects {old.shape}"
            )
        self._node = _leaf(array)
        self._node.meta["requires_grad"] = requires_grad
        autograd.register_tensor(self._node, self)
        tracing.rebound(self, old)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._node.shape

    @property
    def size(self) -> int:
        return self._node.size

    @property
    def ndim(self) -> int:
        return self._node.ndim

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._node.dtype)

    @property
    def requires_grad(self) -> bool:
        return bool(self._node.meta.get("requires_grad", False))

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if not self._node.is_leaf:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors (tensors "
                "you created), not on results of operations"
            )
        if flag and not is_float(self._node.dtype):
            raise DTypeError(
                f"only floating-point tensors can require gradients, this one is {self._node.dtype}"
            )
        self._node.meta["requires_grad"] = bool(flag)

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient, a Tensor (lazy until read), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        """Set or clear the gradient (optimizers and ``clip_grad_norm`` rescale it). It must
        have the tensor's shape; it is kept in the tensor's dtype, so later gradients add."""
        tracing.grad_set(self)
        if value is None:
            self._grad = None
            return
        if not isinstance(value, Tensor):
            value = Tensor(value, dtype=self._node.dtype)
        if value.shape != self.shape:
            raise ShapeError(
                f"grad of shape {value.shape} assigned to a tensor of shape {self.shape}"
            )
        if value.dtype != self.dtype:
            with autograd.no_grad():
                value = F.astype(value, self._node.dtype)
        self._grad = value

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The op that made this tensor, by the book's name (``<MulBackward>``)."""
        return autograd.grad_fn_of(self._node)

    _grad_fn = grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._node.is_leaf

    @property
    def T(self) -> Tensor:
        return self.transpose()

    # ----------------------------------------------------------- autograd API
    def backward(self, gradient: Any = None) -> None:
        """Accumulate d(self)/d(t) into ``t.grad`` for every tensor ``t`` it depends on."""
        autograd.backward(self, gradient)

    def zero_grad(self) -> None:
        """Reset the gradient to None (the book's choice: no memory until the next backward)."""
        tracing.grad_set(self)
        self._grad = None

    def detach(self) -> Tensor:
        """The same values, cut from the autograd graph."""
        with autograd.no_grad():
            return F.astype(self, self._node.dtype)

    # -------------------------------------------------------------- realizing
    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> Any:
        if self.size != 1:
            raise ValueError(
                f"only one element tensors can be converted to Python scalars "
                f"(this one has shape {self.shape})"
            )
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.data
        if dtype is not None:
            return data.astype(dtype, copy=bool(copy))
        return data.copy() if copy else data

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.size} elements is "
                "ambiguous; reduce it first, e.g. bool((t > 0).sum())"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's value, as PyTorch does (the book's
        losses, e.g. ``distillation_loss``, are printed this way). Without a format spec,
        or for any other shape, it is ``str(tensor)``; a spec on a non-scalar is an error."""
        if spec and self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self.dtype != np.float32 and self.dtype != np.int64:
            extra += f", dtype={self.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    __str__ = __repr__
    __hash__ = object.__hash__  # == builds a comparison tensor, so hash by identity

    # -------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return F.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return F.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return F.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return F.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return F.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return F.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return F.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return F.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return F.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return F.pow(other, self)

    def __neg__(self) -> Tensor:
        return F.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return F.abs(self)

    def __matmul__(self, other: Any) -> Tensor:
        return F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return F.matmul(other, self)

    def __lt__(self, other: Any) -> Tensor:
        return F.compare("lt", self, other)

    def __le__(self, other: Any) -> Tensor:
        return F.compare("le", self, other)

    def __gt__(self, other: Any) -> Tensor:
        return F.compare("gt", self, other)

    def __ge__(self, other: Any) -> Tensor:
        return F.compare("ge", self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        if not _is_operand(other):
            return NotImplemented  # t == None is False, as for any object
        return F.compare("eq", self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if not _is_operand(other):
            return NotImplemented
        return F.compare("ne", self, other)

    def __getitem__(self, key: Any) -> Tensor:
        return getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError(
            "tinytorch tensors are immutable graph values: build a new tensor "
            "(tinytorch.where, concat), or write into realized memory with "
            "t.data[...] = value"
        )

    # ----------------------------------------------------------- named methods
    def matmul(self, other: Any) -> Tensor:
        return F.matmul(self, other)

    def reshape(self, *shape: Any) -> Tensor:
        return F.reshape(self, *shape)

    view = reshape

    def transpose(self, dim0: int | None = None, dim1: int | None = None) -> Tensor:
        return F.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return F.permute(self, *dims)

    def expand(self, *shape: Any) -> Tensor:
        return F.expand(self, *shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        return F.expand(self, shape)

    def squeeze(self, axis: Any = None) -> Tensor:
        return F.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Tensor:
        return F.unsqueeze(self, axis)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return F.flatten(self, start_dim, end_dim)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return F.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return F.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return F.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return F.min(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return F.var(self, axis, keepdims, ddof)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return F.argmax(self, axis, keepdims)

    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def tanh(self) -> Tensor:
        return F.tanh(self)

    def abs(self) -> Tensor:
        return F.abs(self)

    def relu(self) -> Tensor:
        return F.relu(self)

    def sigmoid(self) -> Tensor:
        return F.sigmoid(self)

    def gelu(self) -> Tensor:
        return F.gelu(self)

    def softmax(self, dim: int = -1) -> Tensor:
        return F.softmax(self, dim)

    def maximum(self, other: Any) -> Tensor:
        return F.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return F.minimum(self, other)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return F.clip(self, min, max)

    clamp = clip

    def astype(self, dtype: Any) -> Tensor:
        return F.astype(self, dtype)

    def float(self) -> Tensor:
        return F.astype(self, "float32")

    def long(self) -> Tensor:
        return F.astype(self, "int64")


register_tensor_class(Tensor)


def realize(*tensors: Tensor) -> None:
    """Compute several tensors in one run of one compiled graph (``optimizer.step()`` uses
    this for all parameter updates at once). Pending tensors you hold that share the graph
    are computed in the same run."""
    flat: list[Tensor] = []
    for t in tensors:
        flat.extend(t if isinstance(t, (list, tuple)) else [t])
    run_graph([t._node for t in flat])
