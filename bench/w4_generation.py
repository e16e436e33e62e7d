"""W4: greedy generation with and without the KV cache, and PyTorch eager with its own.

The W3 GPT shape (vocab 64, embed 128, 4 heads, 4 layers, position table 128), a 16-token
prompt, 100 new tokens, greedy. Rows: tinytorch without the cache (every token re-runs the
whole window), with it (prefill once, then one compiled decode step replayed per token), and
the same model with the same weights in PyTorch eager, with a hand-written KV cache (its
keys/values preallocated, one position written per token, attention over the filled prefix).
"""

from __future__ import annotations

import time

import numpy as np

import tinytorch
from tinytorch.perf.memoization import disable_kv_cache, enable_kv_cache

try:
    import torch
except ImportError:  # optional peer
    torch = None

VOCAB, EMBED, HEADS, LAYERS, CTX = 64, 128, 4, 4, 128
PROMPT, NEW = 16, 100


def _time(fn, repeat: int) -> tuple[float, object]:
    """(median seconds over ``repeat`` calls after one warm-up call, the last result)."""
    out = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def torch_kv_generate(state: dict[str, np.ndarray], prompt: np.ndarray, new: int) -> np.ndarray:
    """Greedy decoding of the tinytorch GPT's weights in PyTorch eager with a KV cache."""
    F = torch.nn.functional
    w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    head_dim = EMBED // HEADS
    keys = [torch.zeros(1, HEADS, CTX, head_dim) for _ in range(LAYERS)]
    values = [torch.zeros(1, HEADS, CTX, head_dim) for _ in range(LAYERS)]

    def linear(x, name):
        return x @ w[f"{name}.weight"] + w[f"{name}.bias"]

    def norm(x, name):
        return F.layer_norm(x, (EMBED,), w[f"{name}.gamma"], w[f"{name}.beta"], 1e-5)

    def step(tokens: torch.Tensor, pos: int) -> torch.Tensor:
        n = tokens.shape[1]
        x = (
            w["token_embedding.weight"][tokens]
            + w["position_encoding.position_embeddings"][pos : pos + n]
        )
        causal = torch.ones(n, pos + n).tril(pos) == 0
        for layer in range(LAYERS):
            p = f"blocks.{layer}"
            h = norm(x, f"{p}.ln1")
            q, k, v = (
                linear(h, f"{p}.attention.{m}_proj").view(1, n, HEADS, head_dim).transpose(1, 2)
                for m in "qkv"
            )
            keys[layer][:, :, pos : pos + n] = k  # the cache write
            values[layer][:, :, pos : pos + n] = v
            kk, vv = keys[layer][:, :, : pos + n], values[layer][:, :, : pos + n]
            scores = (q @ kk.transpose(-2, -1)) / head_dim**0.5
            attended = scores.masked_fill(causal, -1e9).softmax(-1) @ vv
            x = x + linear(attended.transpose(1, 2).reshape(1, n, EMBED), f"{p}.attention.out_proj")
            h = F.gelu(linear(norm(x, f"{p}.ln2"), f"{p}.mlp.linear1"), approximate="tanh")
            x = x + linear(h, f"{p}.mlp.linear2")
        return linear(norm(x[:, -1], "ln_f"), "lm_head")

    seq = [int(t) for t in prompt]
    with torch.inference_mode():
        logits = step(torch.tensor([seq]), 0)
        for k in range(new):
            seq.append(int(logits.argmax(-1)))
            if k + 1 < new:
                logits = step(torch.tensor([[seq[-1]]]), len(seq) - 1)
    return np.array(seq)


def w4_generation(report, repeat: int) -> None:
    """Greedy generation (GPT 64/128/4 heads/4 layers/128): without and with the KV cache.

    16-token prompt, 100 new tokens; PyTorch eager with its own KV cache on the same weights."""
    np.random.seed(4)
    model = tinytorch.GPT(VOCAB, EMBED, LAYERS, HEADS, max_seq_len=CTX)
    prompt = np.random.default_rng(4).integers(0, VOCAB, PROMPT)

    def generate():
        return model.generate(prompt, max_new_tokens=NEW, temperature=0).numpy()

    results = {}
    for backend in ("llvm", "numpy"):
        with tinytorch.backend(backend):
            disable_kv_cache(model)
            slow, plain = _time(generate, 1 if backend == "numpy" else max(1, repeat // 3))
            enable_kv_cache(model)
            fast, cached = _time(generate, repeat)
            disable_kv_cache(model)
        same = np.array_equal(plain, cached)
        results[backend] = (slow, fast, cached)
        report.add("W4", f"{backend}: no cache, {NEW} tokens", slow * 1e3,
                   note=f"{slow / NEW * 1e3:.2f} ms/token")  # fmt: skip
        report.add("W4", f"{backend}: KV cache, {NEW} tokens", fast * 1e3,
                   note=f"{fast / NEW * 1e3:.3f} ms/token, {NEW / fast:.0f} tokens/s, "
                   f"{slow / fast:.1f}x, tokens {'identical' if same else 'DIFFER'}")  # fmt: skip
        if not same:
            report.verdict(f"W4 {backend}: cached tokens differ from uncached", False)
    slow, fast, cached = results["llvm"]
    report.verdict(f"W4 KV-cache speedup {slow / fast:.1f}x over no cache (target >= 10x)",
                   slow / fast >= 10)  # fmt: skip
    if torch is None:
        report.verdict("W4 PyTorch not installed: tokens/s vs PyTorch not measured", False)
        return
    state = model.state_dict()
    peer, tokens = _time(lambda: torch_kv_generate(state, prompt, NEW), repeat)
    same = np.array_equal(tokens, cached)
    report.add("W4", f"torch eager: KV cache, {NEW} tokens", peer * 1e3,
               note=f"{peer / NEW * 1e3:.3f} ms/token, {NEW / peer:.0f} tokens/s, "
               f"tokens {'identical' if same else 'differ'} (same weights)")  # fmt: skip
    report.verdict(f"W4 tokens/s {NEW / fast:.0f} (llvm, KV cache) vs PyTorch eager "
                   f"{NEW / peer:.0f} (target >=)", peer >= fast)  # fmt: skip
