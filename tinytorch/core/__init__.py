"""The book's import paths (``tinytorch.core.tensor`` ...). Each module re-exports the one
implementation that lives in ``tinytorch.frontend``."""
