"""The package's rooms, and which way knowledge flows between them.

    util  <-  ir  <-  passes, backends  <-  runtime  <-  frontend  <-  nn, optim, data
          <-  train  <-  perf  <-  benchmarking  <-  olympics  <-  tito;
    core/ (the book's paths) re-exports from any of them

A room may import only the rooms listed for it in ``ALLOWED`` (``ir`` knows nothing above
it; ``passes`` and ``backends`` know only ``ir``; the runtime drives passes and backends;
the frontend sits on the runtime; the book's layers, optimizers and data sit on the
frontend). Function-level imports count too; imports under ``if TYPE_CHECKING:`` do not
(they never run). On top of the direction of rooms, no two modules may import each other,
directly or around a loop: every module can be read knowing only the modules it imports.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinytorch"

_BASE = {"util"}
_IR = _BASE | {"ir"}
_COMPILER = _IR | {"passes", "backends"}
_RUNTIME = _COMPILER | {"runtime"}
_FRONTEND = _RUNTIME | {"frontend"}
_BOOK = _FRONTEND | {"nn", "optim", "data"}
_TRAIN = _BOOK | {"train"}
_PERF = _TRAIN | {"perf"}
_BENCHMARKING = _PERF | {"benchmarking"}
_OLYMPICS = _BENCHMARKING | {"olympics"}

# Every room, including the ones the rest of the book will fill (a room that does not exist
# yet is listed so that its place is decided before its first file is written).
ALLOWED: dict[str, set[str]] = {
    "util": set(),
    "ir": _BASE,
    "passes": _IR,
    "backends": _IR,
    "runtime": _COMPILER,
    "frontend": _RUNTIME,
    "nn": _FRONTEND,
    "optim": _FRONTEND,
    "data": _FRONTEND,
    "train": _BOOK,
    "perf": _TRAIN,
    "benchmarking": _PERF,  # Module 19, at the book's path tinytorch.benchmarking
    "olympics": _BENCHMARKING,  # Module 20, at the book's path tinytorch.olympics
    "tito": _OLYMPICS | {"core"},
    "core": _PERF,  # the book's import paths: re-exports only
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import statements inside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def _imports(path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """(imported tinytorch module, line) for every import in ``path`` that runs.

    ``from tinytorch.a import b`` imports the module ``tinytorch.a.b`` when there is one,
    else the package ``tinytorch.a`` (which defines ``b``)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in modules else base, node.lineno))
    return [(m, line) for m, line in found if m.startswith("tinytorch.") and m in modules]


def _all_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_only_downward(room):
    """No module of ``room`` imports a room it must not know about."""
    modules = _all_modules()
    bad = []
    for name, path in modules.items():
        if _room(name) != room:
            continue
        for imported, line in _imports(path, set(modules)):
            target = _room(imported)
            if target is not None and target != room and target not in ALLOWED[room]:
                bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {imported}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_every_room_is_placed():
    """A new subpackage must be placed in the layering before it can exist."""
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms <= set(ALLOWED), f"unplaced rooms: {rooms - set(ALLOWED)}"


def test_no_import_cycles():
    """The module import graph is acyclic (function-level imports included)."""
    modules = _all_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for imported, _ in _imports(path, set(modules)):
            if imported != name:
                graph.add_edge(name, imported)
    cycles = sorted(nx.simple_cycles(graph), key=len)[:10]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles)


def test_cycle_finder_sees_a_cycle(tmp_path, monkeypatch):
    """The checker itself works: two modules importing each other are found."""
    pkg = tmp_path / "tinytorch" / "nn"
    pkg.mkdir(parents=True)
    (tmp_path / "tinytorch" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from tinytorch.nn.b import g\n")
    (pkg / "b.py").write_text("from tinytorch.nn import a\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "tinytorch")
    with pytest.raises(AssertionError, match="tinytorch.nn.a -> tinytorch.nn.b|nn.b -> "):
        test_no_import_cycles()
