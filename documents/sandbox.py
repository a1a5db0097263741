"""The Jinja environment every document template renders in, HTML and DOCX alike.

Uploaded templates are untrusted: SandboxedEnvironment refuses attribute tricks such as
`''.__class__.__mro__` and calls of unsafe callables; autoescape keeps `&`, `<`, `>` valid in XML
and HTML; no loader means `{% include %}`/`{% import %}` cannot reach any file. Contexts are plain
data (dicts, lists, str, Decimal, date), never ORM objects.

Two kinds of "undefined": issuing uses StrictUndefined (an unknown placeholder stops the issue with
a message), previews use VisibleUndefined, which prints ⟦name⟧ so the admin sees what is unknown
instead of a silent blank.

Every render is bounded (a template is code an admin uploaded): the text it produces may not pass
DOCUMENTS_RENDER_MAX_CHARS (the output is counted as it is generated, and `'A' * 10**7` or
`[x] * 10**7` is refused before it is built), and the template's own code may not run longer
than DOCUMENTS_RENDER_SECONDS — a trace function on the template's frames only (their code is
named "<template>") checks the clock on every line, so nested loops over long strings stop with
a message instead of holding a worker for minutes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jinja2 import DictLoader, StrictUndefined, Template, Undefined, nodes
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


class TemplateProblem(Exception):
    """A template cannot be used: syntax, sandbox violation, unknown placeholder. Russian text."""


def max_chars() -> int:
    return int(os.environ.get("DOCUMENTS_RENDER_MAX_CHARS", str(2_000_000)))


def max_seconds() -> float:
    return float(os.environ.get("DOCUMENTS_RENDER_SECONDS", "10"))


def _too_long() -> TemplateProblem:
    return TemplateProblem(
        f"Шаблон выводит слишком много текста (больше {max_chars():,} знаков): проверьте циклы и "
        "повторения в шаблоне. Документ не сформирован.".replace(",", "\u00a0")
    )


def _too_slow() -> TemplateProblem:
    return TemplateProblem(
        f"Шаблон обрабатывается дольше {max_seconds():g} с: проверьте вложенные циклы. "
        "Документ не сформирован."
    )


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Stop the template's own code after `seconds` (see the module's doc); nested renders keep
    the outer deadline."""
    previous = sys.gettrace()
    if getattr(previous, "is_render_deadline", False):
        yield
        return
    end = time.monotonic() + seconds

    def on_line(frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > end:
            raise _too_slow()
        return on_line

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == "<template>":
            return on_line(frame, event, arg)
        return None

    on_call.is_render_deadline = True  # type: ignore[attr-defined]
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)


class LimitedTemplate(Template):
    """render() with the output counted as it is generated and the deadline on (docxtpl calls
    render() on what the environment's from_string gives it, so DOCX is bounded the same way)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        ctx = self.new_context(dict(*args, **kwargs))
        limit = max_chars()
        try:
            with _deadline(max_seconds()):
                pieces: list[str] = []
                size = 0
                for piece in self.root_render_func(ctx):
                    size += len(piece)
                    if size > limit:
                        raise _too_long()
                    pieces.append(piece)
                return "".join(pieces)
        except TemplateProblem:
            raise
        except Exception:  # noqa: BLE001 - Jinja's own render() hands every error to this
            self.environment.handle_exception()
        raise AssertionError("unreachable")  # handle_exception always raises


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with repetition (`*`) and power (`**`) checked before they run."""

    template_class = LimitedTemplate
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > max_chars():
                        raise _too_long()
        elif operator == "**" and isinstance(right, int) and right > 1000:
            raise TemplateProblem("В шаблоне слишком большая степень числа.")
        return super().call_binop(context, operator, left, right)


def make_env(*, preview: bool = False) -> ImmutableSandboxedEnvironment:
    env = LimitedEnvironment(
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
    builtins = {"loop", *env.globals}  # range(), namespace(), cycler()…: Jinja's, not the data's
    return {p for p in paths if p and p.split(".")[0] not in builtins}


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
