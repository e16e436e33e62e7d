"""Milestone 03, part 2: the MLP revival (1986) on MNIST, 28x28 handwritten digits.

    Images (28x28) --> Flatten --> Linear --> ReLU --> Linear --> ReLU --> Linear --> 10 classes

The same network as part 1, grown for the real benchmark: 784 pixels in, hidden layers of
128 and 64 ReLU units, about 100K parameters, trained on 60,000 images and tested on 10,000.
An MLP like this reaches 95%+, the result that made backpropagation famous.

MNIST is not shipped (about 11 MB). The script looks for its four IDX files in
``milestones/datasets/mnist/`` (or ``--data-dir DIR``, or ``$TINYTORCH_DATA_DIR/mnist``) and,
in full mode, downloads the missing ones with checksum verification. Offline and without the
files it reports SKIPPED (exit code 3) and says which files to put where. ``--smoke`` never
downloads; with the files present it trains on a 10K subset for 2 epochs.

Gate: test accuracy >= 95% (smoke: >= 90% on a 2K test subset).

    python milestones/03_1986_mlp/02_rumelhart_mnist.py [--smoke] [--data-dir DIR] [--backend B]
"""

import sys

from tinytorch.core.activations import ReLU
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer
from tinytorch.data.datasets import DatasetNotFoundError, load_mnist
from tinytorch.tito.contract import dataset_dir, fit, gate, milestone_parser, skip, start

GATE, SMOKE_GATE = 0.95, 0.90


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--data-dir", default=None, help="a directory holding the 4 MNIST files")
    parser.add_argument("--no-download", action="store_true", help="use only files on disk")
    parser.add_argument("--epochs", type=int, default=None, help="default 8 (smoke: 2)")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (2 if args.smoke else 8)

    try:
        X_train, y_train, X_test, y_test = load_mnist(
            dataset_dir(args, "mnist"), download=not (args.smoke or args.no_download)
        )
    except DatasetNotFoundError as exc:
        print(exc)
        return skip(str(exc).splitlines()[0])
    if args.smoke:
        X_train, y_train = X_train[:10_000], y_train[:10_000]
        X_test, y_test = X_test[:2_000], y_test[:2_000]
    side = X_train.shape[1] * X_train.shape[2]
    print(f"MNIST: {len(X_train):,} training and {len(X_test):,} test images of 28x28 pixels\n")

    model = Sequential(
        Flatten(), Linear(side, 128), ReLU(), Linear(128, 64), ReLU(), Linear(64, 10)
    )
    n_params = sum(p.size for p in model.parameters())
    print(
        f"Model: Flatten -> Linear {side}->128 -> ReLU -> Linear 128->64 -> ReLU -> Linear 64->10"
    )
    print(f"  {n_params:,} parameters")
    print(
        f"Training: CrossEntropyLoss, SGD(momentum=0.9) with a cosine learning rate "
        f"{args.lr} -> 0.001, batch {args.batch_size}, {epochs} epochs\n"
    )

    train = DataLoader(
        TensorDataset(Tensor(X_train), Tensor(y_train)),
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
    )
    test = DataLoader(TensorDataset(Tensor(X_test), Tensor(y_test)), batch_size=1000)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9)
    schedule = CosineSchedule(max_lr=args.lr, min_lr=0.001, total_epochs=epochs)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule)
    acc = fit(trainer, train, test, epochs)

    print(f"\ntest accuracy {acc:.2%} (book: 94-97%)")
    return gate("MNIST test accuracy", acc, SMOKE_GATE if args.smoke else GATE)


if __name__ == "__main__":
    sys.exit(main())
