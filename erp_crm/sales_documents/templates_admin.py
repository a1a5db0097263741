"""Uploading, checking and previewing document templates (admins only).

An upload is checked before it is stored: size, DOCX zip structure, Jinja syntax under the
sandbox, and every placeholder against schema.PLACEHOLDERS — an unknown one is refused with its
name, never rendered as a silent blank. Previews render demo data; an unknown placeholder of an
older template shows as ⟦name⟧.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from documents.render_docx import check_docx_template, render_docx
from documents.render_html import check_html_template, render_template_pdf
from documents.sandbox import TemplateProblem
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.db import utcnow
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.projects.models import Project
from erp_crm.sales_documents import template_store
from erp_crm.sales_documents.models import DocumentTemplate
from erp_crm.sales_documents.schema import (
    DOCX_KINDS,
    KIND_LABELS,
    KNOWN_PATHS,
    MANUAL_KINDS,
    demo_context,
)

MAX_HTML_BYTES = 1024 * 1024
# What a sales document cannot do without: its number and date, and whom it is addressed to.
REQUIRED = ("doc.number", "doc.date")
BUYER = ("buyer.name", "buyer.full_name")
# A reference the renderer would refuse to fetch: say so at upload, not as a silent blank.
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)\s*(?P<url>(?:https?:|file:|ftp:|//)[^"')\s>]*)""",
    re.IGNORECASE,
)
TEMPLATE_KINDS = {**{k.value: v for k, v in KIND_LABELS.items()}, **MANUAL_KINDS}


@dataclass
class Preview:
    content: bytes
    mimetype: str
    filename: str


def _ensure_admin(actor: User) -> None:
    if not has_permission(actor, Perm.TEMPLATES_MANAGE):
        raise PermissionDenied("Шаблоны документов меняет администратор.")


def engine_of(filename: str) -> str:
    lower = (filename or "").lower()
    if lower.endswith(".docx"):
        return "docx"
    if lower.endswith((".html", ".htm")):
        return "html"
    raise ValidationError(
        "Загрузите шаблон в формате DOCX или HTML.", fields={"file": "неверный формат"}
    )


def check_upload(kind: str, filename: str, data: bytes) -> str:
    """Raise ValidationError with a clear Russian message; return the engine when fine."""
    if kind not in TEMPLATE_KINDS:
        raise ValidationError("Выберите вид документа.", fields={"kind": "неизвестный вид"})
    if not data:
        raise ValidationError("Файл пустой.", fields={"file": "пустой файл"})
    engine = engine_of(filename)
    if engine == "docx":
        if kind not in DOCX_KINDS:
            raise ValidationError(
                f"Для вида «{TEMPLATE_KINDS[kind]}» загружается HTML-шаблон (документ в PDF).",
                fields={"file": "нужен HTML"},
            )
        result = check_docx_template(data, set(KNOWN_PATHS))
        errors, unknown = result.errors, result.placeholders.unknown
    else:
        if len(data) > MAX_HTML_BYTES:
            raise ValidationError("HTML-шаблон больше 1 МБ.", fields={"file": "слишком большой"})
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValidationError(
                "HTML-шаблон должен быть в кодировке UTF-8.", fields={"file": "кодировка"}
            ) from err
        errors, report = check_html_template(source, set(KNOWN_PATHS))
        unknown = report.unknown
        external = EXTERNAL.search(source)
        if external and not errors:
            raise ValidationError(
                f"Шаблон ссылается на внешний ресурс ({external.group('url')[:80]}): документы "
                "не загружают файлы из сети и с диска. Вставьте изображение как data:URI.",
                fields={"file": "внешний ресурс"},
            )
    if errors:
        raise ValidationError(errors[0], fields={"file": errors[0]})
    used = report.used if engine == "html" else result.placeholders.used
    if not errors and kind in KIND_LABELS:
        missing = [p for p in REQUIRED if p not in used]
        if not any(p in used for p in BUYER):
            missing.append("buyer.name")
        if missing:
            raise ValidationError(
                "В шаблоне нет обязательных полей: "
                + ", ".join(missing)
                + ". Без них документ нельзя выставить.",
                fields={"file": "нет обязательных полей"},
            )
    if unknown:
        names = ", ".join(sorted(unknown)[:10])
        raise ValidationError(
            f"В шаблоне неизвестные поля: {names}. Список доступных полей — ниже на странице.",
            fields={"file": f"неизвестные поля: {names}"},
        )
    return engine


def upload_template(
    session: Session,
    *,
    kind: str,
    filename: str,
    data: bytes,
    name: str | None,
    project: Project | None,
    actor: User,
) -> DocumentTemplate:
    _ensure_admin(actor)
    engine = check_upload(kind, filename, data)
    # A trial render with demo data catches what parsing cannot (e.g. a filter misuse).
    preview_bytes(kind, engine, data)
    template = DocumentTemplate(
        kind=kind,
        engine=engine,
        project_id=project.id if project else None,
        name=(name or "").strip()[:200] or f"{TEMPLATE_KINDS[kind]} ({filename})",
        filename=filename[-200:],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=data,
        is_active=False,
        uploaded_by_id=actor.id,
    )
    session.add(template)
    session.flush()
    return template


def set_active(session: Session, template: DocumentTemplate, active: bool, *, actor: User) -> None:
    """Switch a template on or off for its kind; on only after someone looked at its preview."""
    _ensure_admin(actor)
    if active and template.previewed_at is None:
        raise ValidationError(
            f"Сначала откройте предпросмотр шаблона «{template.name}» и проверьте документ: "
            "шаблон включается только после предпросмотра."
        )
    template.is_active = active
    session.flush()


def preview_bytes(kind: str, engine: str, data: bytes, *, preview: bool = False) -> bytes:
    try:
        ctx = demo_context(kind)
        if engine == "docx":
            return render_docx(data, ctx, preview=preview)
        return render_template_pdf(data.decode("utf-8"), ctx, preview=preview)
    except TemplateProblem as err:
        raise ValidationError(str(err), fields={"file": str(err)}) from err
    except ValueError as err:  # the restricted URL fetcher refused something
        raise ValidationError(
            f"Шаблон ссылается на недоступный ресурс: {err}", fields={"file": "ресурс"}
        ) from err


def preview_template(session: Session, template: DocumentTemplate, *, actor: User) -> Preview:
    """The template rendered on demo data; a successful preview makes it ready to activate."""
    _ensure_admin(actor)
    found = _preview(template.kind, template.engine, template.content, f"template-{template.id}")
    template.previewed_at = utcnow()
    template.previewed_by_id = actor.id
    session.flush()
    return found


def preview_shipped(kind: str, engine: str, *, actor: User) -> Preview:
    _ensure_admin(actor)
    found = template_store.shipped(kind, engine)
    if found is None:
        raise ValidationError("Такого шаблона нет.")
    return _preview(kind, engine, found.content, f"{kind}-default")


def _preview(kind: str, engine: str, content: bytes, stem: str) -> Preview:
    data = preview_bytes(kind, engine, content, preview=True)
    if engine == "docx":
        return Preview(
            data,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            f"{stem}-preview.docx",
        )
    return Preview(data, "application/pdf", f"{stem}-preview.pdf")
