"""Milestone 01, part 1: Rosenblatt's perceptron (1957), before it learns anything.

    Input (2 features) --> Linear --> Sigmoid --> Output (probability of class 1)

The perceptron is one Linear layer (Module 03) followed by a Sigmoid (Module 02): a weighted
sum of the inputs, squashed into a probability. Here it only runs *forward*, with the random
weights it was born with: no backward(), no optimizer. So it guesses, and on a balanced
dataset guessing scores about 50%. A single random perceptron may land anywhere (it draws
one random line through the plane), so the script also averages many of them: that average
is chance.

Gate: the forward pass produces an (N, 1) column of probabilities in [0, 1], and the
average accuracy of untrained perceptrons is chance level (between 30% and 70%).

    python milestones/01_1957_perceptron/01_rosenblatt_forward.py [--smoke] [--backend B]
"""

import sys

import numpy as np

from tinytorch.core.activations import Sigmoid
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor
from tinytorch.tito.contract import finish, milestone_parser, start


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


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean((probabilities[:, 0] > 0.5) == (labels > 0.5)))


def main(argv: list[str] | None = None) -> int:
    args = milestone_parser(__doc__).parse_args(argv)
    start(args)
    rng = np.random.default_rng(args.seed)
    X, y = make_points(100 if args.smoke else 400, rng)
    print(f"Data: {len(X)} points with 2 features, {int(y.sum())} of class 1\n")

    print("Assembling perceptron with YOUR TinyTorch modules...")
    linear, sigmoid = Linear(2, 1), Sigmoid()
    n_params = sum(p.size for p in linear.parameters())
    print("  * Linear layer: 2 -> 1 (YOUR Module 03!)")
    print("  * Activation: Sigmoid (YOUR Module 02!)")
    print(f"  * Parameters: {n_params} (2 weights + 1 bias)\n")

    probabilities = sigmoid(linear(Tensor(X))).data  # the graph is realized here
    single = accuracy(probabilities, y)
    print(
        f"Output: {probabilities.shape} probabilities, first five {probabilities[:5, 0].round(3)}"
    )
    print(f"Accuracy of this untrained perceptron: {single:.1%}")

    trials = 50 if args.smoke else 200
    average = float(
        np.mean([accuracy(Sigmoid()(Linear(2, 1)(Tensor(X))).data, y) for _ in range(trials)])
    )
    print(f"Average over {trials} untrained perceptrons: {average:.1%} (random guessing: ~50%)")
    print("Without learning, the weights are a random guess. Part 2 trains them.")

    valid = probabilities.shape == (len(X), 1) and bool(
        np.all((probabilities >= 0) & (probabilities <= 1))
    )
    return finish(
        valid and 0.3 <= average <= 0.7,
        f"forward pass gives {probabilities.shape} probabilities; untrained accuracy "
        f"{average:.1%} is chance (30%-70%)",
    )


if __name__ == "__main__":
    sys.exit(main())
