"""LLVM's optimization pipeline, run in this process or in a recycled worker process.

Why a worker at all: llvmlite 0.45's new-pass-manager run keeps ~70-85 KB of native memory
per optimized module that nothing can give back (closing the module, its context, its
engine, the pass builder or the pass manager frees none of it; measured with 1,500
one-kernel modules: +117 MB optimized, +0 MB unoptimized). A program that meets a new input
shape every step (a new batch size, a new sequence length) compiles a new kernel each time,
so its memory would creep up without bound even though the kernel caches themselves are
bounded. So after :data:`IN_PROCESS_RUNS` optimizations in this process, the pipeline runs
in a child process instead: it receives the IR text, optimizes it with the same target
machine and options, and sends back bitcode, which this process only parses and loads (no
optimization here, so nothing leaks). After :data:`WORKER_RUNS` modules the child is
retired and a fresh one starts, which returns its leaked memory to the system.

Small programs (tests, the milestones) never reach the threshold and never start a worker.
``TINYTORCH_OPT_WORKER`` sets the threshold: a number of in-process runs (``0``: use the
worker from the first compile) or ``off`` (never use one).

The child imports only llvmlite (this file, run as a script), so it starts in ~0.15 s.
Protocol on its stdin/stdout: a request is a 4-byte little-endian length and UTF-8 IR text;
the reply is a status byte (0 ok, 1 error), a 4-byte length, and bitcode or the error text.
"""

from __future__ import annotations

import atexit
import os
import struct
import subprocess
import sys
import warnings

import llvmlite.binding as llvm

IN_PROCESS_RUNS = 256  # ~20 MB of leaked pipeline memory at most, then the worker
WORKER_RUNS = 1024  # modules one worker optimizes before it is replaced
_HEADER = struct.Struct("<I")
_REPLY = struct.Struct("<BI")
# the worker runs this file by path: ``-m`` would import all of tinytorch first
_BOOT = "import runpy, sys; del sys.argv[0]; runpy.run_path(sys.argv[0], run_name='__main__')"


def run_pipeline(module: llvm.ModuleRef, machine: llvm.TargetMachine, opt_level: int) -> None:
    """The one optimization pipeline: O``opt_level`` with loop and SLP vectorization, without
    loop unrolling (that halves compile time; vectorized loops stay as fast)."""
    pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = False
    builder = llvm.create_pass_builder(machine, pto)
    builder.getModulePassManager().run(module, builder)


def prepare(module: llvm.ModuleRef, data_layout: str) -> None:
    """Host triple and data layout on ``module``, then LLVM's verifier."""
    module.triple = llvm.get_default_triple()
    module.data_layout = data_layout
    module.verify()


class OptimizerWorker:
    """This process's end of one worker: send IR text, get optimized bitcode back."""

    def __init__(self, cpu: str, features: str, opt_level: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, __file__, cpu, features, str(opt_level)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.owner = os.getpid()  # a forked child must not talk over its parent's pipe
        self.runs = 0

    def optimize(self, ir_text: str) -> bytes:
        """Optimized bitcode for ``ir_text``. ``RuntimeError`` with LLVM's message when the
        IR is invalid; ``OSError`` when the worker died (the caller starts another)."""
        data = ir_text.encode()
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise OSError("LLVM optimizer worker has no pipes")
        stdin.write(_HEADER.pack(len(data)) + data)
        stdin.flush()
        head = stdout.read(_REPLY.size)
        if len(head) < _REPLY.size:
            raise OSError(f"LLVM optimizer worker exited (code {self.process.poll()})")
        status, size = _REPLY.unpack(head)
        payload = stdout.read(size)
        self.runs += 1
        if status != 0:
            raise RuntimeError(payload.decode(errors="replace"))
        return payload

    def close(self) -> None:
        """End the worker: it exits when its stdin closes."""
        if self.owner != os.getpid():
            return
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


class Optimizer:
    """Decides where each module is optimized (see the module docstring) and does it.
    Called with the JIT's lock held, so one request at a time. Counters for tests:
    ``in_process`` runs here, ``remote`` runs in workers, ``started`` workers started."""

    def __init__(self, machine: llvm.TargetMachine, cpu: str, features: str, opt_level: int):
        self.machine, self.cpu, self.features, self.opt_level = machine, cpu, features, opt_level
        self.data_layout = str(machine.target_data)
        self.in_process_limit = _threshold()
        self.worker_runs = WORKER_RUNS
        self.in_process = self.remote = self.started = 0
        self._worker: OptimizerWorker | None = None
        self._worker_failed = False
        atexit.register(self.close)

    def use_worker(self) -> bool:
        limit = self.in_process_limit
        return limit is not None and self.in_process >= limit and not self._worker_failed

    def load(self, ir_text: str, context: llvm.context.ContextRef) -> llvm.ModuleRef:
        """``ir_text`` parsed into ``context``, verified and optimized, ready for an engine."""
        if self.use_worker():
            bitcode = self._remote(ir_text)
            if bitcode is not None:
                self.remote += 1
                return llvm.parse_bitcode(bitcode, context=context)
        module = llvm.parse_assembly(ir_text, context=context)
        try:
            prepare(module, self.data_layout)
            run_pipeline(module, self.machine, self.opt_level)
        except Exception:
            module.close()  # now, while its context is certainly open
            raise
        self.in_process += 1
        return module

    def _remote(self, ir_text: str) -> bytes | None:
        """Bitcode from a worker, starting or replacing one as needed; None (after one
        warning) if no worker can run here, so the caller optimizes in-process."""
        for attempt in range(2):
            worker = self._worker
            if worker is None or worker.owner != os.getpid() or worker.runs >= self.worker_runs:
                if worker is not None:
                    worker.close()
                try:
                    worker = self._worker = OptimizerWorker(self.cpu, self.features, self.opt_level)
                except Exception as exc:  # no interpreter to start (embedded Python...)
                    return self._give_up(exc)
                self.started += 1
            try:
                return worker.optimize(ir_text)
            except OSError as exc:  # died (killed, out of memory): one fresh try
                self._worker = None
                worker.close()
                if attempt == 1:
                    return self._give_up(exc)
        return None

    def _give_up(self, exc: Exception) -> None:
        self._worker_failed = True
        warnings.warn(
            f"LLVM optimizer worker unavailable ({exc}); optimizing in this process from now "
            "on, where llvmlite keeps ~80 KB per compiled kernel module",
            RuntimeWarning,
            stacklevel=2,
        )
        return None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def _threshold() -> int | None:
    """In-process runs before the worker takes over, from ``TINYTORCH_OPT_WORKER``."""
    from tinytorch.util.flags import env

    value = env("TINYTORCH_OPT_WORKER").strip().lower()
    if value == "off":
        return None
    return int(value) if value.isdigit() else IN_PROCESS_RUNS


def _serve(cpu: str, features: str, opt_level: int) -> None:
    """The worker's loop: IR text in, optimized bitcode out, until stdin closes."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    machine = target.create_target_machine(cpu=cpu, features=features, opt=opt_level, jit=True)
    data_layout = str(machine.target_data)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = requests.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(head)
        text = requests.read(size).decode()
        try:
            module = llvm.parse_assembly(text)
            prepare(module, data_layout)
            run_pipeline(module, machine, opt_level)
            status, payload = 0, module.as_bitcode()
            module.close()
        except Exception as exc:  # reported to the parent, which raises it there
            status, payload = 1, str(exc).encode()
        replies.write(_REPLY.pack(status, len(payload)) + payload)
        replies.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
