"""The dependency direction of docs/architecture.md, read from the code: a lower area imports
nothing of the areas above it — not at module level and not inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "erp_crm"

# area → the areas it must never import (they sit above it and talk to it by signals).
FORBIDDEN = {
    "clients": {"deals", "billing", "sales_documents", "integration", "budgets"},
}


def imported_modules(path: Path) -> set[str]:
    """Every module an erp_crm file imports, anywhere in it (function bodies included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def area_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "erp_crm" else None


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_a_lower_area_imports_nothing_above_it(area: str) -> None:
    offences = [
        f"{path.relative_to(ROOT.parent)} → {module}"
        for path in sorted((ROOT / area).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if area_of(module) in FORBIDDEN[area]
    ]
    assert offences == []


def test_the_reader_sees_imports_inside_functions(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from erp_crm.deals.models import Deal\n", encoding="utf-8")
    assert area_of("erp_crm.deals.models") == "deals"
    assert "erp_crm.deals.models" in imported_modules(probe)
