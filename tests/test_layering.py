"""Each layer imports only the layers below it.

    frontend / core  ->  runtime  ->  passes, backends  ->  ir

(``ir`` knows nothing above it; ``passes`` and ``backends`` know only ``ir``; the runtime
drives passes and backends; the frontend sits on top.) Function-level imports count too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinytorch"

ALLOWED = {
    "util": {"util"},
    "ir": {"util", "ir"},
    "passes": {"util", "ir", "passes"},
    "backends": {"util", "ir", "backends"},
    "runtime": {"util", "ir", "passes", "backends", "runtime"},
    "frontend": {"util", "ir", "passes", "backends", "runtime", "frontend"},
    "core": {"frontend", "core"},
}


def _imported_layers(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tinytorch" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_downward(layer):
    """No module of ``layer`` imports a layer it must not know about."""
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for imported, line in _imported_layers(path):
            if imported not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(PACKAGE)}:{line} imports tinytorch.{imported}")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_every_layer_is_checked():
    """A new subpackage must be placed in the layering before it can exist."""
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert layers <= set(ALLOWED), f"unplaced layers: {layers - set(ALLOWED)}"
