"""Data (book Module 08): ``Dataset``/``DataLoader``, per-sample transforms, and the
milestones' datasets (``datasets/``: TinyDigits shipped, MNIST and CIFAR-10 downloaded with
checksums or read from a folder you fill). ``tinydigits.npz`` is package data here."""
