"""Training (book Module 07): the ``Trainer`` loop and checkpoints (``.npz`` arrays plus
JSON metadata, written atomically, never pickled)."""
