"""Small leaf helpers that import nothing of tinytorch, so every layer may use them.

- ``flags``: the one reader of ``TINYTORCH_*`` environment variables (and the cache folder).
- ``lru``: a bounded least-recently-used map (compiled plans, kernels).
- ``progress``: the training progress bar (a line per update in logs, a bar on a terminal).
"""
