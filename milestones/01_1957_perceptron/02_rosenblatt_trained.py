"""Milestone 01, part 2: Rosenblatt's perceptron (1957) learns.

    Input (2 features) --> Linear --> Sigmoid --> Output (probability of class 1)

The same perceptron as part 1, now trained: binary cross-entropy measures how wrong its
probabilities are (Module 04), ``loss.backward()`` computes how each weight should move
(Module 05), SGD moves it (Module 06), and the Trainer and DataLoader run the epochs over
shuffled mini-batches (Modules 07-08). The data are linearly separable (two classes on either
side of a line), exactly what one perceptron can learn: within seconds the accuracy climbs
from chance to 95%+.

Gate: accuracy on held-out points >= 95%.

    python milestones/01_1957_perceptron/02_rosenblatt_trained.py [--smoke] [--backend B]
"""

import sys

import numpy as np

from tinytorch.core.activations import Sigmoid
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Trainer
from tinytorch.tito.contract import gate, milestone_parser, start
from tinytorch.util.progress import ProgressBar

GATE = 0.95


def make_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 2-D points in [-2, 2]^2, labelled by which side of a fixed line they fall on,
    with a margin around the line: linearly separable, about half of each class."""
    points, labels = [], []
    while len(points) < n:
        x = rng.uniform(-2.0, 2.0, size=2)
        side = x[0] - 0.7 * x[1] + 0.1
        if abs(side) > 0.15:
            points.append(x)
            labels.append(float(side > 0))
    return np.array(points, dtype=np.float32), np.array(labels, dtype=np.float32)


def loader(X: np.ndarray, y: np.ndarray, shuffle: bool, seed: int) -> DataLoader:
    dataset = TensorDataset(Tensor(X), Tensor(y.reshape(-1, 1)))  # targets shaped like outputs
    return DataLoader(dataset, batch_size=16, shuffle=shuffle, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (smoke: 8)")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (8 if args.smoke else 20)
    rng = np.random.default_rng(args.seed)
    X_train, y_train = make_points(200 if args.smoke else 800, rng)
    X_test, y_test = make_points(100 if args.smoke else 400, rng)
    print(f"Data: {len(X_train)} training and {len(X_test)} held-out points, 2 features\n")

    model = Sequential(Linear(2, 1), Sigmoid())
    n_params = sum(p.size for p in model.parameters())
    print(f"Model: {model}")
    print(f"  Linear 2 -> 1 + Sigmoid: {n_params} parameters")
    print(f"Training: BinaryCrossEntropyLoss, SGD(lr={args.lr}), batch 16, {epochs} epochs\n")

    trainer = Trainer(model, SGD(model.parameters(), lr=args.lr), BinaryCrossEntropyLoss())
    train_data = loader(X_train, y_train, shuffle=True, seed=args.seed)
    test_data = loader(X_test, y_test, shuffle=False, seed=args.seed)
    _, before = trainer.evaluate(test_data)
    print(f"before training: held-out accuracy {before:.1%}")
    bar = ProgressBar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        loss = trainer.train_epoch(train_data)
        _, acc = trainer.evaluate(test_data)
        bar.set(loss=loss, acc=acc)

    _, acc = trainer.evaluate(test_data)
    w = model[0].weight.data[:, 0]
    b = float(model[0].bias.data[0])
    print(f"\nlearned boundary: {w[0]:+.2f}*x1 {w[1]:+.2f}*x2 {b:+.2f} = 0")
    print("(the true line is 1.00*x1 -0.70*x2 +0.10 = 0, up to scale)")
    print(f"held-out accuracy: {before:.1%} -> {acc:.1%}")
    return gate("held-out accuracy", acc, GATE)


if __name__ == "__main__":
    sys.exit(main())
