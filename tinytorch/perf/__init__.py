"""The optimization tier (book modules 14-18): profiling, quantization, compression, the
KV cache, acceleration and the roofline.

* :mod:`~tinytorch.perf.profiling`: the book's ``Profiler`` and ``quick_profile``, reading
  the compiler's cost model, compiled plans and per-kernel hooks; Chrome trace export;
* :mod:`~tinytorch.perf.acceleration`: ``vectorized_matmul``, ``fused_gelu`` /
  ``unfused_gelu``, ``tiled_matmul`` and the roofline report;
* :mod:`~tinytorch.perf.compression` (with :mod:`~tinytorch.perf.distillation` and
  :mod:`~tinytorch.perf.compaction`): sparsity, magnitude and structured pruning, low-rank
  approximation, knowledge distillation, and physically smaller pruned models;
* :mod:`~tinytorch.perf.machine`, :mod:`~tinytorch.perf.roofline`: this machine's measured
  ceilings, and where each kernel of a run falls under them;
* :mod:`~tinytorch.perf.recording`, :mod:`~tinytorch.perf.trace`,
  :mod:`~tinytorch.perf.timing`: the shared pieces (record a run, write a trace, time it).

The book's import paths are these modules themselves (``from tinytorch.perf.profiling
import Profiler``); nothing is imported here so that each stays cheap to import.
"""
