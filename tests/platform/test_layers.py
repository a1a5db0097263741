"""The dependency direction of docs/architecture.md, read from the source (every import, those
inside function bodies included): auth knows nothing of audit; audit knows no area above it and
gets the areas' words through its registry (erp_crm/audit/vocabulary.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import erp_crm

PACKAGE = Path(erp_crm.__file__).parent

# What erp_crm/audit may import of erp_crm: itself, the layers below it, nothing of an area.
AUDIT_MAY_IMPORT = ("erp_crm.audit", "erp_crm.auth", "erp_crm.core", "erp_crm.db", "erp_crm.ui")
# The areas that say how their audit rows read (erp_crm/<area>/audit.py).
AREAS_WITH_AUDIT_WORDS = (
    "organizations",
    "clients",
    "projects",
    "deals",
    "sales_documents",
    "billing",
    "budgets",
    "integration",
)


def imported_modules(path: Path, module: str | None = None) -> set[str]:
    """Every module a file imports, anywhere in it (relative imports resolved)."""
    module = module or ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            # `from erp_crm import audit` names the package in the alias, not in the module.
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_parser_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n"
        "    from erp_crm.audit.services import record\n"
        "    from ..audit import presentation\n"
        "    import erp_crm.audit.views\n"
    )
    found = imported_modules(probe, "erp_crm.auth.probe")
    assert {"erp_crm.audit.services", "erp_crm.audit.presentation", "erp_crm.audit.views"} <= found


def test_auth_imports_nothing_of_audit():
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path) if _within(name, "erp_crm.audit")
        )
        for path in sorted((PACKAGE / "auth").rglob("*.py"))
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_audit_imports_no_area_only_the_layers_below_it():
    offending = {}
    for path in sorted((PACKAGE / "audit").rglob("*.py")):
        names = sorted(
            name
            for name in imported_modules(path)
            if _within(name, "erp_crm")
            and name != "erp_crm"
            and not any(_within(name, allowed) for allowed in AUDIT_MAY_IMPORT)
        )
        if names:
            offending[str(path.relative_to(PACKAGE))] = names
    assert offending == {}


def test_each_area_registers_its_audit_words_from_its_package():
    for area in AREAS_WITH_AUDIT_WORDS:
        words = PACKAGE / area / "audit.py"
        assert words.exists(), area
        assert "erp_crm.audit.vocabulary" in imported_modules(words) or (
            "erp_crm.audit" in imported_modules(words)
        ), area
        assert f"erp_crm.{area}.audit" in imported_modules(PACKAGE / area / "__init__.py"), area


def test_the_registered_words_reach_the_renderer():
    import erp_crm.models  # noqa: F401  (every area, so every area's audit words)
    from erp_crm.audit import presentation

    assert presentation.field_label("curator_id") == "Куратор"  # clients
    assert presentation.action_label("sold") == "стенд продан"  # projects
    assert presentation.field_label("inn") == "ИНН"  # organizations
    assert presentation.entity_title("exchange_state") == "Настройки обмена с 1С"  # integration
    assert presentation.field_label("no_such_key") == "no_such_key"  # the generic fallback
    assert presentation.action_label("no_such_action") == "no such action"
