"""The profiling hook, the debug printout and the per-pass dumps."""

import os
import subprocess
import sys

import numpy as np

import tinytorch
from tinytorch import Tensor


def test_profile_records_every_node_with_the_user_line_and_cost():
    x = Tensor(np.ones((8, 16), dtype=np.float32))
    w = Tensor(np.ones((16, 4), dtype=np.float32))
    y = (x @ w).relu()  # this line
    line = y._node.src
    with tinytorch.profile() as prof:
        y.numpy()
    ops = {r.op: r for r in prof.records}
    assert set(ops) == {"matmul", "relu"}
    mm = ops["matmul"]
    assert mm.src == line and mm.backend == "numpy" and mm.seconds >= 0
    assert mm.flops == 2 * 8 * 16 * 4
    assert mm.bytes == 4 * (8 * 16 + 16 * 4 + 8 * 4)
    table = prof.table()
    assert "matmul" in table and "test_profiling_and_dumps.py" in table
    assert sum(prof.by_line().values()) == prof.total_seconds


def test_nothing_is_recorded_outside_a_profile_block():
    with tinytorch.profile() as prof:
        pass
    (Tensor([1.0]) + 1).numpy()
    assert prof.records == []


def test_debug_level_two_prints_one_line_per_kernel(capsys):
    tinytorch.set_debug(2)
    try:
        (Tensor(np.ones(4)) * 2.5 + 0.5).exp().numpy()
    finally:
        tinytorch.set_debug(0)
    err = capsys.readouterr().err
    assert "[tinytorch]" in err and "us" in err and "exp" in err


def test_dump_to_writes_one_text_and_dot_file_per_pass(tmp_path):
    with tinytorch.dump_to(tmp_path):
        (Tensor(np.ones(3)) * 7.25 - 1.5).numpy()
    plans = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(plans) == 1
    names = sorted(p.name for p in plans[0].iterdir() if p.suffix in (".txt", ".dot"))
    passes = [p.name for p in tinytorch.get_pipeline()]
    expected = ["00_captured"] + [f"{k:02d}_{n}" for k, n in enumerate(passes, 1)]
    assert names == sorted([f"{s}.dot" for s in expected] + [f"{s}.txt" for s in expected])
    assert "mul" in (plans[0] / "00_captured.txt").read_text()
    assert (plans[0] / "00_captured.dot").read_text().startswith("digraph")


def test_the_dump_environment_variable(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "from tinytorch import Tensor\nprint((Tensor([1.0, 2.0]) * 3).sum().item())\n"
    )
    env = {**os.environ, "TINYTORCH_DUMP": str(tmp_path / "dumps")}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "9.0"
    dumped = list((tmp_path / "dumps").rglob("00_captured.txt"))
    assert len(dumped) == 1 and "prog.py:2" in dumped[0].read_text()


def test_dump_graph_and_explain_do_not_compute(tmp_path):
    y = Tensor([[1.0, 2.0]]) @ Tensor([[3.0], [4.0]]) * 1.0
    files = tinytorch.dump_graph(y, tmp_path, quiet=True)
    assert y._node.value is None
    assert any(f.name == "00_captured.txt" for f in files)
    text = tinytorch.explain(y)
    assert "== captured ==" in text and "matmul" in text
    assert "== after algebraic_simplification ==" in text  # the `* 1.0` went away
