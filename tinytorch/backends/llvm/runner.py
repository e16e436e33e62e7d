"""A compiled plan's steps as one generated Python function: straight-line dispatch.

Running a plan step by step from a list costs Python work per step that has nothing to do
with the step: unpack its tuple, test its kind, look up its argument slots, check every
argument's layout, loop over what it frees. For a small decode step (a GPT generating one
token: ~100 steps, most of them microseconds of compute) that bookkeeping was twice the
compute. So each plan is also written out as the Python code that runs exactly its steps,
in order, with every decision that does not depend on the data taken once, here:

* values live in local variables (``v12``), not a list;
* a kernel's output buffer shape/dtype, its C function and its ``outer`` extent are bound
  as constants; a kernel too small to split across threads is called directly;
* an argument made by an earlier kernel is already row-major and native-endian, so only
  arguments from elsewhere (inputs, NumPy steps, views) are checked (``_native``);
* frees are written at the step after which a value is dead.

The result is the same work the step loop does. The loop stays for profiled runs, which
time every step, and for a plan's first run: a plan run once is not worth writing out.
``LLVMExecutable.source`` holds the generated text, so a learner can read exactly what a
plan does (``TINYTORCH_DUMP=dir`` writes it as ``plan.py``). For
``((x * 2 + 1) @ w).relu().sum(axis=1)``::

    def run(v0, v5):
        s = 0
        try:
            # kernel k_9db65fad2c35bb7c: mul add
            s = 0
            t0 = _native(v0)
            v4 = take((4, 3), d0)
            c0(0, 4, addressof(cfb(v4)), addr(t0))
            del t0
            del v0
            # matmul -> (4, 5) (NumPy)
            s = 1
            v6 = f1(n1, v4, v5)
            del v4
            del v5
            # kernel k_7faf4fa45e766049: relu sum
            ...
            return [v8]
        except MemoryError as exc:
            raise realize_error(roots[s], exc) from exc

(``s`` is the step running, so a failed allocation names its op; ``t0`` keeps a contiguous
copy alive while the kernel reads it; ``del`` drops a dead value, and ``give`` hands a big
one back to the buffer pool.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# The file name tracebacks show for generated code: inside the package, so that error
# reports still point at the user's line as the innermost frame outside tinytorch.
PLAN_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "<plan>")

# Plans longer than this keep the step loop: writing and compiling the text costs ~35 us
# per step (measured), and a very long plan is dominated by its kernels anyway.
MAX_STEPS = 4000


def write_runner(
    steps: Sequence[tuple],
    frees: Sequence[Sequence[int]],
    input_slots: Sequence[int],
    output_slots: Sequence[int],
    parallel_min: int,
    helpers: dict[str, Any],
    recyclable: Callable[[int], bool] = lambda slot: True,
    direct: Callable[[Any], bool] = lambda node: False,
    min_pooled: int = 0,
) -> tuple[str, Callable[..., list]] | None:
    """(source, function) running ``steps`` as straight-line code, or None when the plan is
    too long to be worth it.

    ``helpers`` supplies the runtime functions the text calls (``take``, ``give``, ``addr``,
    ``addressof``, ``cfb``, ``_native``, ``run_numpy_node``, ``run_kernel``,
    ``realize_error``). ``recyclable(slot)`` says whether the buffer pool could take a
    slot's array back at all (not views, nor arrays under its size floor): the others are
    only dropped. ``direct(node)`` says a NumPy step's function surely returns an ndarray of
    the node's dtype, so it is called without ``run_numpy_node``'s checks (its memory errors
    are still named). Outputs under ``min_pooled`` bytes come from ``empty`` (NumPy), not
    the pool's ``take``."""
    if len(steps) > MAX_STEPS:
        return None
    names: dict[str, Any] = dict(helpers)
    roots: list = []  # the node of each step that may fail to allocate (named if it does)
    contiguous = set()  # slots surely holding a non-empty, writable, row-major native array
    body: list[str] = []
    for k, (step, dead) in enumerate(zip(steps, frees, strict=True)):
        if step[0] == "kernel":
            _, kernel, out, args, members, shape, dtype, work = step
            ops = " ".join(m.op for m in members if m.op != "input")
            body.append(f"# kernel {kernel.name}: {ops[:70]}{'...' if len(ops) > 70 else ''}")
            names[f"c{k}"], names[f"d{k}"], names[f"K{k}"] = kernel.cfunc, dtype, kernel
            body.append(f"s = {len(roots)}")
            roots.append(members[-1])
            pointers, temps = [], []
            for a in args:  # a copy made by _native must live until the call returns
                if a in contiguous:  # a kernel's output: writable, so from_buffer works
                    pointers.append(f"addressof(cfb(v{a}))")
                else:
                    temps.append(f"t{len(temps)}")
                    body.append(f"{temps[-1]} = _native(v{a})")
                    pointers.append(f"addr({temps[-1]})")
            outer = kernel.source.outer
            fast = all(shape)  # from_buffer refuses an empty array
            own = f"addressof(cfb(v{out}))" if fast else f"addr(v{out})"
            ptrs = ", ".join([own, *pointers])
            small = int(np.prod(shape)) * dtype.itemsize < min_pooled
            # the pool never holds arrays this small: ask NumPy directly
            body.append(f"v{out} = {'empty' if small else 'take'}({shape!r}, d{k})")
            if work < parallel_min or outer < 2:
                body.append(f"c{k}(0, {outer}, {ptrs})")
            else:
                body.append(f"run_kernel(K{k}, {outer}, [{ptrs}], {work})")
            if temps:
                body.append(f"del {', '.join(temps)}")
            if fast:
                contiguous.add(out)
        else:
            _, node, out, args, fn = step
            names[f"n{k}"], names[f"f{k}"] = node, fn
            body.append(f"# {node.op} -> {node.shape} (NumPy)")
            reads = ", ".join(f"v{a}" for a in args)
            if direct(node):  # a view, or a matmul: an ndarray of the node's dtype
                body.append(f"s = {len(roots)}")
                roots.append(node)
                body.append(f"v{out} = f{k}(n{k}, {reads})")
                # NumPy's matmul returns a fresh row-major array, and reshaping a row-major
                # array gives a row-major view: kernels can read both as they are
                fresh = node.op == "matmul" or (node.op == "reshape" and args[0] in contiguous)
                if fresh and all(node.shape):
                    contiguous.add(out)
            else:  # checks the result's type and dtype, and names the op if it fails
                body.append(f"v{out} = run_numpy_node(n{k}, f{k}, [{reads}])")
        # freed once each; the local is the only reference left, so the pool may take it
        for p in dict.fromkeys(dead):
            body.append(f"give(v{p}); del v{p}" if recyclable(p) else f"del v{p}")
    body.append(f"return [{', '.join(f'v{s}' for s in output_slots)}]")
    lines = [f"def run({', '.join(f'v{s}' for s in input_slots)}):"]
    if roots:  # an output that cannot be allocated names its step's op
        lines += ["    s = 0", "    try:"]
        lines += [f"        {line}" for line in body]
        lines += ["    except MemoryError as exc:",
                  "        raise realize_error(roots[s], exc) from exc"]  # fmt: skip
    else:
        lines += [f"    {line}" for line in body]
    names["roots"] = roots
    source = "\n".join(lines) + "\n"
    exec(compile(source, PLAN_FILE, "exec"), names)  # noqa: S102 (text made here)
    # popped, so that the function's globals do not hold the function: no reference cycle,
    # and the plan's kernels are freed the moment the plan is, not at some later GC pass
    return source, names.pop("run")
