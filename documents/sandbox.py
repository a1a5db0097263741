"""The Jinja environment every document template renders in, HTML and DOCX alike.

Uploaded templates are untrusted: SandboxedEnvironment refuses attribute tricks such as
`''.__class__.__mro__` and calls of unsafe callables; autoescape keeps `&`, `<`, `>` valid in XML
and HTML; no loader means `{% include %}`/`{% import %}` cannot reach any file. Contexts are plain
data (dicts, lists, str, Decimal, date), never ORM objects.

Two kinds of "undefined": issuing uses StrictUndefined (an unknown placeholder stops the issue with
a message), previews use VisibleUndefined, which prints ⟦name⟧ so the admin sees what is unknown
instead of a silent blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import DictLoader, StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from documents import formatting

FILTERS = {
    "amount": formatting.amount,
    "words": formatting.amount_in_words,
    "date_long": formatting.date_long,
    "date_short": formatting.date_short,
    "date_quoted": formatting.date_quoted,
    "quantity": formatting.quantity,
    "initials": formatting.initials,
}


class VisibleUndefined(Undefined):
    """Renders as ⟦name⟧ so a preview shows the unknown placeholder instead of a blank."""

    def __str__(self) -> str:
        return f"⟦{self._undefined_name}⟧"

    def __iter__(self):  # an unknown list renders as nothing, not as an error
        return iter(())

    def __bool__(self) -> bool:
        return False


def make_env(*, preview: bool = False) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=True,
        undefined=VisibleUndefined if preview else StrictUndefined,
        # An empty loader: {% include %}/{% import %}/{% extends %} find nothing (TemplateNotFound)
        # instead of reaching the file system.
        loader=DictLoader({}),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


class TemplateProblem(Exception):
    """A template cannot be used: syntax, sandbox violation, unknown placeholder. Russian text."""


def describe_error(err: Exception) -> str:
    if isinstance(err, TemplateSyntaxError):
        return (
            f"Ошибка синтаксиса шаблона около строки {err.lineno}: проверьте парность "
            "{{ }} и {% %}, теги if/for и их end. Подробности (англ.): "
            f"{err.message}"
        )
    if isinstance(err, SecurityError):
        return "Шаблон пытается выполнить запрещённую операцию и не может быть использован."
    if isinstance(err, UndefinedError):
        return f"В шаблоне неизвестное поле: {err.message}"
    if isinstance(err, TemplateError):
        return f"Ошибка шаблона: {err.message or err}"
    return f"Ошибка шаблона: {err}"


@dataclass
class PlaceholderReport:
    used: set[str] = field(default_factory=set)  # dotted paths: "seller.inn", "lines[].amount"
    unknown: set[str] = field(default_factory=set)


def placeholder_paths(source: str, env: ImmutableSandboxedEnvironment | None = None) -> set[str]:
    """Dotted paths a template reads, loop variables resolved to `list[]` ("lines[].amount")."""
    env = env or make_env()
    tree = env.parse(source)
    paths: set[str] = set()

    def path_of(node: nodes.Node, aliases: dict[str, str]) -> str | None:
        if isinstance(node, nodes.Name):
            return aliases.get(node.name, node.name)
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node, aliases)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = path_of(node.node, aliases)
            return f"{base}.{node.arg.value}" if base and isinstance(node.arg.value, str) else None
        return None

    def visit(node: nodes.Node, aliases: dict[str, str]) -> None:
        if isinstance(node, nodes.For):
            visit(node.iter, aliases)
            source_path = path_of(node.iter, aliases)
            inner = dict(aliases)
            if isinstance(node.target, nodes.Name) and source_path:
                inner[node.target.name] = source_path + "[]"
            for child in (*node.body, *node.else_):
                visit(child, inner)
            if node.test is not None:
                visit(node.test, inner)
            return
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            visit(node.node, aliases)
            aliases[node.target.name] = ""  # a local variable: not a placeholder
            return
        if isinstance(node, nodes.Getattr | nodes.Name | nodes.Getitem):
            found = path_of(node, aliases)
            if found is not None:
                if found and not found.startswith("."):
                    paths.add(found)
                if isinstance(node, nodes.Getitem):
                    visit(node.arg, aliases)
                return
        for child in node.iter_child_nodes():
            visit(child, aliases)

    visit(tree, {})
    return {p for p in paths if p and p != "loop" and not p.startswith("loop.")}


def check_placeholders(paths: set[str], known: set[str]) -> PlaceholderReport:
    """Known paths are the leaves and branches of the context schema ("seller", "seller.inn")."""
    unknown = {p for p in paths if p not in known and p.split(".")[0] not in FILTERS}
    return PlaceholderReport(used=set(paths), unknown=unknown)


def render_string(source: str, context: dict[str, Any], *, preview: bool = False) -> str:
    env = make_env(preview=preview)
    try:
        return env.from_string(source).render(context)
    except (TemplateError, SecurityError) as err:
        raise TemplateProblem(describe_error(err)) from err
