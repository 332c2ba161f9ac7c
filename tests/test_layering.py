"""The import layering of DESIGN.md: ``tracking/`` -> ``lib/train``, ``lib/test`` -> ``lib/models`` -> ``lib/config``
-> ``lib/utils``. Lazy imports inside functions and lazy registry entries (``"lib.x.y:attr"`` strings) count too,
since they run just the same."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib"

# package -> the lib packages it must never reach
FORBIDDEN = {
    "utils": ("config", "models", "train", "test"),
    "config": ("models", "train", "test"),
    "models": ("train", "test"),
    "test": ("train",),
}
_LAZY_TARGET = re.compile(r"(lib\.[a-z_]+)[\w.]*:\w+")  # a whole string "lib.pkg.module:attribute"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = _LAZY_TARGET.fullmatch(node.value)
            if match:
                found.append((node.lineno, match.group(1)))
    return found


def _violations(package: str) -> list[str]:
    bad = []
    for path in sorted((LIB / package).rglob("*.py")):
        for line, module in _imported_modules(path):
            parts = module.split(".")
            if parts[0] == "lib" and len(parts) > 1 and parts[1] in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(LIB.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(package):
    assert _violations(package) == []


def test_the_layering_check_sees_lazy_imports_and_registry_strings(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f():\n    from lib.train.admin import settings\n\nX = {"a": "lib.train.scripts.x:build"}\n',
                      encoding="utf-8")
    assert [m for _, m in _imported_modules(sample)] == ["lib.train.admin", "lib.train"]
