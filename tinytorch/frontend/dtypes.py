"""Turning Python and NumPy data into arrays of the IR's dtypes, and type promotion.

Defaults (the book's framework computes in float32):
* floating data (lists, Python floats, float64 arrays) becomes ``float32``;
* integer data becomes ``int64`` (labels, token ids); booleans stay ``bool``;
* pass ``dtype=`` to keep anything else, e.g. ``Tensor(x, dtype="float64")``.

Promotion between two tensors follows PyTorch: a float and an integer give the float; two
floats or two integers give the wider. A Python scalar never widens a tensor's dtype
(``int_tensor * 2.5`` is float32, ``float16_tensor * 2.0`` stays float16).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.ir.dtypes import DTYPES, INT_DTYPES, is_float
from tinytorch.ir.errors import DTypeError, OutOfRangeError

DEFAULT_FLOAT = "float32"
DEFAULT_INT = "int64"


def normalize_dtype(dtype: Any) -> str:
    """Accept ``"float32"``, ``np.float32``, ``np.dtype("float32")``, ``float``, ``int``."""
    if dtype is float:
        return DEFAULT_FLOAT
    if dtype is int:
        return DEFAULT_INT
    if dtype is bool:
        return "bool"
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in DTYPES:
        raise DTypeError(f"unsupported dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    return name


def to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """A fresh array from list / ndarray / scalar data, with the defaults above.

    The data is checked before any ``dtype`` is applied, so that ``Tensor(None,
    dtype="float32")`` is refused rather than becoming NaN.
    """
    if dtype is not None:
        dtype = normalize_dtype(dtype)
    try:
        arr = np.array(data, copy=True)
    except ValueError as exc:
        raise ValueError(
            f"Tensor data must be rectangular (every row the same length): {exc}"
        ) from None
    except TypeError as exc:
        raise TypeError(f"Tensor data must be numeric, got {type(data).__name__}: {exc}") from None
    kind = arr.dtype.kind
    if kind not in "fiub":
        if kind == "O" and arr.size and all(isinstance(v, int) for v in arr.flat):
            raise OutOfRangeError(
                f"Tensor: integer data of shape {arr.shape} has values beyond int64's range "
                f"[{_INT64.min}, {_INT64.max}]; pass floats (or dtype='float64') instead"
            )
        raise TypeError(
            f"Tensor data must be numeric (bool, int or float), got {arr.dtype} from "
            f"{type(data).__name__}"
        )
    if not arr.dtype.isnative:  # big-endian input: compiled kernels read native memory
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if dtype is None:
        if kind == "f":
            dtype = arr.dtype.name if arr.dtype.name in ("float16", "float32") else DEFAULT_FLOAT
        elif kind in "iu":
            keep = isinstance(data, np.ndarray) and arr.dtype.name in INT_DTYPES
            dtype = arr.dtype.name if keep else DEFAULT_INT
        else:
            return arr
    if kind in "iuf" and not is_float(dtype) and not np.can_cast(arr.dtype, dtype):
        check_int_range(arr, dtype, "Tensor")
    return arr.astype(dtype, copy=False)


_INT64 = np.iinfo(np.int64)


def check_int_range(arr: np.ndarray, dtype: str, op: str) -> None:
    """Refuse values the integer ``dtype`` cannot hold: NumPy's ``astype`` would wrap
    integers around and turn NaN, infinity or huge floats into arbitrary integers."""
    if arr.size == 0 or dtype == "bool":
        return
    info = np.iinfo(dtype)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise OutOfRangeError(
            f"{op}: float data of shape {arr.shape} holds NaN or infinity, which {dtype} "
            "cannot hold"
        )
    low, high = arr.min(), arr.max()
    if low < info.min or high > info.max:
        raise OutOfRangeError(
            f"{op}: data of shape {arr.shape} (values {low}..{high}) does not fit "
            f"{dtype} [{info.min}, {info.max}]; it would wrap around"
        )


def promote(a: str, b: str) -> str:
    """The dtype of an op between tensors of dtypes ``a`` and ``b``."""
    if a == b:
        return a
    if is_float(a) != is_float(b):
        return a if is_float(a) else b
    return np.promote_types(a, b).name


def scalar_dtype(tensor_dtype: str, scalar: Any) -> str:
    """The dtype of ``tensor <op> python_scalar``: the tensor's, unless a float scalar meets
    an integer or bool tensor (then float32)."""
    if isinstance(scalar, (bool, np.bool_)):
        return tensor_dtype
    if isinstance(scalar, (float, np.floating)) and not is_float(tensor_dtype):
        return DEFAULT_FLOAT
    if isinstance(scalar, (int, np.integer)) and tensor_dtype == "bool":
        return DEFAULT_INT
    return tensor_dtype
