"""The llvm backend's lowering table covers what fusion hands it, and names only real ops."""

from tinytorch.backends.llvm.lltypes import COMPILED_DTYPES, TYPES
from tinytorch.backends.llvm.lowering import EMITTERS, REDUCERS
from tinytorch.ir import all_ops
from tinytorch.ir.dtypes import DTYPES, itemsize
from tinytorch.ir.families import REDUCTIONS, is_elementwise


def test_every_elementwise_op_has_an_emitter_and_every_emitter_an_elementwise_op():
    elementwise = {name for name in all_ops() if is_elementwise(name)}
    assert set(EMITTERS) == elementwise


def test_every_reduction_has_a_reducer():
    assert set(REDUCERS) == REDUCTIONS


def _bits(llvm_type) -> int:
    name = str(llvm_type)
    return {"float": 32, "double": 64}.get(name) or int(name.removeprefix("i"))


def test_the_type_table_follows_the_dtype_facts():
    """In memory, one element of every compiled dtype takes its NumPy itemsize; in registers,
    a bool is an i1."""
    assert set(TYPES) == set(COMPILED_DTYPES) <= set(DTYPES)
    for dtype, (register, memory) in TYPES.items():
        assert _bits(memory) == 8 * itemsize(dtype)
        assert _bits(register) == (1 if dtype == "bool" else _bits(memory))
