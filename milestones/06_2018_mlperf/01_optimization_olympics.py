"""Milestone 06, part 1: the optimization olympics (MLPerf, 2018). Smaller models, same answers.

    train (03's MLP, 04's CNN) --> profile --> quantize (int8) --> prune --> measure again

By 2018 the question was no longer "can a network read digits?" but "how small and how fast
can it be while it still does?": MLPerf (2018) began to benchmark training and inference
the same way everywhere. This script takes the two TinyDigits models of milestones 03 and 04,
trains them briefly on the same data, then applies the book's optimization modules:

* **Profiling** (Module 14, ``Profiler``): parameters, FLOPs and bytes per layer, and the
  latency of one image, to see *where* the model's size and work are before changing it;
* **Quantization** (Module 15, ``quantize_model``): every ``Linear`` becomes an int8
  ``QuantizedLinear`` and every ``Conv2d`` an int8 ``QuantizedConv2d`` (1 byte per value
  instead of 4; convolution kernels get a scale and zero point per output channel),
  calibrated on training images so the compiler runs every matmul, the convolutions' too,
  on integers. (The book's API quantizes ``Linear`` layers only, which would leave most of
  the CNN's bytes in float32.);
* **Pruning** (Module 16): ``magnitude_prune`` zeroes the smallest half of the weights (the
  shapes stay, so dense storage does not shrink); ``structured_prune`` zeroes half of the
  hidden units of the MLP and ``compact_structured`` removes them for real, then
  fine-tuning the slimmer MLP wins back the accuracy; int8 on top multiplies the savings;
* **Torch Olympics** (Module 20, optional): ``--submission FILE`` benchmarks the float and
  the optimized MLP with ``BenchmarkReport`` and saves them as one validated submission.

"Size" is the bytes of weights the model holds: every weight and bias value at its stored
width (float32 4 B, int8 1 B) plus each quantized tensor's scale and zero point (4 B each).
Zeros count like any value: dense storage keeps them. Accuracy is on the 200 test images;
latency is the median time of one image through the model (forward and realization).

Gate, both parts must pass (``--smoke`` trains fewer epochs and checks the same gate):

* the MLP pruned (50% of its hidden units, compacted, fine-tuned) and quantized to int8
  is >= 4x smaller than the float32 MLP, and loses < 2 points of test accuracy (the book
  expects 4-8x with < 2% loss);
* the CNN quantized to int8 (convolutions and Linear) is >= 3.5x smaller and loses < 2
  points. Its values alone shrink exactly 4x (``compare_model_sizes``); the scales and
  zero points (8 B for each of the 48 output channels, and per tensor elsewhere) are
  counted too, so int8 alone lands just under 4x (3.74x).

    python milestones/06_2018_mlperf/01_optimization_olympics.py [--smoke] [--backend B]
        [--prune 0.5] [--epochs N] [--finetune-epochs N] [--submission FILE]
"""

import copy
import sys
from dataclasses import dataclass

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.spatial import Conv2d, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer
from tinytorch.data.datasets import load_tinydigits
from tinytorch.olympics import BenchmarkReport, generate_submission, save_submission
from tinytorch.perf.compression import (
    compact_structured,
    magnitude_prune,
    measure_sparsity,
    structured_prune,
)
from tinytorch.perf.profiling import Profiler
from tinytorch.perf.quantization import (
    QUANTIZED_LAYERS,
    QuantizedConv2d,
    compare_model_sizes,
    model_bytes,
    quantize_model,
)
from tinytorch.tito.contract import finish, fit, milestone_parser, start

GATE_COMPRESSION = 4.0  # at least 4x fewer bytes of weights ...
GATE_MAX_DROP = 0.02  # ... losing less than 2 points of test accuracy
GATE_CNN_COMPRESSION = 3.5  # int8 alone: 4x on values, a little less with the scales
QUANT_PARAM_BYTES = 8  # a per-tensor scale (float32) and zero point (int32)


# --------------------------------------------------------------------- measuring
def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Share of the images whose highest score is the right digit."""
    return float((model(Tensor(X)).data.argmax(axis=-1) == y).mean())


def int8_layers(model) -> list:
    """The model's quantized layers (``QuantizedLinear`` and ``QuantizedConv2d``)."""
    return [layer for layer in model.layers if isinstance(layer, QUANTIZED_LAYERS)]


def weight_bytes(model) -> int:
    """Bytes of weights held: ``model_bytes`` (every value at its stored width, int8 = 1 B)
    plus the scales and zero points the quantized weights and biases need to be read back:
    one pair per tensor, or one per output channel (``memory_usage`` counts those)."""
    params = 0
    for layer in int8_layers(model):
        per_channel = int(layer.memory_usage()["quantization_params_bytes"])
        params += per_channel if layer.per_channel else QUANT_PARAM_BYTES
        params += QUANT_PARAM_BYTES if layer.q_bias is not None else 0
    return model_bytes(model) + params


def nonzero_weights(model) -> int:
    """Weight and bias values that are not exactly zero (a sparse format would store these).
    An int8 value is zero when it equals its zero point (its channel's, for a kernel)."""
    float_values = sum(int(np.count_nonzero(p.data)) for p in model.parameters())
    int8_values = 0
    for layer in int8_layers(model):
        zero = np.asarray(layer.weight_zero_point)
        if isinstance(layer, QuantizedConv2d) and zero.ndim:
            zero = zero.reshape(-1, 1, 1, 1)  # one per output channel, the kernels' first axis
        int8_values += int(np.count_nonzero(layer.q_weight.data != zero))
        if layer.q_bias is not None:
            int8_values += int(np.count_nonzero(layer.q_bias.data != layer.bias_zero_point))
    return float_values + int8_values


@dataclass
class Row:
    """One line of the results table."""

    model: str
    technique: str
    size_bytes: int
    accuracy: float
    latency_ms: float
    note: str = ""


def measure(model_name, technique, model, data, profiler, timing, note="") -> Row:
    """Size, test accuracy and one-image latency of ``model``, as one table row."""
    X_test, y_test, one_image = data
    latency = profiler.measure_latency(model, one_image, *timing)
    acc = accuracy(model, X_test, y_test)
    return Row(model_name, technique, weight_bytes(model), acc, latency, note)


def print_table(rows: list[Row]) -> None:
    """The book's table: model, technique, size, compression, accuracy, latency."""
    baseline = {}
    print(
        f"{'model':<5} {'technique':<44} {'size':>9} {'compression':>11} "
        f"{'accuracy':>9} {'latency':>9}"
    )
    print("-" * 92)
    for row in rows:
        base = baseline.setdefault(row.model, row)
        print(
            f"{row.model:<5} {row.technique:<44} {row.size_bytes:>7,} B "
            f"{base.size_bytes / row.size_bytes:>10.2f}x {row.accuracy:>9.1%} "
            f"{row.latency_ms:>6.3f} ms"
        )
        if row.note:
            print(f"{'':<6}({row.note})")


# --------------------------------------------------------------------- profiling
def profile_layers(profiler: Profiler, model, sample: Tensor) -> None:
    """Per layer: what it holds (parameters, bytes, share of the model) and what it computes
    (FLOPs per image, matmuls and convolutions at 2 per multiply-add), the Profiler's count."""
    total = profiler.count_parameters(model)
    x = sample
    for layer in model.layers:
        params = profiler.count_parameters(layer) if layer.parameters() else 0
        if params:
            flops = profiler.count_flops(layer, x)
            print(
                f"  {type(layer).__name__:<8} {str(tuple(x.shape[1:])):>11} -> "
                f"{params:>5,} parameters {4 * params:>7,} B ({params / total:>4.0%})  "
                f"{flops:>8,} FLOPs"
            )
        x = Tensor(layer(x).data)  # a realized input: count only this layer's work
    flops = profiler.count_flops(model, sample)
    print(f"  total: {total:,} parameters, {4 * total:,} B, {flops:,} FLOPs per image")


def profile_forward(profiler: Profiler, model, batch: Tensor) -> None:
    """Where one forward pass over a batch spends its time, from the compiled kernels."""
    run = profiler.profile_forward_pass(model, batch)
    print(
        f"  forward of {batch.shape[0]} images: {run['latency_ms']:.3f} ms, "
        f"{len(run['kernels'])} kernels, {run['gflops_per_second']:.2f} GFLOP/s, "
        f"{run['bottleneck']}-bound, "
        f"peak memory {run['peak_memory_mb'] * 1000:.1f} KB"
    )


def write_submission(path, baseline, optimized, technique, X_test, y_test) -> None:
    """The Torch Olympics (Module 20): benchmark the float MLP and the optimized one the
    same way, and save both as one validated submission file."""
    reports = []
    for name, model in (("tinydigits_mlp_fp32", baseline), ("tinydigits_mlp_optimized", optimized)):
        report = BenchmarkReport(name)
        report.benchmark_model(model, X_test, y_test, num_runs=30)
        reports.append(report)
    submission = generate_submission(*reports, techniques_applied=[technique])
    saved = save_submission(submission, path)
    gains = submission["improvements"]
    print(
        f"\nTorch Olympics submission written to {saved}: compression "
        f"{gains['compression_ratio']:.2f}x (values only, no scales), speedup "
        f"{gains['speedup']:.2f}x, accuracy change {gains['accuracy_delta'] * 100:+.1f} points"
    )


# --------------------------------------------------------------------- training
def train(model, optimizer, lr, min_lr, epochs, train_loader, test_loader) -> float:
    """Milestones 03/04's training: cross-entropy, a cosine schedule, ``epochs`` epochs."""
    schedule = CosineSchedule(max_lr=lr, min_lr=min_lr, total_epochs=epochs)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule)
    return fit(trainer, train_loader, test_loader, epochs)


def loaders(X_train, y_train, X_test, y_test, seed: int) -> tuple[DataLoader, DataLoader]:
    train_set = TensorDataset(Tensor(X_train), Tensor(y_train))
    test_set = TensorDataset(Tensor(X_test), Tensor(y_test))
    return (
        DataLoader(train_set, batch_size=32, shuffle=True, seed=seed),
        DataLoader(test_set, batch_size=200),
    )


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="training, default 30 (smoke 10)")
    parser.add_argument(
        "--finetune-epochs", type=int, default=None, help="after pruning, default 30 (smoke 10)"
    )
    parser.add_argument("--prune", type=float, default=0.5, help="share of weights/units pruned")
    parser.add_argument(
        "--submission", default=None, help="also write a Torch Olympics submission JSON here"
    )
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (10 if args.smoke else 30)
    finetune = (
        args.finetune_epochs if args.finetune_epochs is not None else (10 if args.smoke else 30)
    )
    timing = (5, 30) if args.smoke else (10, 100)  # latency: warm-up and timed runs

    X_train, y_train, X_test, y_test = load_tinydigits()
    print(f"TinyDigits: {len(X_train)} training and {len(X_test)} test images of 8x8 pixels\n")
    mlp_data = (X_test, y_test, Tensor(X_test[:1]))
    cnn_data = (X_test[:, None], y_test, Tensor(X_test[:1, None]))
    mlp_loaders = loaders(X_train, y_train, X_test, y_test, args.seed)
    cnn_loaders = loaders(X_train[:, None], y_train, X_test[:, None], y_test, args.seed)

    # 1. Train the two milestone models briefly (milestone 03's MLP, milestone 04's CNN).
    print(f"1. Training milestone 03's MLP and milestone 04's CNN, {epochs} epochs each")
    mlp = Sequential(Flatten(), Linear(64, 24), ReLU(), Linear(24, 24), ReLU(), Linear(24, 10))
    cnn = Sequential(
        Conv2d(1, 16, kernel_size=3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, kernel_size=3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(128, 10),
    )  # fmt: skip
    print("MLP: Flatten -> Linear 64->24 -> ReLU -> Linear 24->24 -> ReLU -> Linear 24->10")
    train(mlp, SGD(mlp.parameters(), lr=0.05, momentum=0.9), 0.05, 0.001, epochs, *mlp_loaders)
    print("CNN: Conv 1->16 3x3 -> ReLU -> MaxPool -> Conv 16->32 3x3 -> ReLU -> MaxPool ->")
    print("     Flatten -> Linear 128->10")
    train(cnn, Adam(cnn.parameters(), lr=0.01), 0.01, 0.0005, epochs, *cnn_loaders)

    # 2. Profile: where are the bytes and the work?
    profiler = Profiler()
    print("\n2. Profiling (Module 14): what each layer holds and computes")
    for name, model, data in (("MLP", mlp, mlp_data), ("CNN", cnn, cnn_data)):
        print(f"{name}:")
        profile_layers(profiler, model, data[2])
        profile_forward(profiler, model, Tensor(data[0]))
    print("  The MLP's bytes are all Linear weights; the CNN's are mostly convolution kernels.")
    print("  Both are matmuls underneath (a convolution is im2col + matmul), so int8 can")
    print("  shrink all of them.")

    rows = [
        measure("MLP", "baseline FP32", mlp, mlp_data, profiler, timing),
        measure("CNN", "baseline FP32", cnn, cnn_data, profiler, timing),
    ]
    calibration = [Tensor(X_train[:200])]

    # 3. Quantize: every Linear and Conv2d to int8, calibrated on 200 training images.
    print("\n3. Quantization (Module 15): every Linear and Conv2d -> int8, calibrated")
    mlp_int8 = quantize_model(copy.deepcopy(mlp), calibration)
    cnn_int8 = quantize_model(copy.deepcopy(cnn), [Tensor(X_train[:200, None])])
    for name, model, int8_model in (("MLP", mlp, mlp_int8), ("CNN", cnn, cnn_int8)):
        sizes = compare_model_sizes(model, int8_model)
        print(
            f"  compare_model_sizes({name}): {sizes['original_bytes']:,.0f} B -> "
            f"{sizes['quantized_bytes']:,.0f} B = {sizes['compression_ratio']:.2f}x (values only)"
        )
    print(f"  (the table adds {QUANT_PARAM_BYTES} B of scale and zero point per tensor, or per")
    print("  output channel for the convolution kernels)")
    print("  int8 MLP (more ops per layer: quantize, integer matmul, zero-point fix-up):")
    profile_forward(profiler, mlp_int8, Tensor(X_test))
    print("  int8 CNN (each convolution's matmul is an int8_matmul over im2col rows of int8):")
    profile_forward(profiler, cnn_int8, Tensor(X_test[:, None]))
    rows.append(measure("MLP", "INT8 quantization", mlp_int8, mlp_data, profiler, timing))
    channels = sum(layer.out_channels for layer in cnn.layers if isinstance(layer, Conv2d))
    note = f"conv kernels int8, a scale and zero point for each of {channels} output channels"
    cnn_int8_row = measure("CNN", "INT8 quantization", cnn_int8, cnn_data, profiler, timing, note)
    rows.append(cnn_int8_row)

    # 4. Prune: unstructured (zeros, same shapes) and structured (fewer units, compacted).
    pct = f"{args.prune:.0%}"
    print(f"\n4. Pruning (Module 16): {pct} of the weights, or of the MLP's hidden units")
    for name, model, data in (("MLP", mlp, mlp_data), ("CNN", cnn, cnn_data)):
        pruned = magnitude_prune(copy.deepcopy(model), sparsity=args.prune)
        note = (
            f"{measure_sparsity(pruned):.0f}% zeros, {nonzero_weights(pruned):,} nonzero values:"
            " smaller only in a sparse format, dense storage keeps the zeros"
        )
        technique = f"{pct} magnitude pruning"
        rows.append(measure(name, technique, pruned, data, profiler, timing, note))

    slim = copy.deepcopy(mlp)
    structured_prune(Sequential(slim.layers[1], slim.layers[3]), prune_ratio=args.prune)
    pruned_acc = accuracy(slim, X_test, y_test)
    compact_structured(slim)  # drop the zeroed units and the next layer's matching inputs
    widths = " -> ".join(
        str(layer.out_features) for layer in slim.layers if isinstance(layer, Linear)
    )
    print(
        f"  structured_prune zeroed {pct} of each hidden layer's units (test accuracy now "
        f"{pruned_acc:.1%});\n  compact_structured removed those {slim.compacted_channels} units: "
        f"MLP 64 -> {widths}"
    )
    if finetune:
        print(f"  fine-tuning the slim MLP for {finetune} epochs")
        train(slim, SGD(slim.parameters(), lr=0.05, momentum=0.9), 0.05, 0.001, finetune,
              *mlp_loaders)  # fmt: skip
    rows.append(
        measure("MLP", f"{pct} structured pruning + compaction", slim, mlp_data, profiler, timing)
    )

    # 5. Combine: the slim MLP, quantized.
    slim_int8 = quantize_model(copy.deepcopy(slim), calibration)
    combined = measure(
        "MLP", f"{pct} structured + compaction + INT8", slim_int8, mlp_data, profiler, timing
    )
    rows.append(combined)

    rows.sort(key=lambda row: row.model != "MLP")  # MLP rows first, then CNN, in order
    print("\n5. Results (size: bytes of weights held; latency: one image, median)\n")
    print_table(rows)
    print("\n(book: INT8 25% of the size with 84-89% accuracy; + 50% pruning 12.5%, 82-87%)")
    print("int8 buys size here, not speed: each int8 layer adds ops (quantize the input, an")
    print("integer matmul, a zero-point correction, a rescale), and at this scale each op")
    print("costs more in overhead than the arithmetic it saves.")

    if args.submission:
        write_submission(args.submission, mlp, slim_int8, combined.technique, X_test, y_test)

    mlp_passed, mlp_line = check_gate(rows[0], combined, GATE_COMPRESSION)
    cnn_base = next(row for row in rows if row.model == "CNN")
    cnn_passed, cnn_line = check_gate(cnn_base, cnn_int8_row, GATE_CNN_COMPRESSION)
    return finish(mlp_passed and cnn_passed, f"{mlp_line}; {cnn_line}")


def check_gate(base: Row, optimized: Row, min_ratio: float) -> tuple[bool, str]:
    """``optimized`` is at least ``min_ratio`` times smaller than ``base`` and loses less
    than ``GATE_MAX_DROP`` of test accuracy: (passed, the sentence saying so)."""
    ratio = base.size_bytes / optimized.size_bytes
    drop = round((base.accuracy - optimized.accuracy) * 100, 1) or 0.0  # points (no -0.0)
    change = f"{drop:.1f} points lost" if drop >= 0 else f"{-drop:.1f} points gained"
    passed = ratio >= min_ratio and drop < GATE_MAX_DROP * 100
    return passed, (
        f"{optimized.model} {optimized.technique}: {ratio:.2f}x smaller ({base.size_bytes:,} B "
        f"-> {optimized.size_bytes:,} B of weights; need >= {min_ratio:g}x), accuracy "
        f"{base.accuracy:.1%} -> {optimized.accuracy:.1%} ({change}; need < "
        f"{GATE_MAX_DROP * 100:.0f} lost)"
    )


if __name__ == "__main__":
    sys.exit(main())
