"""The book's API, lazily: Tensor, activations, autograd. Nothing here computes; every op
checks its arguments, records the user's line and adds IR nodes."""
