"""The LLVM types of the IR's dtypes, constants of them, and conversions between them.

Each compiled dtype has two LLVM types: the *register* type a value has while the kernel
computes with it, and the *memory* type of one element in a buffer. They differ only for
``bool``: an ``i1`` in registers (what comparisons produce and ``select`` consumes), one byte
in memory (how NumPy stores a bool). Both follow from :mod:`tinytorch.ir.dtypes`: a float of
4 bytes is an LLVM ``float``, of 8 a ``double``; an integer of n bytes is an ``i(8n)``.

Which dtypes compile is this backend's choice (:data:`COMPILED_DTYPES`). A group that touches
any other dtype (``float16``, ``uint8``, ``int16``...) raises :class:`Unsupported` and runs on
NumPy, as does a group using an op with no emitter in :mod:`~tinytorch.backends.llvm.lowering`.
"""

from __future__ import annotations

from llvmlite import ir

from tinytorch.ir.dtypes import is_bool, is_float, itemsize

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()

COMPILED_DTYPES = ("bool", "int8", "int32", "int64", "float32", "float64")


class Unsupported(Exception):
    """The group uses an op or dtype this backend does not compile; it runs on NumPy."""


def _llvm_types(dtype: str) -> tuple[ir.Type, ir.Type]:
    bits = 8 * itemsize(dtype)
    if is_bool(dtype):
        return I1, ir.IntType(bits)
    value = {32: F32, 64: F64}[bits] if is_float(dtype) else ir.IntType(bits)
    return value, value


# dtype -> (register type, memory type)
TYPES: dict[str, tuple[ir.Type, ir.Type]] = {d: _llvm_types(d) for d in COMPILED_DTYPES}


def check_compiled(dtype: str) -> None:
    """Raise :class:`Unsupported` unless kernels can read and write ``dtype``."""
    if dtype not in TYPES:
        raise Unsupported(f"dtype {dtype} is not compiled by the llvm backend")


def register_type(dtype: str) -> ir.Type:
    return TYPES[dtype][0]


def memory_type(dtype: str) -> ir.Type:
    return TYPES[dtype][1]


def const(value, dtype: str) -> ir.Constant:
    """``value`` as a constant of ``dtype``'s register type."""
    reg = register_type(dtype)
    if is_bool(dtype):
        return ir.Constant(I1, int(bool(value)))
    if is_float(dtype):
        return ir.Constant(reg, float(value))
    return ir.Constant(reg, int(value))


def convert(b: ir.IRBuilder, v: ir.Value, src: str, dst: str) -> ir.Value:
    """NumPy's ``astype``: float->int truncates, anything->bool is ``!= 0``."""
    if src == dst:
        return v
    reg = register_type(dst)
    if is_bool(dst):
        if is_float(src):
            return b.fcmp_unordered("!=", v, ir.Constant(v.type, 0.0))
        return b.icmp_unsigned("!=", v, ir.Constant(v.type, 0))
    if is_bool(src):
        return b.uitofp(v, reg) if is_float(dst) else b.zext(v, reg)
    if is_float(src) and is_float(dst):
        return b.fpext(v, reg) if itemsize(dst) > itemsize(src) else b.fptrunc(v, reg)
    if is_float(src):
        return b.fptosi(v, reg)
    if is_float(dst):
        return b.sitofp(v, reg)
    src_bits, dst_bits = v.type.width, reg.width
    if src_bits == dst_bits:
        return v
    return b.sext(v, reg) if dst_bits > src_bits else b.trunc(v, reg)
