"""The files of a sales document: its templates rendered in the sandbox, stored with their hash.

`render_kind` renders one kind at once (a preview); `render_pending` renders the files of
numbered documents together on the render pool (a package, a chunk of a batch) and attaches them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from documents.pool import RenderTask, render_all
from documents.render_docx import render_docx
from documents.render_html import render_template_pdf
from documents.sandbox import TemplateProblem
from erp_crm.deals.models import Deal
from erp_crm.errors import ValidationError
from erp_crm.organizations.models import Organization
from erp_crm.sales_documents import context as contexts
from erp_crm.sales_documents import template_store
from erp_crm.sales_documents.models import Document, DocumentFile
from erp_crm.sales_documents.schema import DOCX_KINDS, KIND_FILE_STEMS, KIND_LABELS, DocumentKind


@dataclass
class PendingIssue:
    """A numbered document row waiting for its files (rendering may run in parallel)."""

    document: Document
    deal: Deal
    tasks: list[tuple[str, RenderTask]]  # (file format, what to render)


@dataclass
class Rendered:
    files: dict[str, bytes] = field(default_factory=dict)  # format -> bytes
    version: str = ""


def render_kind(
    session: Session,
    kind: str,
    ctx: dict[str, Any],
    *,
    project_id: int | None,
    organization: Organization,
    preview: bool = False,
    with_docx: bool = True,
) -> Rendered:
    """PDF from the HTML template (+ DOCX for the editable kinds). TemplateProblem → 422."""
    html = template_store.resolve(session, kind, "html", project_id)
    if html is None:
        raise ValidationError(f"Нет шаблона для вида «{KIND_LABELS.get(kind, kind)}».")
    result = Rendered(version=html.version)
    try:
        result.files["pdf"] = render_template_pdf(html.text, ctx, preview=preview)
        if with_docx and kind in DOCX_KINDS:
            docx = template_store.resolve(session, kind, "docx", project_id)
            if docx is not None:
                docx_ctx = {**ctx, **contexts.docx_images(organization)}
                result.files["docx"] = render_docx(docx.content, docx_ctx, preview=preview)
                result.version += " + " + docx.version
    except TemplateProblem as err:
        raise ValidationError(str(err)) from err
    except ValueError as err:  # the restricted fetcher refused a resource
        raise ValidationError(f"Шаблон ссылается на недоступный ресурс: {err}") from err
    return result


def store_files(document: Document, files: dict[str, bytes]) -> None:
    stem = f"{KIND_FILE_STEMS[DocumentKind(document.kind)]} № {document.number}"
    if document.correction_no:
        stem += f" (исправление {document.correction_no})"
    stem = stem.replace("/", "-")
    for fmt, data in files.items():
        document.files.append(
            DocumentFile(
                format=fmt,
                filename=f"{stem}.{fmt}",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content=data,
            )
        )


def render_pending(pending: list[PendingIssue]) -> None:
    """Render the files of prepared documents, all at once on the render pool."""
    flat = [task for item in pending for _fmt, task in item.tasks]
    try:
        results = iter(render_all(flat))
    except TemplateProblem as err:
        raise ValidationError(str(err)) from err
    except ValueError as err:  # the restricted fetcher refused a resource
        raise ValidationError(f"Шаблон ссылается на недоступный ресурс: {err}") from err
    for item in pending:
        store_files(item.document, {fmt: next(results) for fmt, _task in item.tasks})
