"""Milestone 04, part 1: the CNN revolution (1998) on TinyDigits, 8x8 handwritten digits.

    Image (1x8x8) --> Conv 3x3 (16) --> ReLU --> MaxPool 2 --> Conv 3x3 (32) --> ReLU
                  --> MaxPool 2 --> Flatten --> Linear --> 10 classes

LeCun's LeNet-5 (1998) read cheques with a network that *looks at neighbourhoods*: small
filters slide over the image (Conv2d, Module 09), sharing their weights at every position, and
pooling keeps the strongest response of each patch. An MLP sees 64 unrelated numbers; the CNN
sees strokes and corners, wherever they are. Here: two conv-ReLU-pool blocks (16 and 32
filters, padding 1 so the 8x8 image shrinks only by pooling: 8x8 -> 4x4 -> 2x2), then one
Linear layer over the 32x2x2 features. About 6.1K parameters.

Each convolution runs as im2col + one matmul (``windows`` gathers the 3x3 patches, BLAS does
the arithmetic), and the backward pass is graph too (``fold`` scatters the patch gradients
back). TinyDigits ships with TinyTorch, so this runs offline in seconds.

Gate: test accuracy >= 95% (the book expects about 90%; milestone 03's MLP reaches that).

    python milestones/04_1998_cnn/01_lecun_tinydigits.py [--smoke] [--backend B]
"""

import sys

from tinytorch.core.activations import ReLU
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.spatial import Conv2d, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer
from tinytorch.data.datasets import load_tinydigits
from tinytorch.tito.contract import fit, gate, milestone_parser, start

GATE = 0.95


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 30 (smoke: 12)")
    parser.add_argument("--lr", type=float, default=0.01, help="peak learning rate (Adam)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=16, help="filters of the first conv")
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (12 if args.smoke else 30)

    X_train, y_train, X_test, y_test = load_tinydigits()
    X_train, X_test = X_train[:, None], X_test[:, None]  # (N, 1, 8, 8): one channel
    print(f"TinyDigits: {len(X_train)} training and {len(X_test)} test images of 1x8x8\n")
    c = args.channels
    model = Sequential(
        Conv2d(1, c, kernel_size=3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(c, 2 * c, kernel_size=3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(2 * c * 2 * 2, 10),
    )  # fmt: skip
    n_params = sum(p.size for p in model.parameters())
    print(f"Model: Conv 1->{c} 3x3 p1 -> ReLU -> MaxPool 2 -> Conv {c}->{2 * c} 3x3 p1 -> ReLU")
    print(f"       -> MaxPool 2 -> Flatten ({8 * c}) -> Linear {8 * c}->10")
    print(f"  {n_params:,} parameters")
    print(
        f"Training: CrossEntropyLoss, Adam with a cosine learning rate {args.lr} -> 0.0005, "
        f"batch {args.batch_size}, {epochs} epochs\n"
    )

    train = DataLoader(
        TensorDataset(Tensor(X_train), Tensor(y_train)),
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
    )
    test = DataLoader(TensorDataset(Tensor(X_test), Tensor(y_test)), batch_size=200)
    optimizer = Adam(model.parameters(), lr=args.lr)
    schedule = CosineSchedule(max_lr=args.lr, min_lr=0.0005, total_epochs=epochs)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule)
    acc = fit(trainer, train, test, epochs)

    _, train_acc = trainer.evaluate(DataLoader(train.dataset, batch_size=1000))
    print(f"\ntrain accuracy {train_acc:.1%}, test accuracy {acc:.1%} (book: about 90%)")
    return gate("TinyDigits test accuracy", acc, GATE)


if __name__ == "__main__":
    sys.exit(main())
