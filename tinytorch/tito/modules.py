"""The book's 20 modules: number, name, and the import path that holds each one here.

In the book a learner writes each module in a notebook (``modules/01_tensor/01_tensor.ipynb``)
and ``tito module complete 01`` exports it into the package. In this framework every module
is already written: a module is "completed" when its book import path imports
(``from tinytorch.core.tensor import Tensor``). :data:`MODULES` is the table behind
``tito module status``, the prerequisite check of ``tito milestone run`` (the modules a
milestone's chapter header lists: 01-04 for the perceptron ... 01-18 for MLPerf) and the
import lines ``tito milestone run`` prints ("Tensor import successful").
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    number: int
    name: str  # the book's chapter name: "Tensor", "DataLoader", ...
    path: str  # the book's import path

    @property
    def label(self) -> str:
        return f"Module {self.number:02d}: {self.name}"

    @property
    def folder(self) -> str:
        """The book's notebook folder, ``modules/01_tensor``."""
        return f"modules/{self.number:02d}_{self.name.lower()}"


MODULES = (
    Module(1, "Tensor", "tinytorch.core.tensor"),
    Module(2, "Activations", "tinytorch.core.activations"),
    Module(3, "Layers", "tinytorch.core.layers"),
    Module(4, "Losses", "tinytorch.core.losses"),
    Module(5, "Autograd", "tinytorch.core.autograd"),
    Module(6, "Optimizers", "tinytorch.core.optimizers"),
    Module(7, "Training", "tinytorch.core.training"),
    Module(8, "DataLoader", "tinytorch.core.data_loader"),
    Module(9, "Spatial", "tinytorch.core.spatial"),
    Module(10, "Tokenization", "tinytorch.core.tokenization"),
    Module(11, "Embeddings", "tinytorch.core.embeddings"),
    Module(12, "Attention", "tinytorch.core.attention"),
    Module(13, "Transformers", "tinytorch.core.transformer"),
    Module(14, "Profiling", "tinytorch.perf.profiling"),
    Module(15, "Quantization", "tinytorch.perf.quantization"),
    Module(16, "Compression", "tinytorch.perf.compression"),
    Module(17, "Memoization", "tinytorch.perf.memoization"),
    Module(18, "Acceleration", "tinytorch.perf.acceleration"),
    Module(19, "Benchmarking", "tinytorch.benchmarking"),
    Module(20, "Capstone", "tinytorch.olympics"),
)
BY_PATH = {m.path: m for m in MODULES}


def find_module(key: str) -> Module:
    """``01``, ``1`` or a name (``tensor``) -> the module; ``SystemExit`` listing them."""
    text = key.strip().lower()
    for m in MODULES:
        if text in (f"{m.number:02d}", str(m.number), m.name.lower()):
            return m
    raise SystemExit(f"tito: unknown module {key!r}; modules are 01-20 (01 Tensor ... 20 Capstone)")


def display_name(path: str) -> str:
    """``tinytorch.core.data_loader`` -> ``DataLoader``; unknown paths: their last part."""
    return BY_PATH[path].name if path in BY_PATH else path.rsplit(".", 1)[-1]


def import_error(m: Module) -> str | None:
    """``None`` when the module's import path imports, else ``"TypeName: message"``."""
    try:
        importlib.import_module(m.path)
    except Exception as exc:  # a learner's module may fail in any way
        return f"{type(exc).__name__}: {exc}"
    return None


__all__ = ["MODULES", "Module", "display_name", "find_module", "import_error"]
