"""Bad input fails early, at the user's line, with a message that says what is wrong; a
failure inside a backend names the op and the user's line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor

REPO_ROOT = Path(tinytorch.__file__).resolve().parent.parent


# ------------------------------------------------------------- constructor input
@pytest.mark.backend_independent
def test_a_ragged_list_is_a_value_error():
    with pytest.raises(ValueError, match="rectangular"):
        Tensor([[1, 2], [3]])


@pytest.mark.parametrize("data", ["abc", None, {"a": 1}, [1, None], object(), 1j])
@pytest.mark.backend_independent
def test_non_numeric_data_is_a_type_error(data):
    with pytest.raises(TypeError, match="numeric"):
        Tensor(data)


@pytest.mark.parametrize("data", [None, ["a"], "1.5"])
@pytest.mark.backend_independent
def test_non_numeric_data_is_refused_even_with_an_explicit_dtype(data):
    """np.array(None, dtype=float32) would be NaN; the Tensor refuses it."""
    with pytest.raises(TypeError, match="numeric"):
        Tensor(data, dtype="float32")


@pytest.mark.backend_independent
def test_arithmetic_with_a_complex_scalar_is_a_type_error():
    with pytest.raises(TypeError):
        Tensor([1.0]) * 1j


@pytest.mark.backend_independent
def test_arithmetic_with_a_string_is_a_type_error():
    with pytest.raises(TypeError):
        Tensor([1.0]) + "a"


# ------------------------------------------------------------------- axes, shapes
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(axis=2),
        lambda t: t.mean(axis=-3),
        lambda t: t.max(axis=(0, 5)),
        lambda t: t.softmax(dim=3),
        lambda t: t.transpose(0, 2),
        lambda t: t.argmax(axis=2),
        lambda t: t.unsqueeze(4),
        lambda t: tinytorch.concat([t, t], axis=2),
    ],
)
@pytest.mark.backend_independent
def test_an_axis_out_of_range_is_a_value_error_naming_the_axis(call):
    with pytest.raises(ValueError, match="axis"):
        call(Tensor(np.zeros((2, 3))))


@pytest.mark.backend_independent
def test_a_repeated_axis_is_a_value_error():
    with pytest.raises(ValueError, match="repeats"):
        Tensor(np.zeros((2, 3))).sum(axis=(0, 0))


@pytest.mark.backend_independent
def test_concat_with_mismatched_shapes_is_a_value_error():
    with pytest.raises(ValueError, match="concat"):
        tinytorch.concat([Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 3)))], axis=1)


@pytest.mark.backend_independent
def test_stack_with_mismatched_shapes_is_a_value_error():
    with pytest.raises(ValueError, match="same shape"):
        tinytorch.stack([Tensor(np.zeros(2)), Tensor(np.zeros(3))])


@pytest.mark.backend_independent
def test_reshape_with_two_minus_ones_is_a_value_error():
    with pytest.raises(ValueError, match="-1"):
        Tensor(np.zeros(12)).reshape(-1, -1)


@pytest.mark.backend_independent
def test_reshape_where_minus_one_cannot_divide_is_a_value_error():
    with pytest.raises(ValueError, match="Total elements must match"):
        Tensor(np.zeros(12)).reshape(5, -1)


@pytest.mark.backend_independent
def test_permute_with_a_repeated_axis_is_a_value_error():
    with pytest.raises(ValueError):
        Tensor(np.zeros((2, 3))).permute(0, 0)


@pytest.mark.backend_independent
def test_expand_to_an_incompatible_shape_is_a_value_error():
    with pytest.raises(ValueError, match="broadcast"):
        Tensor(np.zeros((2, 3))).expand(4, 3)


@pytest.mark.backend_independent
def test_expand_with_minus_one_for_a_new_dimension_is_a_value_error():
    with pytest.raises(ValueError, match="-1"):
        Tensor([1.0]).expand(-1, 1)


@pytest.mark.backend_independent
def test_assigning_a_grad_of_the_wrong_shape_is_a_value_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        x.grad = np.ones(3)


@pytest.mark.backend_independent
def test_transpose_with_one_axis_is_a_type_error():
    with pytest.raises(TypeError, match="both"):
        Tensor(np.zeros((2, 3))).transpose(1)


@pytest.mark.backend_independent
def test_matmul_of_a_0d_tensor_is_a_value_error():
    with pytest.raises(ValueError, match="0-d"):
        Tensor(2.0) @ Tensor([1.0])


@pytest.mark.backend_independent
def test_max_of_an_empty_tensor_is_a_value_error():
    with pytest.raises(ValueError, match="empty"):
        Tensor(np.zeros((0, 3))).max()


@pytest.mark.backend_independent
def test_tensors_are_immutable_through_setitem():
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="immutable"):
        t[0] = 5.0


@pytest.mark.backend_independent
def test_setting_requires_grad_on_an_op_result_is_a_runtime_error():
    y = Tensor([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = True


# -------------------------------------------------------------------- backends
@pytest.mark.backend_independent
def test_an_unknown_backend_is_a_value_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="numpy"):
        tinytorch.set_backend("nope")
    assert tinytorch.current_backend() != "nope"


@pytest.mark.backend_independent
def test_an_unknown_backend_in_the_context_manager_is_a_value_error():
    with pytest.raises(ValueError, match="numpy"), tinytorch.backend("nope"):
        pass


# ----------------------------------------------------------------- error notes
@pytest.mark.backend_independent
def test_shape_errors_carry_a_note_with_the_op_and_this_file():
    with pytest.raises(ValueError) as info:
        Tensor(np.zeros((2, 3))) @ Tensor(np.zeros((2, 2)))
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "matmul" in notes
    assert __file__ in notes


@pytest.mark.backend_independent
def test_a_shape_error_is_raised_at_the_users_line_not_where_the_value_is_read(tmp_path):
    """Line 5 writes the bad matmul, line 6 prints: the traceback ends at line 5."""
    script = tmp_path / "bad_matmul.py"
    script.write_text(
        textwrap.dedent("""\
        import numpy as np
        from tinytorch import Tensor
        a = Tensor(np.zeros((2, 3)))
        b = Tensor(np.zeros((4, 5)))
        y = a @ b
        print(y)
    """)
    )
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode != 0
    frames = [
        line for line in result.stderr.splitlines() if line.strip().startswith(f'File "{script}"')
    ]
    assert frames, result.stderr
    assert frames[-1].strip().endswith("line 5, in <module>")
    assert "(2, 3) @ (4, 5)" in result.stderr
    assert "Inner dimensions must match" in result.stderr


# ---------------------------------------------------------------- realize errors
@pytest.mark.llvm_no_kernel(reason="the failing gather runs on NumPy by design")
def test_a_failure_during_realize_is_a_realize_error_naming_the_op_and_line():
    x = Tensor(np.zeros((3, 2)))
    idx = Tensor([5]) * 1  # lazy: its value is unknown until the graph runs
    rows = x[idx]
    line = sys._getframe().f_lineno - 1
    with pytest.raises(tinytorch.RealizeError) as info:
        _ = rows.data
    err = info.value
    assert err.op == "gather"
    assert err.src == f"{__file__}:{line}"
    assert "gather" in str(err)
    assert f"{__file__}:{line}" in str(err)
    assert "out of bounds" in str(err)


@pytest.mark.backend_independent
def test_a_realize_error_is_a_runtime_error():
    assert issubclass(tinytorch.RealizeError, RuntimeError)
