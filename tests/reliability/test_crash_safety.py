"""Checkpoints survive ``kill -9``: a subprocess saves in a loop and is killed at random
moments; after every kill the checkpoint loads, and its arrays agree with each other and
with its metadata (all from one save). Stale temporaries go away on the next save."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tinytorch.train.checkpoint import read_checkpoint

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tinytorch.train.checkpoint import write_checkpoint

    path, start = sys.argv[1], int(sys.argv[2])
    print("ready", flush=True)
    for step in range(start, start + 100_000):
        arrays = {f"layer{k}": np.full((64, 256), step, np.float32) for k in range(8)}
        write_checkpoint(path, arrays, {"step": step})
    """
)


@pytest.fixture(params=["numpy"])  # files do not depend on the backend: run once
def backend(request):
    yield request.param


def test_a_checkpoint_killed_mid_save_always_loads(tmp_path):
    path = tmp_path / "ckpt.pkl"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(0)
    for round_ in range(6):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), str(1000 * round_)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))
        proc.kill()
        proc.wait()
        if not path.exists():  # killed before its first save finished
            continue
        arrays, meta = read_checkpoint(path)
        step = meta["step"]
        assert set(arrays) == {f"layer{k}" for k in range(8)}
        for array in arrays.values():
            np.testing.assert_array_equal(array, np.full((64, 256), step, np.float32))
    save_once = (
        "import numpy as np; from tinytorch.train.checkpoint import write_checkpoint; "
        f"write_checkpoint({str(path)!r}, {{'w': np.ones(2)}}, {{}})"
    )
    subprocess.run([sys.executable, "-c", save_once], check=True)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
