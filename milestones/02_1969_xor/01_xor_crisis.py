"""Milestone 02, part 1: the XOR crisis (1969). One layer cannot learn XOR.

    Input (2) --> Linear --> Sigmoid --> Output        (1 layer: FAILS)

XOR outputs 1 when exactly one input is 1: (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0. A single
Linear layer draws one straight line through the plane, and no line puts (0,1) and (1,0) on
one side with (0,0) and (1,1) on the other. Minsky and Papert proved this in 1969, and
funding for neural networks dried up for over a decade.

Train it anyway, with everything from Modules 01-06: the loss gets stuck at ln 2 = 0.693
(the model learns to answer 0.5 to everything) and the accuracy stays near 50%; the best
any line can do is 3 of 4 (75%).

Gate (this script demonstrates a *failure*): after training, accuracy <= 75% and the loss
is still stuck above 0.6.

    python milestones/02_1969_xor/01_xor_crisis.py [--smoke] [--backend B]
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
from tinytorch.tito.contract import finish, milestone_parser, start
from tinytorch.util.progress import ProgressBar

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 1000 (smoke: 300)")
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (300 if args.smoke else 1000)

    model = Sequential(Linear(2, 1), Sigmoid())
    n_params = sum(p.size for p in model.parameters())
    print("XOR truth table: (0,0)->0  (0,1)->1  (1,0)->1  (1,1)->0")
    print(f"Model: Linear 2 -> 1 + Sigmoid, {n_params} parameters (a single layer)")
    print(f"Training: BinaryCrossEntropyLoss, SGD(lr={args.lr}), all 4 points, {epochs} epochs\n")

    data = DataLoader(TensorDataset(Tensor(X), Tensor(Y)), batch_size=4)
    trainer = Trainer(model, SGD(model.parameters(), lr=args.lr), BinaryCrossEntropyLoss())
    bar = ProgressBar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        trainer.train_epoch(data)
        loss, acc = trainer.evaluate(data)
        bar.set(loss=loss, acc=acc)

    loss, acc = trainer.evaluate(data)
    outputs = model(Tensor(X)).data[:, 0]
    print()
    for (a, b), target, p in zip(X.astype(int), Y[:, 0].astype(int), outputs, strict=True):
        print(f"  XOR({a}, {b}) = {target}   perceptron says {p:.3f} -> {int(p > 0.5)}")
    print(f"\nloss {loss:.3f} (ln 2 = {np.log(2):.3f}: no better than a coin), accuracy {acc:.0%}")
    print("One straight line cannot separate XOR. Part 2 adds a hidden layer.")
    stuck = acc <= 0.75 and loss > 0.6
    return finish(
        stuck,
        f"the single layer cannot learn XOR: accuracy {acc:.0%} <= 75%, loss {loss:.3f} > 0.6"
        if stuck
        else f"a single layer was not expected to solve XOR: accuracy {acc:.0%}, loss {loss:.3f}",
    )


if __name__ == "__main__":
    sys.exit(main())
