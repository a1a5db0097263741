"""A deal's package as files (ZIP, one combined PDF) and the project's participant manuals."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import package
from documents.render_html import render_template_pdf
from documents.sandbox import TemplateProblem
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.deals.models import Deal
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.projects.models import Project
from erp_crm.sales_documents import context as contexts
from erp_crm.sales_documents import template_store
from erp_crm.sales_documents.models import (
    Document,
    DocumentFile,
    DocumentStatus,
    ProjectManual,
)
from erp_crm.sales_documents.schema import MANUAL_KINDS

MAX_MANUAL_BYTES = 20 * 1024 * 1024


def manual_pdf(session: Session, project: Project, kind: str, deal: Deal | None = None) -> bytes:
    """The uploaded manual file, else the shipped manual template rendered for the project."""
    if kind not in MANUAL_KINDS:
        raise NotFound("Нет такого руководства.")
    uploaded = session.scalar(
        select(ProjectManual).where(
            ProjectManual.project_id == project.id, ProjectManual.kind == kind
        )
    )
    if uploaded is not None:
        return uploaded.content
    template = template_store.resolve(session, kind, "html", project.id)
    if template is None:
        raise NotFound("Шаблон руководства не найден.")
    from erp_crm.sales_documents.schema import demo_context

    # The manuals speak of the project; the rest of the context is filled so an uploaded
    # template may use it, from the real deal when there is one — never with demo values.
    from erp_crm.sales_documents.services import seller_of

    if deal is not None:
        ctx = contexts.build(
            deal, seller_of(session, deal), kind=kind, number="", doc_date=dt.date.today()
        )
    else:
        ctx = demo_context(kind)
        for key in ("seller", "buyer", "deal"):
            ctx[key] = dict.fromkeys(ctx[key], "")
        ctx["lines"], ctx["contract"], ctx["invoice"], ctx["act"] = [], None, None, None
    ctx["project"] = contexts.project_dict(project)
    ctx["doc"].update(
        {"number": "", "date": dt.date.today(), "title": MANUAL_KINDS[kind], "is_preview": False}
    )
    try:
        return render_template_pdf(template.text, ctx)
    except TemplateProblem as err:
        raise ValidationError(str(err)) from err


def upload_manual(
    session: Session, project: Project, kind: str, filename: str, data: bytes, *, actor: User
) -> ProjectManual:
    if not has_permission(actor, Perm.PROJECTS_MANAGE):
        raise PermissionDenied("Руководства участника загружает руководитель проекта.")
    if kind not in MANUAL_KINDS:
        raise ValidationError("Выберите вид руководства.", fields={"kind": "неизвестный"})
    if len(data) > MAX_MANUAL_BYTES:
        raise ValidationError("Файл больше 20 МБ.", fields={"file": "слишком большой"})
    if not data.startswith(b"%PDF-") or not package.is_readable_pdf(data):
        raise ValidationError(
            "Файл не открывается как PDF: загрузите руководство в формате PDF.",
            fields={"file": "не PDF"},
        )
    row = session.scalar(
        select(ProjectManual).where(
            ProjectManual.project_id == project.id, ProjectManual.kind == kind
        )
    )
    if row is None:
        row = ProjectManual(project_id=project.id, kind=kind)
        session.add(row)
    row.filename = (filename or f"{kind}.pdf")[-200:]
    row.content = data
    row.size = len(data)
    row.sha256 = hashlib.sha256(data).hexdigest()
    row.uploaded_at = dt.datetime.now(dt.UTC)
    session.flush()
    return row


def _active_files(session: Session, deal_id: int, fmt: str | None = None):
    query = (
        select(DocumentFile)
        .join(Document, Document.id == DocumentFile.document_id)
        .where(Document.deal_id == deal_id, Document.status != DocumentStatus.CANCELLED.value)
        .order_by(Document.id, DocumentFile.format)
    )
    if fmt:
        query = query.where(DocumentFile.format == fmt)
    return session.scalars(query)


def deal_entries(session: Session, deal: Deal) -> Iterator[tuple[str, bytes]]:
    """Every active document's files, then the two manuals."""
    for file in _active_files(session, deal.id):
        yield file.filename, file.content
    for kind, title in MANUAL_KINDS.items():
        yield f"{title}.pdf", manual_pdf(session, deal.project, kind, deal)


def deal_zip(session: Session, deal: Deal) -> bytes:
    if not any(True for _ in _active_files(session, deal.id)):
        raise NotFound("По сделке ещё нет выставленных документов.")
    return package.zip_bytes(deal_entries(session, deal))


def deal_combined_pdf(session: Session, deal: Deal) -> bytes:
    pdfs = [f.content for f in _active_files(session, deal.id, "pdf")]
    if not pdfs:
        raise NotFound("По сделке ещё нет выставленных документов.")
    return package.merge_pdfs(pdfs)
