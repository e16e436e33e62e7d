"""Milestone 03, part 1: the MLP revival (1986) on TinyDigits, 8x8 handwritten digits.

    Images (8x8) --> Flatten --> Linear --> ReLU --> Linear --> ReLU --> Linear --> 10 classes

Rumelhart, Hinton and Williams showed in 1986 that backpropagation trains networks with
hidden layers, and multi-layer perceptrons (MLPs) came back. Here one reads handwritten
digits: every image is flattened to 64 numbers, two hidden layers of 24 ReLU units build
features, and the last layer scores the 10 digits. CrossEntropyLoss (Module 04) turns the
scores into a loss, autograd (05) and SGD with momentum (06) learn from it, the Trainer (07)
runs the epochs with a cosine learning-rate schedule, and the DataLoader (08) serves
shuffled mini-batches. About 2.4K parameters.

TinyDigits ships with TinyTorch (1,000 training and 200 test images), so this runs offline
in seconds. The book expects 75-85%; a correct framework does better.

Gate: test accuracy >= 90%.

    python milestones/03_1986_mlp/01_rumelhart_tinydigits.py [--smoke] [--backend B]
"""

import sys

from tinytorch.core.activations import ReLU
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer
from tinytorch.data.datasets import load_tinydigits
from tinytorch.tito.contract import fit, gate, milestone_parser, start

GATE = 0.90


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 30 (smoke: 10)")
    parser.add_argument("--hidden", type=int, default=24, help="units per hidden layer")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (10 if args.smoke else 30)

    X_train, y_train, X_test, y_test = load_tinydigits()
    print(f"TinyDigits: {len(X_train)} training and {len(X_test)} test images of 8x8 pixels\n")
    h = args.hidden
    model = Sequential(Flatten(), Linear(64, h), ReLU(), Linear(h, h), ReLU(), Linear(h, 10))
    n_params = sum(p.size for p in model.parameters())
    print(f"Model: Flatten -> Linear 64->{h} -> ReLU -> Linear {h}->{h} -> ReLU -> Linear {h}->10")
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
    test = DataLoader(TensorDataset(Tensor(X_test), Tensor(y_test)), batch_size=200)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9)
    schedule = CosineSchedule(max_lr=args.lr, min_lr=0.001, total_epochs=epochs)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule)
    acc = fit(trainer, train, test, epochs)

    _, train_acc = trainer.evaluate(DataLoader(train.dataset, batch_size=1000))
    print(f"\ntrain accuracy {train_acc:.1%}, test accuracy {acc:.1%} (book: 75-85%)")
    return gate("TinyDigits test accuracy", acc, GATE)


if __name__ == "__main__":
    sys.exit(main())
