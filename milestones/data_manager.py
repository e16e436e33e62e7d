"""The milestones' download utilities (the book: "See milestones/data_manager.py").

The datasets that do not ship with TinyTorch are cached under ``milestones/datasets/``, in
the folders the book names:

    milestones/datasets/mnist/       the four MNIST IDX files      (milestone 03, part 2)
    milestones/datasets/cifar-10/    cifar-10-python.tar.gz        (milestone 04, part 2)
    milestones/datasets/tinytalks/   tinytalks_v1.txt              (milestone 05, parts 1-2)

Each is fetched from its official source and checked against a pinned SHA-256 before it is
kept (the loaders in ``tinytorch.data.datasets`` do the work); a file already there is used
as it is. Offline, nothing is fetched: the message says which files to put in which folder.
TinyDigits ships inside the package and needs nothing.

    python milestones/data_manager.py                  # what is here, what is missing
    python milestones/data_manager.py all              # fetch whatever is missing
    python milestones/data_manager.py mnist cifar-10   # fetch (needs the network)
    python milestones/data_manager.py all --no-download --data-dir DIR   # check DIR/<name>

The milestone scripts call the same loaders, so a dataset fetched here is found there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinytorch.data.datasets import (
    DatasetNotFoundError,
    load_cifar10,
    load_mnist,
    load_tinytalks,
)
from tinytorch.util.flags import env_path

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
LOADERS: dict[str, Callable[..., Any]] = {
    "mnist": load_mnist,
    "cifar-10": load_cifar10,
    "tinytalks": load_tinytalks,
}


def dataset_dir(name: str, root: str | Path | None = None) -> Path:
    """Where dataset ``name`` is cached: ``<root>/<name>`` when a root is given, else
    ``$TINYTORCH_DATA_DIR/<name>`` when that is set, else ``milestones/datasets/<name>``
    (the milestone scripts look in the same places)."""
    return (
        Path(root) if root is not None else env_path("TINYTORCH_DATA_DIR") or DATASETS_DIR
    ) / name


def ensure(name: str, root: str | Path | None = None, download: bool = True) -> Path:
    """Make dataset ``name`` available (downloading it if allowed); return its folder.
    Raises ``DatasetNotFoundError`` saying what to put where when it cannot."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(LOADERS)}")
    directory = dataset_dir(name, root)
    LOADERS[name](directory, download=download)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"{', '.join(LOADERS)} or all (none: only report)")
    parser.add_argument("--data-dir", default=None, help="instead of milestones/datasets/")
    parser.add_argument("--no-download", action="store_true", help="only check what is here")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in (*LOADERS, "all"):
            parser.error(f"unknown dataset {name!r}; known: {', '.join(LOADERS)}, all")
    names = list(LOADERS) if not args.names or "all" in args.names else args.names
    download = bool(args.names) and not args.no_download  # a bare call only reports
    missing = 0
    for name in names:
        try:
            directory = ensure(name, args.data_dir, download=download)
            print(f"{name}: ready in {directory}")
        except DatasetNotFoundError as exc:
            missing += 1
            print(f"{name}: {exc}\n")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
