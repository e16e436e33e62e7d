"""Module 14: the book's ``Profiler``, reading the compiler instead of guessing.

    from tinytorch.perf.profiling import Profiler
    profiler = Profiler()
    profiler.count_flops(Linear(512, 512), (64, 512))     # 524288, per sample
    profile = profiler.profile_forward_pass(model, x)
    print(profile["bottleneck"], profile["gflops_per_second"])
    profiler.export_chrome_trace("trace.json")             # open in ui.perfetto.dev

The book's profiler times Python calls and estimates memory with ``tracemalloc``. Here the
model's code runs once and the numbers come from what the compiler built and ran
(:mod:`tinytorch.perf.recording`):

* **FLOPs** are the op registry's cost rules summed over the graph the model actually
  built, so any model is counted, not a list of known layer types. ``count_flops`` uses the
  book's convention: the contractions (matmul, the GEMM inside a convolution) at 2 flops per
  multiply-accumulate, divided by the batch (the first dimension of ``input_shape``), so
  ``Linear(512, 512)`` gives ``512 * 512 * 2 = 524,288`` for any batch. The bias add and
  activations are not counted there (``include_elementwise=True`` counts every op);
  ``profile_*`` rates use every flop executed.
* **Memory** is replayed from the compiled plan: parameters at their real dtype, the input,
  and the most plan-allocated bytes alive at one time (see ``recording.py``).
* **Time** is wall time around ``forward`` *and* the realization of its result (a lazy model
  computes nothing until read), median of the timed runs, after warm-up runs that also fill
  the plan and kernel caches.
* **Bottleneck** is the roofline's verdict: a run whose arithmetic intensity (flops per byte
  its kernels moved) is below this machine's ridge point (peak GFLOP/s / bandwidth,
  measured once when first needed) is ``"memory"``-bound, otherwise ``"compute"``-bound.

Megabytes are 10^6 bytes, as in the book's arithmetic (125M float32 parameters = 500 MB).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinytorch.frontend.tensor import Tensor, realize
from tinytorch.perf.machine import Machine, this_machine
from tinytorch.perf.recording import Recording, record, tensors_in
from tinytorch.perf.roofline import RooflineReport, roofline_report
from tinytorch.perf.timing import median_ms
from tinytorch.perf.trace import write_chrome_trace

BYTES_PER_FLOAT32 = 4
MB_TO_BYTES = 1_000_000


def _check_model(model: Any, what: str = "model") -> None:
    if not callable(getattr(model, "forward", None)):
        raise TypeError(
            f"Profiler needs a {what} with a forward() method; got {type(model).__name__} "
            f"({model!r:.60})"
        )


def _parameters(model: Any) -> list[Tensor]:
    """The model's parameters: ``parameters()`` when it has one, else Tensor attributes."""
    if callable(getattr(model, "parameters", None)):
        found = list(model.parameters())
    else:
        found = [v for v in vars(model).values() if isinstance(v, Tensor)]
    unique: dict[int, Tensor] = {}
    for p in found:
        if isinstance(p, Tensor):
            unique.setdefault(id(p), p)
    return list(unique.values())


def _dummy_input(model: Any, input_shape: Sequence[int] | Tensor) -> Tensor:
    """A random input of ``input_shape``: token ids below ``model.vocab_size`` for a model
    that has one (an embedding or a GPT reads integers), float32 normals otherwise. A
    Tensor given instead of a shape is used as it is."""
    if isinstance(input_shape, Tensor):
        return input_shape
    shape = tuple(int(d) for d in input_shape)
    rng = np.random.default_rng(0)
    vocab = getattr(model, "vocab_size", None)
    if isinstance(vocab, (int, np.integer)) and vocab > 0:
        return Tensor(rng.integers(0, int(vocab), size=shape))
    return Tensor(rng.standard_normal(shape).astype(np.float32))


def _shape(input_shape: Sequence[int] | Tensor) -> tuple[int, ...]:
    return tuple(input_shape.shape if isinstance(input_shape, Tensor) else input_shape)


def _batch(shape: Sequence[int]) -> int:
    return int(shape[0]) if len(shape) >= 2 and shape[0] > 0 else 1


def _mb(nbytes: float) -> float:
    return nbytes / MB_TO_BYTES


class Profiler:
    """Parameters, FLOPs, memory and latency of any model, from the compiled graph.

    ``machine`` fixes the roofline used for the bottleneck verdict (by default this machine,
    measured on first use). ``warmup`` and ``iterations`` are the timed runs the
    ``profile_*`` methods use (``measure_latency`` keeps the book's 10 and 100)."""

    def __init__(self, machine: Machine | None = None, warmup: int = 3, iterations: int = 20):
        self.machine = machine
        self.warmup = warmup
        self.iterations = iterations
        self.measurements: dict[str, Any] = {}  # the last result of each method, by name
        self.last_run: Recording | None = None  # kernels and memory of the last recorded run

    # ------------------------------------------------------------------ core
    def count_parameters(self, model: Any) -> int:
        """Total number of parameter elements (every parameter tensor's size)."""
        if not callable(getattr(model, "parameters", None)):
            _check_model(model)
        count = sum(int(p.size) for p in _parameters(model))
        self.measurements["count_parameters"] = count
        return count

    def count_params(self, model: Any) -> int:
        """:meth:`count_parameters` under the name the book's API table gives its row."""
        return self.count_parameters(model)

    def count_flops(
        self, model: Any, input_shape: Sequence[int], include_elementwise: bool = False
    ) -> int:
        """FLOPs of one forward pass **per sample** (batch-size independent): the graph the
        model builds on a random input of ``input_shape`` (first dimension = batch; token
        ids for a model with a ``vocab_size``; or pass a sample Tensor instead)."""
        _check_model(model)
        run = self._record(model, _dummy_input(model, input_shape))
        total = run.flops if include_elementwise else run.contraction_flops
        flops = int(round(total / _batch(_shape(input_shape))))
        self.measurements["count_flops"] = flops
        return flops

    def measure_memory(self, model: Any, input_shape: tuple[int, ...]) -> dict[str, float]:
        """Memory of one forward pass, in MB, from the compiled plan's buffers.

        ``parameter_memory_mb`` (real dtypes), ``activation_memory_mb`` (most plan buffers
        alive at once), ``peak_memory_mb`` (parameters + input + activations) and
        ``memory_efficiency``: the share of the peak that is irreducible (parameters, input
        and output); fusion, which stores fewer intermediates, raises it."""
        _check_model(model)
        run = self._record(model, _dummy_input(model, input_shape))
        result = self._memory(run)
        self.measurements["measure_memory"] = result
        return result

    def measure_latency(
        self, model: Any, input_tensor: Tensor, warmup: int = 10, iterations: int = 100
    ) -> float:
        """Median milliseconds of ``model.forward(input_tensor)`` plus realizing its result,
        over ``iterations`` timed runs after ``warmup`` untimed ones."""
        _check_model(model)
        ms = median_ms(lambda: _forward_realized(model, input_tensor), warmup, iterations)
        self.measurements["measure_latency"] = ms
        return ms

    # -------------------------------------------------------------- analysis
    def profile_layer(self, layer: Any, input_shape: Sequence[int]) -> dict[str, Any]:
        """Everything about one layer on a random input of ``input_shape``."""
        _check_model(layer, "layer")
        result = self.profile_forward_pass(layer, _dummy_input(layer, input_shape))
        result = {"layer_type": type(layer).__name__, "input_shape": _shape(input_shape), **result}
        self.measurements["profile_layer"] = result
        return result

    def profile_forward_pass(self, model: Any, input_tensor: Tensor) -> dict[str, Any]:
        """Latency, FLOPs, GFLOP/s, memory, the kernels run and the roofline verdict."""
        _check_model(model)
        latency = median_ms(
            lambda: _forward_realized(model, input_tensor), self.warmup, self.iterations
        )
        run = self._record(model, input_tensor)
        result = {
            "latency_ms": latency,
            "flops": int(round(run.contraction_flops / _batch(input_tensor.shape))),
            "parameters": self.count_parameters(model),
            "total_flops": run.flops,
            **self._rates(run, latency),
            **self._memory(run),
            "kernels": [_kernel_row(k) for k in run.kernels],
        }
        self.measurements["profile_forward_pass"] = result
        return result

    def profile_backward_pass(self, model: Any, input_tensor: Tensor) -> dict[str, Any]:
        """One training iteration (forward, ``sum()`` as the loss, backward) run as one
        graph, as a training step is, and the forward alone: their times and every flop each
        executed (whole batch; backward = step - forward), gradient memory, the step plan's
        activations and peak, optimizer-state estimates and the roofline verdict of the
        step. ``last_run`` (for the trace and the roofline) is the step. The parameters'
        ``.grad`` are left as they were."""
        _check_model(model)
        params = _parameters(model)
        saved = [p.grad for p in params]
        try:
            fwd_ms = median_ms(
                lambda: _forward_realized(model, input_tensor), self.warmup, self.iterations
            )
            step_ms = median_ms(
                lambda: _training_step(model, input_tensor, params), self.warmup, self.iterations
            )
            forward = self._record(model, input_tensor)
            step = record(lambda: _training_step_outputs(model, input_tensor, params), params)
            grads = [p.grad for p in params if p.grad is not None]
            grad_bytes = sum(int(g.size) * g.dtype.itemsize for g in grads)
        finally:
            for p, g in zip(params, saved, strict=True):
                p.grad = g
        backward_ms = max(step_ms - fwd_ms, 0.0)
        backward_flops = max(step.flops - forward.flops, 0)
        param_mb = _mb(forward.memory.parameters)
        result = {
            "forward_latency_ms": fwd_ms,
            "backward_latency_ms": backward_ms,
            "total_latency_ms": step_ms,
            "forward_flops": forward.flops,
            "backward_flops": backward_flops,
            "total_flops": step.flops,
            "backward_to_forward_flops": backward_flops / forward.flops if forward.flops else 0.0,
            "parameter_memory_mb": param_mb,
            "gradient_memory_mb": _mb(grad_bytes),
            "activation_memory_mb": _mb(step.memory.activations),
            "peak_memory_mb": _mb(max(forward.memory.peak, step.memory.peak)),
            "optimizer_memory_estimates": {
                "sgd": param_mb * 2,  # parameters + gradients
                "momentum": param_mb * 3,  # + one velocity buffer
                "adam": param_mb * 4,  # + first and second moments
            },
            **self._rates(step, step_ms),
            "kernels": [_kernel_row(k) for k in step.kernels],
        }
        self.last_run = step
        self.measurements["profile_backward_pass"] = result
        return result

    # ------------------------------------------------------------ beyond the book
    def export_chrome_trace(self, path: str) -> str:
        """Write the kernels of the last profiled run as Chrome trace-event JSON (open it in
        ui.perfetto.dev or chrome://tracing); returns the path."""
        if self.last_run is None:
            raise RuntimeError(
                "Profiler.export_chrome_trace: nothing profiled yet; call profile_forward_pass "
                "(or another Profiler method that runs the model) first"
            )
        return str(write_chrome_trace(self.last_run.kernels, path))

    def roofline(self) -> RooflineReport:
        """The kernels of the last profiled run on this machine's roofline."""
        if self.last_run is None:
            raise RuntimeError("Profiler.roofline: nothing profiled yet")
        return roofline_report(self.last_run.kernels, self._machine())

    # -------------------------------------------------------------- helpers
    def _machine(self) -> Machine:
        return self.machine or this_machine()

    def _record(self, model: Any, x: Tensor) -> Recording:
        self.last_run = record(lambda: model.forward(x), _parameters(model))
        return self.last_run

    def _rates(self, run: Recording, latency_ms: float) -> dict[str, Any]:
        seconds = latency_ms / 1e3
        gflops = run.flops / seconds / 1e9 if seconds > 0 else 0.0
        intensity = run.flops / run.bytes if run.bytes else 0.0
        machine = self._machine()
        bound = machine.bound(intensity)
        return {
            "gflops_per_second": gflops,
            "memory_bandwidth_gbs": run.bytes / seconds / 1e9 if seconds > 0 else 0.0,
            "arithmetic_intensity": intensity,
            "computational_efficiency": gflops / machine.peak_gflops,
            "kernel_ms": run.kernel_seconds * 1e3,
            # time outside kernels: Python building the graph, plan lookup, binding buffers
            "overhead_ms": max(latency_ms - run.kernel_seconds * 1e3, 0.0),
            "bottleneck": bound,
            "is_memory_bound": bound == "memory",
        }

    @staticmethod
    def _memory(run: Recording) -> dict[str, float]:
        m = run.memory
        useful = m.parameters + m.inputs + m.outputs
        return {
            "parameter_memory_mb": _mb(m.parameters),
            "activation_memory_mb": _mb(m.activations),
            "peak_memory_mb": _mb(m.peak),
            "memory_efficiency": min(useful / m.peak, 1.0) if m.peak else 1.0,
            "input_memory_mb": _mb(m.inputs),
            "allocated_memory_mb": _mb(m.allocated),
        }


def _forward_realized(model: Any, x: Tensor) -> Any:
    out = model.forward(x)
    tensors = tensors_in(out)
    if tensors:
        realize(*tensors)
    return out


def _scalar_loss(outputs: list[Tensor]) -> Tensor:
    """A stand-in loss: the sum of every float output (its gradient is all ones)."""
    floats = [t for t in outputs if t.dtype.kind == "f"]
    if not floats:
        raise TypeError("Profiler.profile_backward_pass: the model returned no float tensor")
    loss = floats[0].sum()
    for t in floats[1:]:
        loss = loss + t.sum()
    return loss


def _training_step_outputs(model: Any, x: Tensor, params: list[Tensor]) -> list[Tensor]:
    """Forward, the stand-in loss and backward, built but not run: the loss and the
    gradients, to be realized together as one graph (as a training step is)."""
    for p in params:
        p.grad = None
    loss = _scalar_loss(tensors_in(model.forward(x)))
    loss.backward()
    return [loss, *(p.grad for p in params if p.grad is not None)]


def _training_step(model: Any, x: Tensor, params: list[Tensor]) -> None:
    realize(*_training_step_outputs(model, x, params))


def _kernel_row(k) -> dict[str, Any]:
    return {
        "name": k.name,
        "ops": list(k.ops),
        "lines": list(k.srcs),
        "ms": k.seconds * 1e3,
        "flops": k.flops,
        "bytes": k.bytes,
    }


def quick_profile(
    model: Any,
    input_tensor: Tensor,
    profiler: Profiler | None = None,
    show: bool | Callable[[str], Any] = True,
) -> dict[str, Any]:
    """Profile one forward pass and print a short summary (``show=False`` for silence);
    returns the ``profile_forward_pass`` dictionary."""
    profiler = profiler or Profiler()
    profile = profiler.profile_forward_pass(model, input_tensor)
    lines = [
        f"Quick profile of {type(model).__name__}:",
        f"  Parameters: {profile['parameters']:,}",
        f"  FLOPs per sample: {profile['flops']:,}",
        f"  Latency: {profile['latency_ms']:.3f} ms (kernels {profile['kernel_ms']:.3f} ms, "
        f"outside kernels {profile['overhead_ms']:.3f} ms)",
        f"  Memory: {profile['peak_memory_mb']:.3f} MB peak",
        f"  Throughput: {profile['gflops_per_second']:.2f} GFLOP/s",
        f"  Bottleneck: {profile['bottleneck']} ({profile['arithmetic_intensity']:.2f} flops/byte)",
    ]
    if show:
        printer = show if callable(show) else print
        printer("\n".join(lines))
    return profile
