"""Benchmarks: every workload on both backends, NumPy by hand and PyTorch (when installed),
in one process, so the numbers that are compared were measured side by side.

    python bench/run.py                 # all workloads, writes bench/RESULTS.md
    python bench/run.py --only W5 W7    # some of them
    python bench/run.py --quick         # fewer repetitions (a smoke run)
    python bench/run.py --only W4 --update   # re-measure W4, keep the other rows

The machine is shared and noisy, so the report is about *ratios within this run*; each
timing is the median of repeated runs. "cold" is the first call with empty plan and kernel
caches (passes + code generation + run); "warm" is the median of later calls. Everything is
float32 and single-threaded (our kernel threads, BLAS and PyTorch all set to one thread)
unless a row says otherwise.
"""

from __future__ import annotations

import os

# One thread everywhere, set before NumPy (and its BLAS) load. OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE, if set, are left alone.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TINYTORCH_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import tinytorch  # noqa: E402
from tinytorch import Linear, Tensor  # noqa: E402
from tinytorch.backends.llvm.kernels import kernel_cache  # noqa: E402
from tinytorch.runtime import plan_cache  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # PyTorch is an optional peer, never a dependency
    torch = None

from w4_generation import w4_generation  # noqa: E402  (bench/ is this script's folder)

RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass
class Row:
    workload: str
    variant: str
    warm_ms: float
    cold_ms: float | None = None
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)

    def add(self, *args, **kwargs) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        cold = f"{row.cold_ms:10.3f}" if row.cold_ms is not None else f"{'':>10}"
        print(f"  {row.workload:<5} {row.variant:<34} warm {row.warm_ms:10.4f} ms   cold {cold}"
              f" ms  {row.note}", flush=True)  # fmt: skip
        return row

    def verdict(self, text: str, ok: bool) -> None:
        line = f"{'MET ' if ok else 'MISSED'} {text}"
        self.verdicts.append(line)
        print(f"  -> {line}", flush=True)


def median_ms(fn: Callable[[], object], repeat: int, min_time: float = 0.0) -> float:
    """Median wall time of ``fn`` in ms over ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def cold_ms(fn: Callable[[], object]) -> float:
    plan_cache.clear()
    kernel_cache.clear()
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def on(backend: str, fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        with tinytorch.backend(backend):
            return fn()

    return run


# ---------------------------------------------------------------------- workloads
def w5_gelu(report: Report, repeat: int) -> None:
    """GELU(x*a + b) on 4M floats: the fusion showcase (one pass over memory)."""
    n = 4_000_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    a, b = np.float32(1.5), np.float32(0.5)
    xt = Tensor(x)
    c = np.float32(np.sqrt(2 / np.pi))

    def by_hand():
        h = x * a + b
        return 0.5 * h * (1 + np.tanh(c * (h + np.float32(0.044715) * h * h * h)))

    def tiny():
        return (xt * 1.5 + 0.5).gelu().numpy()

    copy = report.add("W5", "copy of 4M floats (memory limit)", median_ms(x.copy, repeat))
    ours = {}
    for backend in ("numpy", "llvm"):
        ours[backend] = report.add("W5", f"tinytorch {backend}", median_ms(on(backend, tiny),
                                   repeat), cold_ms(on(backend, tiny)))  # fmt: skip
    report.add("W5", "NumPy by hand", median_ms(by_hand, repeat))
    if torch is not None:
        tx = torch.from_numpy(x)
        report.add(
            "W5",
            "PyTorch eager",
            median_ms(lambda: torch.nn.functional.gelu(tx * 1.5 + 0.5, approximate="tanh"), repeat),
        )
    with _threads(None):
        threaded = median_ms(on("llvm", tiny), repeat)
    report.add("W5", f"tinytorch llvm, {tinytorch_threads()} threads", threaded, note="(threads)")
    r = ours["llvm"].warm_ms / copy.warm_ms
    report.verdict(f"W5 llvm = {r:.2f}x the copy (target <= 2x)", r <= 2.0)
    s = ours["numpy"].warm_ms / ours["llvm"].warm_ms
    report.verdict(f"W5 llvm is {s:.1f}x faster than the numpy backend (target >= 3x)", s >= 3)


def w7_softmax(report: Report, repeat: int) -> None:
    """Softmax over the rows of a (4096, 1024) matrix."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4096, 1024)).astype(np.float32)
    xt = Tensor(x)
    out = np.empty_like(x)
    m = np.empty((4096, 1), np.float32)
    s = np.empty((4096, 1), np.float32)

    def by_hand():
        np.max(x, axis=1, keepdims=True, out=m)
        np.subtract(x, m, out=out)
        np.exp(out, out=out)
        np.sum(out, axis=1, keepdims=True, out=s)
        np.divide(out, s, out=out)
        return out

    def tiny():
        return xt.softmax(dim=-1).numpy()

    hand = report.add("W7", "NumPy by hand (out= buffers)", median_ms(by_hand, repeat))
    ours = {}
    for backend in ("numpy", "llvm"):
        ours[backend] = report.add("W7", f"tinytorch {backend}", median_ms(on(backend, tiny),
                                   repeat), cold_ms(on(backend, tiny)))  # fmt: skip
    if torch is not None:
        tx = torch.from_numpy(x)
        report.add("W7", "PyTorch eager", median_ms(lambda: torch.softmax(tx, dim=-1), repeat))
    r = hand.warm_ms / ours["llvm"].warm_ms
    report.verdict(f"W7 llvm is {r:.2f}x faster than NumPy by hand (target > 1x)", r > 1)


def w6_matmul(report: Report, repeat: int) -> None:
    """Square matmul: the llvm backend hands it to the same BLAS NumPy uses."""
    rng = np.random.default_rng(2)
    for n in (256, 512, 1024):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        ta, tb = Tensor(a), Tensor(b)
        reps = max(3, repeat // (n // 256))
        base = report.add("W6", f"NumPy matmul {n}", median_ms(lambda a=a, b=b: a @ b, reps))
        ours = report.add(
            "W6",
            f"tinytorch llvm {n}",
            median_ms(on("llvm", lambda ta=ta, tb=tb: (ta @ tb).numpy()), reps),
        )
        if torch is not None:
            x, y = torch.from_numpy(a), torch.from_numpy(b)
            report.add("W6", f"PyTorch {n}", median_ms(lambda x=x, y=y: x @ y, reps))
        r = base.warm_ms / ours.warm_ms
        report.verdict(f"W6 {n}: llvm at {r:.2f}x the NumPy matmul (target >= 0.9x)", r >= 0.9)


def w0_overhead(report: Report, repeat: int) -> None:
    """Per-call overhead of a cached one-kernel graph on 16 elements."""
    x = Tensor(np.ones(16, np.float32))
    from tinytorch.runtime import realize

    for backend in ("numpy", "llvm"):
        one = median_ms(on(backend, lambda: (x * 2.0).numpy()), repeat * 50, 0.5)
        row = report.add("W0", f"{backend}: one op round trip (x*2).numpy()", one)
        if backend == "llvm":
            us = row.warm_ms * 1e3
            report.verdict(f"W0 eager one-op round trip {us:.1f} us (target <= 15 us)", us <= 15)
        full = median_ms(on(backend, lambda: (x * 2.0 + 1.0).numpy()), repeat * 50, 0.5)
        report.add("W0", f"{backend}: build 2 ops + realize", full)
        # Graphs built beforehand (not timed); then only their realization is timed, in
        # batches, with the cyclic GC paused so a collection does not land in one batch.
        batches = []
        for _ in range(5):
            graphs = [x * 2.0 + 1.0 for _ in range(repeat * 10 + 1)]
            with tinytorch.backend(backend):
                realize([graphs[0]._node])
                gc.disable()
                t = time.perf_counter()
                for g in graphs[1:]:
                    realize([g._node])
                batches.append((time.perf_counter() - t) / (len(graphs) - 1) * 1e3)
                gc.enable()
        each = statistics.median(batches)
        row = report.add("W0", f"{backend}: realize a cached graph", each)
        if backend == "llvm":
            us = row.warm_ms * 1e3
            report.verdict(
                f"W0 warm realize of a cached graph {us:.1f} us (target < 30 us)", us < 30
            )
    if torch is not None:
        tx = torch.ones(16)
        report.add("W0", "PyTorch eager x*2", median_ms(lambda: (tx * 2.0).numpy(), repeat * 50))
        report.add("W0", "PyTorch eager x*2+1", median_ms(lambda: tx * 2.0 + 1.0, repeat * 50))


def training_step_rows(report: Report, name: str, fresh, torch_model, batch, lr: float,
                       repeat: int, targets: tuple[float, float], note: str,
                       torch_optimizer=None, cold_target_s: float | None = None,
                       ) -> None:  # fmt: skip
    """Time one training step (forward, cross-entropy, backward, SGD update, loss read) on
    both backends, eager and compiled (``tinytorch.compile``: traced once, then replayed),
    beside PyTorch eager; and how much of the eager llvm step is spent inside kernels.

    ``targets`` are (compiled, eager) ratios to PyTorch eager that the llvm step should meet.
    The compiled row's cold time is its first call on empty caches: trace + passes + codegen.
    """
    xb, yb = batch

    def our_step(model_opt_loss, compiled: bool = False):
        model, opt, loss_fn = model_opt_loss

        def body(x, y):
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        run = tinytorch.compile(body) if compiled else body
        x, y = Tensor(xb), Tensor(yb)  # made once, as the PyTorch peer's tensors are

        def step():
            return run(x, y).item()

        return step

    ours = {}
    for backend in ("numpy", "llvm"):
        for compiled in (False, True):
            variant = f"tinytorch {backend}{' compiled' if compiled else ''}"
            with tinytorch.backend(backend):
                cold = cold_ms(our_step(fresh(), compiled))
                warm = median_ms(on(backend, our_step(fresh(), compiled)), repeat)
            ours[backend, compiled] = report.add(name, variant, warm, cold)
    if cold_target_s is not None:
        first = ours["llvm", True].cold_ms / 1e3
        report.verdict(f"{name} first compiled call on llvm (empty caches) {first:.2f} s "
                       f"(target < {cold_target_s:g} s)", first < cold_target_s)  # fmt: skip
    if torch is not None:
        topt = (torch_optimizer or torch.optim.SGD)(torch_model.parameters(), lr=lr)
        tx, ty = torch.from_numpy(xb), torch.from_numpy(yb)
        lossf = torch.nn.CrossEntropyLoss()

        def torch_step():
            loss = lossf(torch_model(tx), ty)
            loss.backward()
            topt.step()
            topt.zero_grad()
            return loss.item()

        peer = report.add(name, "PyTorch eager", median_ms(torch_step, repeat))
        for compiled, target in zip((True, False), targets, strict=True):
            r = ours["llvm", compiled].warm_ms / peer.warm_ms
            kind = "compiled" if compiled else "eager"
            report.verdict(f"{name} llvm {kind} step = {r:.2f}x PyTorch eager (target <= "
                           f"{target}x, one thread)", r <= target)  # fmt: skip
    with tinytorch.backend("llvm"), tinytorch.profile() as prof:
        step = our_step(fresh())
        step()
        step()
        t = time.perf_counter()
        step()
        total = (time.perf_counter() - t) * 1e3
    kernels = sum(r.seconds for r in prof.records) * 1e3 / 3
    report.add(name, "llvm: time inside kernels/BLAS", kernels,
               note=f"of {total:.3f} ms per eager step; {note}")  # fmt: skip


def w1_mlp_step(report: Report, repeat: int) -> None:
    """One training step of an MLP 64-128-ReLU-10 on TinyDigits batches of 64 (CE + SGD)."""
    from tinytorch.data.datasets.tinydigits import load_tinydigits

    x_train, y_train, _, _ = load_tinydigits()
    xb = np.asarray(x_train, np.float32).reshape(len(x_train), -1)[:64]
    yb = np.asarray(y_train, np.int64)[:64]
    rng = np.random.default_rng(3)
    w1 = (rng.standard_normal((64, 128)) * 0.125).astype(np.float32)
    w2 = (rng.standard_normal((128, 10)) * 0.088).astype(np.float32)

    def fresh():
        model = tinytorch.Sequential(tinytorch.Linear(64, 128), tinytorch.ReLU(),
                                     tinytorch.Linear(128, 10))  # fmt: skip
        model.layers[0].weight.data, model.layers[2].weight.data = w1.copy(), w2.copy()
        return model, tinytorch.SGD(model.parameters(), lr=0.1), tinytorch.CrossEntropyLoss()

    peer = None
    if torch is not None:
        peer = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                   torch.nn.Linear(128, 10))  # fmt: skip
    training_step_rows(report, "W1", fresh, peer, (xb, yb), 0.1, repeat * 4, (0.8, 2.0),
                       "the rest is graph building and dispatch", cold_target_s=1.0)  # fmt: skip


def w2_cnn_step(report: Report, repeat: int) -> None:
    """One training step of a small CNN (conv-relu-pool x2, linear) on a (64,1,28,28) batch."""
    rng = np.random.default_rng(5)
    xb = rng.random((64, 1, 28, 28), dtype=np.float32)
    yb = rng.integers(0, 10, 64).astype(np.int64)
    np.random.seed(5)
    init = [
        p.data.copy()
        for p in tinytorch.Sequential(
            tinytorch.Conv2d(1, 8, 3), tinytorch.Conv2d(8, 16, 3), tinytorch.Linear(400, 10)
        ).parameters()
    ]

    def fresh():
        model = tinytorch.Sequential(
            tinytorch.Conv2d(1, 8, 3), tinytorch.ReLU(), tinytorch.MaxPool2d(2),
            tinytorch.Conv2d(8, 16, 3), tinytorch.ReLU(), tinytorch.MaxPool2d(2),
            tinytorch.Flatten(), tinytorch.Linear(400, 10),
        )  # fmt: skip
        for p, value in zip(model.parameters(), init, strict=True):
            p.data = value.copy()
        return model, tinytorch.SGD(model.parameters(), lr=0.01), tinytorch.CrossEntropyLoss()

    peer = None
    if torch is not None:
        peer = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(400, 10),
        )  # fmt: skip
    training_step_rows(report, "W2", fresh, peer, (xb, yb), 0.01, repeat * 2, (1.0, 1.5),
                       "windows is index arithmetic in kernels, fold an llvm kernel")  # fmt: skip


def w3_gpt_step(report: Report, repeat: int) -> None:
    """One training step of a GPT (vocab 64, context 64, embed 128, 4 heads, 4 layers, batch
    16, ~818K parameters): forward, cross-entropy, backward, Adam lr 3e-4."""
    vocab, ctx, embed, heads, layers, batch = 64, 64, 128, 4, 4, 16
    rng = np.random.default_rng(7)
    xb = rng.integers(0, vocab, (batch, ctx)).astype(np.int64)
    yb = rng.integers(0, vocab, batch * ctx).astype(np.int64)

    class Flat(tinytorch.Layer):  # (B, S, V) logits as (B*S, V) rows for the loss
        def __init__(self) -> None:
            super().__init__()
            self.gpt = tinytorch.GPT(vocab, embed, layers, heads, max_seq_len=ctx)

        def forward(self, x):
            return self.gpt(x).reshape(-1, vocab)

    def fresh():
        np.random.seed(7)
        model = Flat()
        return model, tinytorch.Adam(model.parameters(), lr=3e-4), tinytorch.CrossEntropyLoss()

    peer = _torch_gpt(vocab, ctx, embed, heads, layers) if torch is not None else None
    training_step_rows(report, "W3", fresh, peer, (xb, yb), 3e-4, max(3, repeat // 3),
                       (1.0, 2.0), "the rest is graph building and dispatch",
                       torch_optimizer=torch.optim.Adam if torch else None,
                       cold_target_s=3.0)  # fmt: skip


def _torch_gpt(vocab: int, ctx: int, embed: int, heads: int, layers: int):
    """The same GPT in PyTorch eager (pre-norm blocks, learned positions, GELU MLP x4)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(embed), nn.LayerNorm(embed)
            self.qkv = nn.ModuleList(nn.Linear(embed, embed) for _ in range(3))
            self.out = nn.Linear(embed, embed)
            self.mlp = nn.Sequential(
                nn.Linear(embed, 4 * embed), nn.GELU(), nn.Linear(4 * embed, embed)
            )
            self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)) == 0)

        def forward(self, x):
            b, s, e = x.shape
            h = self.ln1(x)
            q, k, v = (p(h).view(b, s, heads, e // heads).transpose(1, 2) for p in self.qkv)
            scores = (q @ k.transpose(-2, -1)) / (e // heads) ** 0.5
            weights = scores.masked_fill(self.mask[:s, :s], -1e9).softmax(-1)
            x = x + self.out((weights @ v).transpose(1, 2).reshape(b, s, e))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, embed), nn.Parameter(torch.zeros(ctx, embed))
            self.blocks = nn.Sequential(*(Block() for _ in range(layers)))
            self.ln, self.head = nn.LayerNorm(embed), nn.Linear(embed, vocab)

        def forward(self, tokens):
            x = self.blocks(self.tok(tokens) + self.pos[: tokens.shape[1]])
            return self.head(self.ln(x)).reshape(-1, vocab)

    return GPT()


def w10_fusion(report: Report, repeat: int) -> None:
    """Module 18: fused_gelu vs unfused_gelu (seven materialized temporaries) on 4M floats."""
    from tinytorch.perf.acceleration import fused_gelu, unfused_gelu

    n = 4_000_000
    xt = Tensor(np.random.default_rng(10).standard_normal(n).astype(np.float32))
    copy = np.empty(n, np.float32)
    src = xt.numpy()
    report.add("W10", "copy of 4M floats (memory limit)", median_ms(lambda: np.copyto(copy, src),
               repeat))  # fmt: skip
    rows = {}
    for backend in ("numpy", "llvm"):
        for name, fn in (("fused_gelu", fused_gelu), ("unfused_gelu", unfused_gelu)):
            run = on(backend, lambda fn=fn: fn(xt).numpy())
            rows[backend, name] = report.add("W10", f"{name} {backend}", median_ms(run, repeat))
    for backend in ("numpy", "llvm"):
        s = rows[backend, "unfused_gelu"].warm_ms / rows[backend, "fused_gelu"].warm_ms
        if backend == "llvm":
            report.verdict(f"W10 llvm: fused_gelu {s:.1f}x faster than unfused (target >= 3x)",
                           s >= 3)  # fmt: skip
        else:
            print(f"  W10 numpy: fused/unfused speedup {s:.2f}x (the interpreter never fuses)")


def w11_tiling(report: Report, repeat: int) -> None:
    """Module 18: tiled_matmul (blocked loops) vs BLAS on 512x512 float32, per tile size."""
    from tinytorch.perf.acceleration import tiled_matmul
    from tinytorch.perf.machine import measure_machine

    n = 512
    rng = np.random.default_rng(11)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    ta, tb = Tensor(a), Tensor(b)
    blas = report.add("W11", f"NumPy BLAS matmul {n}", median_ms(lambda: a @ b, repeat))
    for tile in (16, 64, 128, n):
        for backend in ("numpy", "llvm"):
            ms = median_ms(on(backend, lambda t=tile: tiled_matmul(ta, tb, t).numpy()), repeat)
            gflops = 2 * n**3 / (ms / 1e3) / 1e9
            report.add("W11", f"tiled_matmul tile {tile} {backend}", ms,
                       note=f"{gflops:.1f} GFLOP/s, {blas.warm_ms / ms:.2f}x BLAS")  # fmt: skip
    machine = measure_machine()
    print(f"  W11 this machine: {machine.describe()}")


def w12_compacted_pruning(report: Report, repeat: int) -> None:
    """Structured pruning at 50%, compacted: MLP 512-1024-1024-10 forward on a batch of 64."""
    from tinytorch.perf.compression import compact_structured, structured_prune

    def mlp():
        np.random.seed(11)
        return tinytorch.Sequential(tinytorch.Linear(512, 1024), tinytorch.ReLU(),
                                    tinytorch.Linear(1024, 1024), tinytorch.ReLU(),
                                    tinytorch.Linear(1024, 10)).eval()  # fmt: skip

    dense, masked = mlp(), mlp()
    structured_prune(tinytorch.Sequential(masked.layers[0], masked.layers[2]), 0.5)
    compact = mlp()
    compact.load_state_dict(masked.state_dict())
    compact_structured(compact)
    x = Tensor(np.random.default_rng(11).standard_normal((64, 512)).astype(np.float32))

    def forward(model):
        with tinytorch.no_grad():
            return model(x).numpy()

    for backend in ("numpy", "llvm"):
        with tinytorch.backend(backend):
            same = np.allclose(forward(masked), forward(compact), rtol=1e-4, atol=1e-4)
        rows = {}
        for name, model in (("dense", dense), ("pruned 50% (zeros kept)", masked),
                            ("pruned 50% + compacted", compact)):  # fmt: skip
            ms = median_ms(on(backend, lambda m=model: forward(m)), repeat * 4)
            note = "same values as the pruned model" if name.endswith("compacted") and same else ""
            rows[name] = report.add("W12", f"{backend}: {name}", ms, note=note)
        if not same:
            report.verdict(f"W12 {backend}: compacted values differ from the pruned model", False)
        if backend == "llvm":
            r = rows["dense"].warm_ms / rows["pruned 50% + compacted"].warm_ms
            report.verdict(
                f"W12 compacted 50% structured pruning is {r:.2f}x faster than dense "
                "(target >= 1.5x)",
                r >= 1.5,
            )


def _quantized_layer(n_in: int, n_out: int, batch: np.ndarray):
    """A calibrated QuantizedLinear (int8 weight, per tensor) and its float twin."""
    from tinytorch.perf.quantization import QuantizedLinear

    np.random.seed(8)
    layer = Linear(n_in, n_out)
    q = QuantizedLinear(layer)
    q.calibrate([Tensor(batch)])
    return layer, q


def w8_int8_gemv(report: Report, repeat: int) -> None:
    """Int8 GEMV: a 4096x4096 quantized Linear on one input row vs a float32 matvec."""
    n = 4096
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, n)).astype(np.float32)
    layer, q = _quantized_layer(n, n, x)
    w, b = layer.weight.data, layer.bias.data
    reps = repeat * 4
    base = report.add("W8", "NumPy float32 x @ W + b", median_ms(lambda: x @ w + b, reps),
                      note="reads 64 MB of weights")  # fmt: skip
    tx = Tensor(x)
    report.add("W8", "tinytorch llvm float Linear", median_ms(on("llvm", lambda: layer(tx).numpy()),
                                                               reps))  # fmt: skip
    ours = report.add("W8", "tinytorch llvm int8 QuantizedLinear",
                      median_ms(on("llvm", lambda: q(tx).numpy()), reps),
                      cold_ms(on("llvm", lambda: q(tx).numpy())), note="reads 16 MB")  # fmt: skip
    report.add(
        "W8",
        "tinytorch numpy int8 QuantizedLinear",
        median_ms(on("numpy", lambda: q(tx).numpy()), 3),
        note="(NumPy int matmul)",
    )
    if torch is not None:
        tw = torch.from_numpy(w)
        report.add(
            "W8", "PyTorch float32 matvec", median_ms(lambda: torch.from_numpy(x) @ tw, reps)
        )
    r = base.warm_ms / ours.warm_ms
    report.verdict(f"W8 int8 GEMV is {r:.2f}x faster than the float32 NumPy matvec (target >= 2x)",
                   r >= 2)  # fmt: skip


def w9_int8_gemm(report: Report, repeat: int) -> None:
    """Int8 GEMM 1024^3: a calibrated quantized Linear on 1024 rows vs a float32 matmul."""
    n = 1024
    rng = np.random.default_rng(9)
    x = rng.standard_normal((n, n)).astype(np.float32)
    layer, q = _quantized_layer(n, n, x)
    w, b = layer.weight.data, layer.bias.data
    reps = max(3, repeat // 2)
    base = report.add("W9", "NumPy float32 x @ W + b", median_ms(lambda: x @ w + b, reps))
    tx = Tensor(x)
    ours = report.add("W9", "tinytorch llvm int8 QuantizedLinear",
                      median_ms(on("llvm", lambda: q(tx).numpy()), reps),
                      cold_ms(on("llvm", lambda: q(tx).numpy())),
                      note="quantize + int8 GEMM + epilogue")  # fmt: skip
    from tinytorch.backends.llvm.int8_gemm import run_int8_matmul
    from tinytorch.ir import build

    a8 = rng.integers(-128, 128, (n, n)).astype(np.int8)
    w8 = q._q_weight_t.data
    zero = Tensor(np.array(3, np.int32))
    node = build.make("int8_matmul", [Tensor(a8)._node, Tensor(w8)._node, zero._node],
                      layout="nk")  # fmt: skip

    def kernel_alone():
        return run_int8_matmul(node, a8, w8, zero.data)

    report.add("W9", "int8_matmul kernel alone", median_ms(kernel_alone, reps))
    if torch is not None:
        tx_, tw = torch.from_numpy(x), torch.from_numpy(w)
        report.add("W9", "PyTorch float32 matmul", median_ms(lambda: tx_ @ tw, reps))
    r = base.warm_ms / ours.warm_ms
    report.verdict(f"W9 int8 GEMM at {r:.2f}x the float32 NumPy matmul (target >= 1.0x, "
                   f"stretch 2x)", r >= 1.0)  # fmt: skip


def w13_quantized_mlp(report: Report, repeat: int) -> None:
    """Quantized TinyDigits MLP (milestone 03's model): weight bytes and test accuracy."""
    from tinytorch.perf.quantization import model_bytes, quantize_model

    X_train, y_train, X_test, y_test = tinytorch.load_tinydigits()
    np.random.seed(10)
    model = tinytorch.Sequential(tinytorch.Flatten(), Linear(64, 24), tinytorch.ReLU(),
                                 Linear(24, 24), tinytorch.ReLU(), Linear(24, 10))  # fmt: skip
    optimizer = tinytorch.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = tinytorch.CrossEntropyLoss()
    rng = np.random.default_rng(10)
    for _ in range(30):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), 32):
            idx = order[start : start + 32]
            loss = loss_fn(model(Tensor(X_train[idx])), Tensor(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    tx = Tensor(X_test)

    def accuracy() -> float:
        return float((model(tx).data.argmax(axis=1) == y_test).mean())

    float_acc, float_bytes = accuracy(), model_bytes(model)
    report.add("W13", "float32 MLP, 200 test images", median_ms(on("llvm", accuracy), repeat),
               note=f"accuracy {float_acc:.1%}, weights {float_bytes:,} B")  # fmt: skip
    quantize_model(model, [Tensor(X_train[k : k + 100]) for k in range(0, 1000, 100)])
    q_acc, q_bytes = accuracy(), model_bytes(model)
    report.add("W13", "int8 MLP (calibrated), 200 test images",
               median_ms(on("llvm", accuracy), repeat),
               note=f"accuracy {q_acc:.1%}, weights {q_bytes:,} B")  # fmt: skip
    ratio = float_bytes / q_bytes
    report.verdict(f"W13 quantized MLP weights {ratio:.2f}x smaller (target 4x)", ratio >= 4.0)
    drop = 100 * (float_acc - q_acc)
    report.verdict(f"W13 quantized MLP accuracy {q_acc:.1%} vs float {float_acc:.1%} "
                   f"(target: within 1 point)", drop <= 1.0)  # fmt: skip


def w14_float32_sums(report: Report, repeat: int) -> None:
    """The price of exact float32 sums on llvm: a float32 sum accumulates in float64 lanes
    (``codegen.accumulator_dtype``; issue 13 defect 2). Measured against the same kernel
    accumulating in float32 (the old, drifting way: rebuilt here by swapping the rule) and
    against NumPy's pairwise sum and PyTorch; each note gives the relative error of the
    result against an exact float64 sum."""
    from tinytorch.backends.llvm import codegen

    rng = np.random.default_rng(14)
    cases = {
        "sum of 10^7": (np.full(10_000_000, 0.1, np.float32), None),
        "row sums (4096, 1024)": (rng.random((4096, 1024), dtype=np.float32), 1),
    }
    wide = codegen.accumulator_dtype
    for label, (x, axis) in cases.items():
        exact = x.astype(np.float64).sum(axis=axis)
        xt = Tensor(x)

        def error(got, exact=exact) -> str:
            rel = np.max(np.abs(np.asarray(got, np.float64) - exact) / np.abs(exact))
            return f"rel. error {rel:.1e}"

        def tiny(xt=xt, axis=axis):
            return xt.sum(axis=axis).numpy()

        rows = {}
        for variant, rule in (("float64 accumulator", wide), ("float32 accumulator", None)):
            codegen.accumulator_dtype = rule or (lambda node: node.dtype)
            try:
                cold = cold_ms(on("llvm", tiny))
                warm = median_ms(on("llvm", tiny), repeat)
                got = on("llvm", tiny)()
            finally:
                codegen.accumulator_dtype = wide
                plan_cache.clear()
                kernel_cache.clear()
            rows[variant] = report.add("W14", f"{label}: llvm, {variant}", warm, cold,
                                       note=error(got))  # fmt: skip
        report.add("W14", f"{label}: NumPy", median_ms(lambda x=x, a=axis: x.sum(axis=a), repeat),
                   note=error(x.sum(axis=axis)))  # fmt: skip
        if torch is not None:
            tx = torch.from_numpy(x)
            dim = axis if axis is not None else 0
            report.add("W14", f"{label}: PyTorch", median_ms(lambda t=tx, d=dim: t.sum(d), repeat),
                       note=error(tx.sum(dim).numpy()))  # fmt: skip
        r = rows["float64 accumulator"].warm_ms / rows["float32 accumulator"].warm_ms
        report.verdict(f"W14 {label}: exact float32 sums cost {r:.2f}x the drifting ones "
                       "(target <= 1.5x: still vectorized)", r <= 1.5)  # fmt: skip


WORKLOADS = {
    "W3": w3_gpt_step,
    "W4": w4_generation,
    "W0": w0_overhead,
    "W1": w1_mlp_step,
    "W2": w2_cnn_step,
    "W5": w5_gelu,
    "W6": w6_matmul,
    "W7": w7_softmax,
    "W8": w8_int8_gemv,
    "W9": w9_int8_gemm,
    "W10": w10_fusion,
    "W11": w11_tiling,
    "W12": w12_compacted_pruning,
    "W13": w13_quantized_mlp,
    "W14": w14_float32_sums,
}


class _threads:
    """Temporarily use all cores for our kernels (a row marked "(threads)")."""

    def __init__(self, n: int | None) -> None:
        self.n = n

    def __enter__(self) -> None:
        self.old = os.environ.get("TINYTORCH_THREADS")
        if self.n is None:
            os.environ.pop("TINYTORCH_THREADS", None)
        else:
            os.environ["TINYTORCH_THREADS"] = str(self.n)

    def __exit__(self, *exc) -> None:
        if self.old is not None:
            os.environ["TINYTORCH_THREADS"] = self.old


def tinytorch_threads() -> int:
    from tinytorch.backends.llvm.executable import thread_count

    old = os.environ.pop("TINYTORCH_THREADS", None)
    try:
        return thread_count()
    finally:
        if old is not None:
            os.environ["TINYTORCH_THREADS"] = old


def write_markdown(report: Report, args: argparse.Namespace) -> None:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python bench/run.py` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"({cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy "
        f"{np.__version__}, PyTorch {torch.__version__ if torch else 'not installed'}).",
        "Median of repeated runs; cold = first call with empty caches (passes + codegen).",
        "Single thread unless the row says (threads). The machine is shared: compare ratios "
        "within this table, not absolute times across runs.",
        "",
        "| workload | variant | warm ms | cold ms | note |",
        "|---|---|---:|---:|---|",
    ]
    rows = []
    for r in report.rows:
        cold = f"{r.cold_ms:.3f}" if r.cold_ms is not None else ""
        rows.append(f"| {r.workload} | {r.variant} | {r.warm_ms:.4f} | {cold} | {r.note} |")
    verdicts = [f"- {v}" for v in report.verdicts]
    out = Path(args.output)
    if args.update and out.exists():  # keep the other workloads' rows from the earlier run
        ran = {r.workload for r in report.rows}
        old_rows, old_verdicts = _read_results(out)
        rows = sorted([r for r in old_rows if _workload(r) not in ran] + rows, key=_order)
        verdicts = sorted([v for v in old_verdicts if _workload(v) not in ran] + verdicts,
                          key=_order)  # fmt: skip
        lines[3] += f" Rows of {', '.join(sorted(ran, key=_order))} from this run; the others " \
                    "from earlier runs (each workload's rows come from one run)."  # fmt: skip
    lines += rows + ["", "## Targets", ""] + verdicts + [""]
    tmp = out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(out)  # never a half-written results file
    print(f"\nwrote {out}")


def _workload(line: str) -> str:
    match = re.search(r"\bW\d+\b", line)
    return match.group(0) if match else ""


def _order(line: str) -> tuple[int, str]:
    name = _workload(line)
    return (int(name[1:]) if name else -1, "")


def _read_results(path: Path) -> tuple[list[str], list[str]]:
    """The table rows and target lines of an earlier results file."""
    text = path.read_text().splitlines()
    rows = [ln for ln in text if ln.startswith("| W")]
    verdicts = [ln for ln in text if ln.startswith(("- MET", "- MISSED"))]
    return rows, verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run")
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    parser.add_argument("--output", default=str(RESULTS), help="markdown results file")
    parser.add_argument(
        "--update", action="store_true", help="replace only the rows of the workloads run"
    )
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 15
    report = Report()
    for name in args.only or sorted(WORKLOADS):
        print(f"{name}: {WORKLOADS[name].__doc__.splitlines()[0]}", flush=True)
        WORKLOADS[name](report, repeat)
    write_markdown(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
