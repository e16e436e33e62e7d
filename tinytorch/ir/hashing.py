"""Stable structural hashes: equal for graphs of equal structure, across processes.

Python's ``hash()`` is salted per process, so on-disk caches and dump-folder names use a
SHA-256 of the signature's ``repr`` (deterministic: attrs are sorted, values are plain
Python scalars and tuples)."""

from __future__ import annotations

import hashlib

from tinytorch.ir.graph import Graph


def hash_signature(signature: tuple) -> str:
    return hashlib.sha256(repr(signature).encode()).hexdigest()


def structural_hash(graph: Graph) -> str:
    return hash_signature(graph.signature)
