"""The dependency direction of docs/architecture.md, read from the code: a lower area imports
nothing of the areas above it — not at module level and not inside a function — and no module of
erp_crm takes part in an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "erp_crm"

# area → the areas it must never import (they sit above it and talk to it by signals).
FORBIDDEN = {
    "clients": {"deals", "billing", "sales_documents", "integration", "budgets"},
}


# The lower part of the house, area → the only areas it may import (the top-level modules db,
# errors, signals, ui … are below every area). What is above talks to it by signals.
MAY_IMPORT = {
    "core": set(),
    "auth": {"core"},
    "audit": {"auth", "core"},
    "jobs": {"auth", "core"},
    "organizations": {"audit", "auth", "core", "jobs"},
    "projects": {"audit", "auth", "core", "jobs", "organizations"},
    "clients": {"audit", "auth", "core", "jobs", "organizations", "projects"},
    "deals": {"audit", "auth", "clients", "core", "jobs", "organizations", "projects"},
}
AREAS = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())

# Import cycles known and owned elsewhere: each entry must still be a cycle (so the list only
# shrinks). None is left.
KNOWN_CYCLES: set[frozenset[str]] = set()


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


@pytest.mark.parametrize("area", sorted(MAY_IMPORT))
def test_a_low_area_imports_only_the_areas_below_it(area: str) -> None:
    offences = [
        f"{path.relative_to(ROOT.parent)} → {module}"
        for path in sorted((ROOT / area).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if area_of(module) in AREAS and area_of(module) not in MAY_IMPORT[area] | {area}
    ]
    assert offences == []


def test_no_area_imports_the_api() -> None:
    offences = [
        f"{path.relative_to(ROOT.parent)} → {module}"
        for area in AREAS
        if area != "api"
        for path in sorted((ROOT / area).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if area_of(module) == "api"
    ]
    assert offences == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the erp_crm modules it imports, anywhere in it (function bodies and
    TYPE_CHECKING blocks included); `from pkg import name` counts as `pkg.name` when that is a
    module, else as `pkg`; relative imports are resolved."""
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(known(a.name) for a in node.names if a.name.startswith("erp_crm"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                if base == "erp_crm" or base.startswith("erp_crm."):
                    for alias in node.names:
                        name = f"{base}.{alias.name}"
                        targets.add(name if name in paths else known(base))
        graph[module] = {t for t in targets if t and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def test_no_import_cycle_between_erp_crm_modules() -> None:
    found = set(cycles(import_graph()))
    assert sorted(sorted(c) for c in found - KNOWN_CYCLES) == []
    assert sorted(sorted(c) for c in KNOWN_CYCLES - found) == []  # fixed: drop it from the list


def test_the_cycle_finder_finds_the_modules_of_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b"}, "b": set()}) == []
