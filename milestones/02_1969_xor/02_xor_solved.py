"""Milestone 02, part 2: XOR solved (1986). A hidden layer bends the line.

    Input (2) --> Linear --> ReLU --> Linear --> Sigmoid --> Output      (2 layers: 100%)

The crisis of part 1 ends with one more layer. The hidden Linear + ReLU maps the four points
into a new space where they *are* linearly separable, and the output layer draws the line
there. What made this practical is backpropagation: ``loss.backward()`` sends the error back
through both layers, so the hidden layer learns its features too. Same data, same loss,
same optimizer as part 1; only the architecture changed.

Gate: 100% accuracy on the XOR truth table (and the loss falls towards 0).

    python milestones/02_1969_xor/02_xor_solved.py [--smoke] [--backend B]
"""

import sys

import numpy as np

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.data_loader import DataLoader, TensorDataset
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Trainer
from tinytorch.tito.contract import gate, milestone_parser, start
from tinytorch.util.progress import ProgressBar

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = milestone_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=None, help="default 500 (smoke: 300)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units (default 16)")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args(argv)
    start(args)
    epochs = args.epochs or (300 if args.smoke else 500)

    model = Sequential(Linear(2, args.hidden), ReLU(), Linear(args.hidden, 1), Sigmoid())
    n_params = sum(p.size for p in model.parameters())
    print("XOR truth table: (0,0)->0  (0,1)->1  (1,0)->1  (1,1)->0")
    print(f"Model: Linear 2 -> {args.hidden} + ReLU + Linear {args.hidden} -> 1 + Sigmoid")
    print(f"  {n_params} parameters in 2 layers")
    print(f"Training: BinaryCrossEntropyLoss, SGD(lr={args.lr}, momentum=0.9), {epochs} epochs\n")

    data = DataLoader(TensorDataset(Tensor(X), Tensor(Y)), batch_size=4)
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=0.9)
    trainer = Trainer(model, optimizer, BinaryCrossEntropyLoss())
    bar = ProgressBar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        trainer.train_epoch(data)
        loss, acc = trainer.evaluate(data)
        bar.set(loss=loss, acc=acc)

    loss, acc = trainer.evaluate(data)
    outputs = model(Tensor(X)).data[:, 0]
    print()
    for (a, b), target, p in zip(X.astype(int), Y[:, 0].astype(int), outputs, strict=True):
        print(f"  XOR({a}, {b}) = {target}   network says {p:.3f} -> {int(p > 0.5)}")
    print(f"\nloss {loss:.4f}, accuracy {acc:.0%}")
    if acc == 1.0:
        print("The hidden layer learned features in which XOR is linearly separable.")
    return gate("XOR accuracy", acc, 1.0)


if __name__ == "__main__":
    sys.exit(main())
