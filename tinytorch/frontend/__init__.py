"""The lazy Tensor and what it is made of: the op functions (``functional``), autograd as a
graph transform, indexing, dtype rules, the user's source line, and graph inspection.

Nothing here computes: every op checks its arguments, records the user's line and adds IR
nodes; the runtime realizes them when a value is read. Layers, losses, optimizers and data
sit on top of this package (``nn/``, ``optim/``, ``data/``, ``train/``)."""
