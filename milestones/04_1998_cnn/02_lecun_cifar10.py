"""Milestone 04, part 2: a CNN on CIFAR-10, 32x32 colour photos of 10 kinds of object.

    Image (3x32x32) --> [Conv 3x3 -> BatchNorm -> ReLU] x2 --> MaxPool 2      (16 filters)
                    --> [Conv 3x3 -> BatchNorm -> ReLU] x2 --> MaxPool 2      (32 filters)
                    --> [Conv 3x3 -> BatchNorm -> ReLU]    --> MaxPool 2      (64 filters)
                    --> Flatten --> Linear --> 10 classes

Digits are easy; photos of planes, cats and trucks are not: an MLP stalls near 50%. A CNN
with a few stacked conv blocks learns edges, then textures, then object parts, and passes
70%. BatchNorm2d keeps the activations of every channel normalised, so the deeper stack
trains with a large learning rate; the standard augmentations (RandomCrop(32, padding=4),
RandomHorizontalFlip) show each image slightly shifted or mirrored every epoch. About 46K
parameters: small enough to train on a CPU core in the full mode's 10 epochs. (The book's
"deeper CNN" has about 1M parameters and takes 30-60 minutes; the three conv stages it
describes are kept, with fewer filters.)

CIFAR-10 is not shipped (about 163 MB). The script looks for ``cifar-10-python.tar.gz`` (or
its extracted ``cifar-10-batches-py/``) in ``milestones/datasets/cifar-10/`` (or
``--data-dir DIR``, or ``$TINYTORCH_DATA_DIR/cifar-10``) and, in full mode, downloads it with
checksum verification. Offline and without the files it reports SKIPPED (exit code 3) and
says what to put where. ``--smoke`` never downloads; with the files present it trains on a
5K subset for 2 epochs.

Gate: test accuracy >= 70% (smoke: >= 35% on a 1K test subset).

    python milestones/04_1998_cnn/02_lecun_cifar10.py [--smoke] [--data-dir DIR] [--backend B]
"""

import sys

from tinytorch.core.activations import ReLU
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Flatten, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.spatial import BatchNorm2d, Conv2d, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer
from tinytorch.data.datasets import DatasetNotFoundError, load_cifar10
from tinytorch.data.transforms import Compose, RandomCrop, RandomHorizontalFlip
from tinytorch.tito.contract import dataset_dir, fit, gate, milestone_parser, skip, start

GATE, SMOKE_GATE = 0.70, 0.35


def block(c_in: int, c_out: int) -> list:
    return [Conv2d(c_in, c_out, 3, padding=1, bias=False), BatchNorm2d(c_out), ReLU()]


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--data-dir", default=None, help="a directory holding CIFAR-10")
    parser.add_argument("--no-download", action="store_true", help="use only files on disk")
    parser.add_argument("--epochs", type=int, default=None, help="default 10 (smoke: 2)")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (2 if args.smoke else 10)

    try:
        X_train, y_train, X_test, y_test = load_cifar10(
            dataset_dir(args, "cifar-10"), download=not (args.smoke or args.no_download)
        )
    except DatasetNotFoundError as exc:
        print(exc)
        return skip(str(exc).splitlines()[0])
    if args.smoke:
        X_train, y_train = X_train[:5_000], y_train[:5_000]
        X_test, y_test = X_test[:1_000], y_test[:1_000]
    print(f"CIFAR-10: {len(X_train):,} training and {len(X_test):,} test images of 3x32x32\n")

    model = Sequential(
        *block(3, 16), *block(16, 16), MaxPool2d(2),
        *block(16, 32), *block(32, 32), MaxPool2d(2),
        *block(32, 64), MaxPool2d(2),
        Flatten(), Linear(64 * 4 * 4, 10),
    )  # fmt: skip
    n_params = sum(p.size for p in model.parameters())
    print("Model: [Conv-BN-ReLU x2 (16) -> MaxPool] -> [Conv-BN-ReLU x2 (32) -> MaxPool]")
    print("       -> [Conv-BN-ReLU (64) -> MaxPool] -> Flatten (1024) -> Linear 1024->10")
    print(f"  {n_params:,} parameters")
    print(
        f"Training: CrossEntropyLoss, SGD(momentum=0.9, weight_decay=5e-4) with a cosine "
        f"learning rate {args.lr} -> 0.001, batch {args.batch_size}, {epochs} epochs, "
        "RandomCrop(32, padding=4) + RandomHorizontalFlip\n"
    )

    augment = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])
    train = DataLoader(
        TensorDataset(Tensor(X_train), Tensor(y_train)),
        batch_size=args.batch_size,
        shuffle=True,
        seed=args.seed,
        transform=augment,
    )
    test = DataLoader(TensorDataset(Tensor(X_test), Tensor(y_test)), batch_size=500)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    schedule = CosineSchedule(max_lr=args.lr, min_lr=0.001, total_epochs=epochs)
    trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule)
    acc = fit(trainer, train, test, epochs)

    print(f"\ntest accuracy {acc:.2%}")
    return gate("CIFAR-10 test accuracy", acc, SMOKE_GATE if args.smoke else GATE)


if __name__ == "__main__":
    sys.exit(main())
