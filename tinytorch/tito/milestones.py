"""The book's milestone table: which milestones exist, what they are called, what they need.

The book defines six milestones (:data:`BOOK`: title, modules, data, the names people call
them by). Which of them exist here is read from disk: a folder ``NN_YYYY_name/`` under
:func:`milestones_root` holding scripts, run in file-name order (names starting with ``_``
are helpers, not scripts). :func:`resolve` turns what a user types (``01``, ``1``, ``1957``,
``perceptron``, ``rosenblatt``, the folder's name or ``all``) into milestones, and
:func:`book_imports` lists the ``tinytorch.core`` modules a milestone's scripts import,
in the book's module order.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from tinytorch.util.flags import env_path

# The folder that holds the ``tinytorch`` package: the checkout, in a development install.
CHECKOUT = Path(__file__).resolve().parents[2]
FOLDER = re.compile(r"^(\d\d)_(\d{4})_([a-z0-9_]+)$")
# The book's modules in order (Module 01 tensor ... 08 data_loader ...).
CORE_ORDER = [
    "tensor",
    "activations",
    "layers",
    "losses",
    "autograd",
    "optimizers",
    "training",
    "data_loader",
    "spatial",
    "tokenization",
    "embeddings",
    "attention",
    "transformer",
]


@dataclass(frozen=True)
class Info:
    """What the book says about a milestone (spec: milestones_cli_datasets.md §1, §4.2).

    ``name`` and ``subtitle`` are what ``tito milestone run`` prints in its boxes
    ("Milestone 01: Perceptron (1957)" / "Frank Rosenblatt's First Neural Network", book
    §3.4); ``special`` are the "What makes this special" lines of the achievement box."""

    title: str
    modules: str
    data: str
    aliases: tuple[str, ...] = ()
    name: str = ""
    subtitle: str = ""
    special: tuple[str, ...] = ()


# Names: the book's §3.5 table calls milestones ``perceptron``, ``backprop`` (1986),
# ``lenet`` (1989), ``alexnet`` (2012), ``transformer`` and ``mlperf``; its chapters
# (§24-30) number six milestones 01-06 with other names (XOR, MLP, CNN). The two lists
# disagree, so every name of both is accepted: ``backprop`` is the 1986 MLP milestone (03),
# and ``lenet`` and ``alexnet`` are both the CNN milestone (04), whose CIFAR-10 script is
# the AlexNet-era result. The chapters' numbering and prerequisites are the ones used.
BOOK = {
    1: Info(
        "Perceptron: Rosenblatt's first neural network",
        "01-04 (trained: 05-07)",
        "none (synthetic 2-D points)",
        ("perceptron", "rosenblatt"),
        "Perceptron",
        "Frank Rosenblatt's First Neural Network",
        (
            "Every tensor operation: YOUR Tensor class",
            "Every layer: YOUR Linear implementation",
            "Every activation: YOUR Sigmoid function",
        ),
    ),
    2: Info(
        "XOR crisis: why one layer is not enough",
        "01-06",
        "none (the XOR truth table)",
        ("xor", "minsky"),
        "XOR Crisis",
        "Minsky and Papert's Limit, Broken by a Hidden Layer",
        (
            "Every layer: YOUR Linear implementation",
            "Every gradient: YOUR autograd",
            "Every update: YOUR SGD optimizer",
        ),
    ),
    3: Info(
        "MLP revival: backpropagation on handwritten digits",
        "01-08",
        "TinyDigits (shipped); MNIST (4 IDX files, downloaded to milestones/datasets/mnist/)",
        ("mlp", "backprop", "rumelhart"),
        "MLP Revival",
        "Rumelhart, Hinton and Williams' Backpropagation",
        (
            "Every gradient: YOUR backward()",
            "Every loss: YOUR CrossEntropyLoss",
            "Every batch: YOUR DataLoader",
        ),
    ),
    4: Info(
        "CNN revolution: convolutions see shapes, wherever they are",
        "01-09",
        "TinyDigits (shipped); CIFAR-10 (python batches, downloaded to "
        "milestones/datasets/cifar-10/)",
        ("cnn", "lenet", "alexnet", "lecun"),
        "CNN Revolution",
        "Yann LeCun's Convolutional Networks",
        (
            "Every convolution: YOUR Conv2d",
            "Every pooling step: YOUR MaxPool2d",
            "Every batch: YOUR DataLoader",
        ),
    ),
    5: Info(
        "Transformer era: attention, GPT, questions answered",
        "01-13",
        "none (part 0); TinyTalks (downloaded to milestones/datasets/tinytalks/; smoke: a "
        "generated Q&A corpus)",
        ("transformer", "vaswani", "gpt"),
        "Transformer Era",
        "Vaswani et al.'s Attention Is All You Need",
        (
            "Every token: YOUR CharTokenizer",
            "Every attention head: YOUR MultiHeadAttention",
            "Every block: YOUR TransformerBlock and LayerNorm",
        ),
    ),
    6: Info(
        "MLPerf: optimization olympics, smaller and faster models",
        "01-18 (profiling 14, quantization 15, compression 16, KV cache 17)",
        "TinyDigits (shipped) for part 1; a generated Q&A corpus for part 2",
        ("mlperf", "olympics", "optimization"),
        "MLPerf",
        "The Optimization Era",
        (
            "Every measurement: YOUR Profiler",
            "Every smaller model: YOUR quantization and pruning",
            "Every faster token: YOUR KV cache",
        ),
    ),
}


# The last module each milestone's chapter header requires (Prerequisites: Modules 01-NN):
# what ``tito milestone run`` checks before running anything.
REQUIRES = {1: 4, 2: 6, 3: 8, 4: 9, 5: 13, 6: 18}


@dataclass
class Milestone:
    """One milestone folder found on disk, with its scripts in run order."""

    number: int
    year: int
    name: str  # the folder's last part: perceptron, xor, mlp, ...
    folder: Path
    scripts: list[Path] = field(default_factory=list)

    @property
    def info(self) -> Info:
        return BOOK.get(self.number, Info(self.name, "n/s", "n/s"))

    @property
    def requires(self) -> int:
        """The book's prerequisite: modules 01 to this number (0: none known)."""
        return REQUIRES.get(self.number, 0)

    @property
    def title(self) -> str:
        """``Milestone 01: Perceptron (1957)``, as the book's runner names it."""
        return f"Milestone {self.number:02d}: {self.info.name or self.name} ({self.year})"

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name} ({self.year})"

    def names(self) -> set[str]:
        """Every name ``tito milestone run`` accepts for this milestone."""
        return {
            f"{self.number:02d}",
            str(self.number),
            str(self.year),
            self.name,
            self.folder.name,
            *self.info.aliases,
        }


def milestones_root() -> Path:
    """``$TINYTORCH_MILESTONES``, else the checkout's ``milestones/``, else ``./milestones``."""
    explicit = env_path("TINYTORCH_MILESTONES")
    if explicit is not None:
        return explicit
    beside_package = CHECKOUT / "milestones"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "milestones"


def discover(root: Path | None = None) -> list[Milestone]:
    """The milestone folders that exist, in order, each with its scripts in run order."""
    root = root if root is not None else milestones_root()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        m = FOLDER.match(folder.name)
        if not (m and folder.is_dir()):
            continue
        scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
        if scripts:
            found.append(Milestone(int(m[1]), int(m[2]), m[3], folder, scripts))
    return found


def resolve(name: str, milestones: list[Milestone]) -> list[Milestone]:
    """``all``, a number (``01``, ``1``), a name (``perceptron``) or a folder name."""
    key = name.strip().lower()
    if key == "all":
        return milestones
    chosen = [m for m in milestones if key in m.names()]
    if not chosen:
        known = ", ".join(
            f"{m.number:02d}/{m.name}" + "".join(f"/{a}" for a in m.info.aliases if a != m.name)
            for m in milestones
        )
        raise SystemExit(
            f"tito: unknown milestone {name!r}. Known: {known or '(none found)'}, or 'all'."
        )
    return chosen


def book_imports(m: Milestone) -> list[str]:
    """The ``tinytorch.core.*`` modules the milestone's scripts import, in module order."""
    found: set[str] = set()
    for script in m.scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "tinytorch.core."
            ):
                found.add(node.module)
    order = [f"tinytorch.core.{name}" for name in CORE_ORDER]
    return sorted(found, key=lambda mod: (order.index(mod) if mod in order else len(order), mod))
