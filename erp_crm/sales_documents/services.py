"""Issuing, cancelling and correcting sales documents.

One business action = one transaction (the request's): the number is taken from the counter row
with UPDATE … RETURNING, the files are rendered with that number, and the document, its files,
hash and data snapshot are flushed together. Any failure rolls the whole thing back, the counter
included, so numbers never skip and never repeat.

Beside it: `access.py` (who may see, issue, cancel which document), `preconditions.py` (what
must hold before a document is issued: the deal, the date, the services rendered), `numbering.py`
(the gapless number per organization, kind and year; number formats), `rendering.py` (the files).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.numbering import format_number
from documents.pool import RenderTask
from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.db import utcnow
from erp_crm.deals import access as deal_access
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal
from erp_crm.errors import Conflict, DomainError, NotFound, ValidationError
from erp_crm.organizations.models import Organization
from erp_crm.sales_documents import access, numbering, preconditions, rendering, template_store
from erp_crm.sales_documents import context as contexts
from erp_crm.sales_documents.models import (
    Document,
    DocumentFile,
    DocumentStatus,
)
from erp_crm.sales_documents.rendering import PendingIssue
from erp_crm.sales_documents.schema import (
    DOCX_KINDS,
    KIND_LABELS,
    PACKAGE_KINDS,
    DocumentKind,
)

log = logging.getLogger(__name__)

# Stage triggers of the pipelines (seeded in migration 0003) fired by issuing a kind, and by
# marking a kind signed: issued, sent and signed are separate facts, and the sale stage
# («Договор подписан, счёт выставлен») follows the signing, not the printing (migration 0015).
TRIGGERS = {
    DocumentKind.CONTRACT: "contract_issued",
    DocumentKind.INVOICE: "invoice_issued",
    DocumentKind.ACT: "closing_documents",
}
SIGNED_TRIGGERS = {DocumentKind.CONTRACT: "contract_signed"}


def payment_states(session: Session, documents: list[Document]) -> dict[int, str]:
    invoices = [d for d in documents if d.kind == DocumentKind.INVOICE.value and d.is_active]
    states: dict[int, str] = {}
    for answer in signals.answers(
        signals.invoice_payment_states, session=session, invoices=invoices
    ):
        states.update(answer)
    return states


# --- lookups ------------------------------------------------------------------------------------


def get_document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("Документ не найден.")
    return document


def deal_documents(session: Session, deal_id: int) -> list[Document]:
    return list(
        session.scalars(select(Document).where(Document.deal_id == deal_id).order_by(Document.id))
    )


def active_of_kind(session: Session, deal_id: int, kind: str) -> Document | None:
    return session.scalars(
        select(Document)
        .where(
            Document.deal_id == deal_id,
            Document.kind == kind,
            Document.status != DocumentStatus.CANCELLED.value,
        )
        .order_by(Document.id.desc())
    ).first()


def seller_of(session: Session, deal: Deal) -> Organization:
    org = deal.project.organization
    if org is None or not org.is_active:
        org = session.scalars(
            select(Organization).where(Organization.is_active.is_(True)).order_by(Organization.id)
        ).first()
    if org is None:
        raise ValidationError(
            "Не задана организация-продавец: добавьте нашу организацию с реквизитами."
        )
    return org


# --- issuing ------------------------------------------------------------------------------------


@dataclass
class Prerequisites:
    contract: Document | None = None
    invoice: Document | None = None
    act: Document | None = None
    base: Document | None = None


def _prerequisites(session: Session, deal: Deal, kind: str) -> Prerequisites:
    found = Prerequisites(
        contract=active_of_kind(session, deal.id, DocumentKind.CONTRACT),
        invoice=active_of_kind(session, deal.id, DocumentKind.INVOICE),
    )
    if kind == DocumentKind.ACT:
        if found.invoice is None and found.contract is None:
            raise Conflict("Акт выставляется после счёта или договора по этой сделке.")
        found.base = found.invoice or found.contract
    if kind == DocumentKind.VAT_INVOICE:
        found.act = active_of_kind(session, deal.id, DocumentKind.ACT)
        if found.act is None:
            raise Conflict("Счёт-фактура выставляется к акту: сначала выставьте акт.")
        found.base = found.act
    return found


def _fire(
    session: Session, deal: Deal, kind: str, actor: User, triggers: dict = TRIGGERS
) -> str | None:
    """Move the deal where the pipeline says; a refused move never blocks the document."""
    event = triggers.get(DocumentKind(kind))
    if event is None:
        return None
    try:
        with session.begin_nested():
            deal_services.fire_trigger(session, deal, event, actor=actor)
    except DomainError as err:
        log.info("deal %s not moved by %s: %s", deal.id, event, err)
        return str(err)
    return None


def prepare_issue(
    session: Session,
    deal: Deal,
    kind: str,
    *,
    actor: User,
    on: dt.date | None = None,
    corrects: Document | None = None,
    confirm_early: bool = False,
) -> PendingIssue:
    """Check, number and record a document (flushed, without files yet); see issue_document.

    An act or a VAT invoice dated before the exhibition has closed states services that have not
    been rendered yet: refused unless the user confirms it (`confirm_early`)."""
    access.ensure(
        access.can_issue(actor, deal),
        "Выставлять документы по сделке может её менеджер, руководитель ОП или бухгалтер.",
    )
    try:
        kind = DocumentKind(kind).value
    except ValueError as err:
        raise ValidationError("Неизвестный вид документа.", fields={"kind": "неизвестный"}) from err
    doc_date = on or dt.date.today()
    preconditions.check_document_date(doc_date)
    preconditions.check_deal(deal, kind)
    pre = _prerequisites(session, deal, kind)
    if corrects is None and not confirm_early:
        preconditions.check_services_rendered(deal, kind, doc_date)
    if corrects is None and active_of_kind(session, deal.id, kind):
        raise Conflict(
            f"Документ «{KIND_LABELS[DocumentKind(kind)]}» по сделке уже выставлен: аннулируйте "
            "его или выпустите исправление."
        )
    organization = seller_of(session, deal)
    html = template_store.resolve(session, kind, "html", deal.project_id)
    if html is None:
        raise ValidationError(f"Нет шаблона для вида «{KIND_LABELS[DocumentKind(kind)]}».")

    correction_no = 0
    if corrects is not None and kind == DocumentKind.VAT_INVOICE:
        # A corrected VAT invoice keeps the number and date of the original (line 1) and gets a
        # correction number (line 1а).
        year, seq, number = corrects.year, corrects.seq, corrects.number
        correction_no = 1 + (
            session.scalar(
                select(func.max(Document.correction_no)).where(
                    Document.organization_id == corrects.organization_id,
                    Document.kind == kind,
                    Document.year == corrects.year,
                    Document.seq == corrects.seq,
                )
            )
            or 0
        )
        number_date = corrects.doc_date
    else:
        year = doc_date.year
        seq = numbering.allocate_number(session, organization.id, kind, year)
        number = format_number(
            numbering.number_pattern(session, organization.id, kind),
            n=seq,
            year=year,
            project=deal.project.code,
        )
        number_date = doc_date

    ctx = contexts.build(
        deal,
        organization,
        kind=kind,
        number=number,
        doc_date=number_date,
        contract=pre.contract if kind != DocumentKind.CONTRACT else None,
        invoice=pre.invoice if kind != DocumentKind.INVOICE else None,
        act=pre.act,
        corrects=corrects,
        correction_no=correction_no,
        correction_date=doc_date if correction_no else None,
        payments=[
            found
            for answer in signals.answers(
                signals.document_payment_orders, session=session, deal_id=deal.id, on=number_date
            )
            for found in answer
        ]
        if kind == DocumentKind.VAT_INVOICE
        else None,
    )
    tasks = [("pdf", RenderTask("html", html.text, ctx))]
    version = html.version
    if kind in DOCX_KINDS:
        docx = template_store.resolve(session, kind, "docx", deal.project_id)
        if docx is not None:
            docx_ctx = {**ctx, **contexts.docx_images(organization)}
            tasks.append(("docx", RenderTask("docx", docx.content, docx_ctx)))
            version += " + " + docx.version
    document = Document(
        organization_id=organization.id,
        deal_id=deal.id,
        client_id=deal.client_id,
        project_id=deal.project_id,
        kind=kind,
        year=year,
        seq=seq,
        correction_no=correction_no,
        number=number,
        doc_date=number_date,
        amount=ctx["totals"]["amount"],
        vat_amount=ctx["totals"]["vat_amount"],
        due_date=ctx["payment"]["due_date"] if kind == DocumentKind.INVOICE else None,
        base_document_id=pre.base.id if pre.base else None,
        corrects_id=corrects.id if corrects else None,
        template_version=version[:120],
        snapshot=contexts.snapshot(ctx),
        issued_by_id=actor.id,
    )
    session.add(document)
    session.flush()
    return PendingIssue(document=document, deal=deal, tasks=tasks)


def finish_issue(session: Session, item: PendingIssue, *, actor: User) -> Document:
    """Write the files, tell the other areas (signals.document_issued: the accounting outbox),
    fire the pipeline's trigger."""
    session.flush()
    signals.document_issued.send(item.document, session=session)
    _fire(session, item.deal, item.document.kind, actor)
    return item.document


def issue_document(
    session: Session,
    deal: Deal,
    kind: str,
    *,
    actor: User,
    on: dt.date | None = None,
    corrects: Document | None = None,
    confirm_early: bool = False,
) -> Document:
    """Issue one document of the deal: number, render, freeze. Returns the flushed Document.

    All in the caller's transaction: a failure anywhere rolls the number back with the rest.
    """
    item = prepare_issue(
        session, deal, kind, actor=actor, on=on, corrects=corrects, confirm_early=confirm_early
    )
    rendering.render_pending([item])
    return finish_issue(session, item, actor=actor)


def issue_package(session: Session, deal: Deal, *, actor: User) -> list[Document]:
    """Issue every package kind the deal does not have yet, in one transaction.

    Each is numbered and recorded in order (the invoice refers to the contract issued just
    before it), then all files are rendered together on the render pool.
    """
    access.ensure(
        access.can_issue(actor, deal),
        "Выставлять документы по сделке может её менеджер, руководитель ОП или бухгалтер.",
    )
    pending = [
        prepare_issue(session, deal, kind, actor=actor)
        for kind in PACKAGE_KINDS
        if active_of_kind(session, deal.id, kind) is None
    ]
    rendering.render_pending(pending)
    return [finish_issue(session, item, actor=actor) for item in pending]


def preview_document(session: Session, deal: Deal, kind: str, *, actor: User) -> bytes:
    """A draft PDF («ПРОЕКТ») of a kind: nothing numbered, nothing stored."""
    kind = DocumentKind(kind).value
    access.ensure(
        deal_access.can_view_deal(actor, deal) and access.can_view_documents(actor),
        "Нет доступа к документам сделки.",
    )
    if not deal.lines:
        raise Conflict("В сделке нет строк: добавьте стенд, площадь или услуги.")
    organization = seller_of(session, deal)
    ctx = contexts.build(
        deal,
        organization,
        kind=kind,
        number="ПРОЕКТ",
        doc_date=dt.date.today(),
        contract=active_of_kind(session, deal.id, DocumentKind.CONTRACT),
        invoice=active_of_kind(session, deal.id, DocumentKind.INVOICE),
        act=active_of_kind(session, deal.id, DocumentKind.ACT),
        preview=True,
    )
    rendered = rendering.render_kind(
        session,
        kind,
        ctx,
        project_id=deal.project_id,
        organization=organization,
        preview=True,
        with_docx=False,
    )
    return rendered.files["pdf"]


# --- after issuing ------------------------------------------------------------------------------


def cancel_document(session: Session, document: Document, *, actor: User, reason: str) -> Document:
    """Аннулировать: the number stays taken, the files stay, the status says cancelled."""
    deal = session.get(Deal, document.deal_id)
    access.ensure_can_change(actor, document, deal)
    if document.status == DocumentStatus.CANCELLED.value:
        raise Conflict("Документ уже аннулирован.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Укажите причину аннулирования.", fields={"reason": "обязательно"})
    dependant = session.scalars(
        select(Document).where(
            Document.base_document_id == document.id,
            Document.status != DocumentStatus.CANCELLED.value,
        )
    ).first()
    if dependant is not None:
        raise Conflict(
            f"Сначала аннулируйте документ «{dependant.audit_label()}», выставленный на "
            "основании этого."
        )
    for problem in signals.answers(signals.document_cancel_refusal, document, session=session):
        raise Conflict(problem)
    document.status = DocumentStatus.CANCELLED.value
    document.cancelled_at = utcnow()
    document.cancelled_by_id = actor.id
    document.cancel_reason = reason[:1000]
    session.flush()
    signals.document_cancelled.send(document, session=session)
    return document


def issue_correction(session: Session, document: Document, *, actor: User, reason: str) -> Document:
    """A correction is a new document referring to the old one, which is cancelled."""
    deal = session.get(Deal, document.deal_id)
    access.ensure_can_change(actor, document, deal)
    if document.status == DocumentStatus.CANCELLED.value:
        raise Conflict("Документ аннулирован: исправлять нечего.")
    reason = (reason or "").strip() or "исправление"
    if document.kind == DocumentKind.VAT_INVOICE:
        # The corrected VAT invoice follows the same act; cancel the old one first so the
        # "one VAT invoice per act" rule holds.
        cancel_document(session, document, actor=actor, reason=f"Исправлен: {reason}")
        return issue_document(session, deal, document.kind, actor=actor, corrects=document)
    if document.kind == DocumentKind.ACT:
        vat = session.scalars(
            select(Document).where(
                Document.base_document_id == document.id,
                Document.status != DocumentStatus.CANCELLED.value,
            )
        ).first()
        if vat is not None:
            raise Conflict(
                f"Сначала исправьте или аннулируйте счёт-фактуру № {vat.number} к этому акту."
            )
    cancel_document(session, document, actor=actor, reason=f"Исправлен: {reason}")
    return issue_document(session, deal, document.kind, actor=actor, corrects=document)


def set_status(session: Session, document: Document, status: str, *, actor: User) -> Document:
    """issued → sent → signed (a manager for their deals; accountants and the head for any)."""
    deal = session.get(Deal, document.deal_id)
    access.ensure(access.can_issue(actor, deal), "Нет права менять статус документов этой сделки.")
    order = [DocumentStatus.ISSUED.value, DocumentStatus.SENT.value, DocumentStatus.SIGNED.value]
    if status not in order[1:]:
        raise ValidationError("Недопустимый статус.", fields={"status": "неизвестный"})
    if document.status == DocumentStatus.CANCELLED.value:
        raise Conflict("Документ аннулирован.")
    if order.index(status) <= order.index(document.status):
        raise Conflict("Статус документа уже не ниже выбранного.")
    document.status = status
    if status == DocumentStatus.SENT.value:
        document.sent_at = utcnow()
    else:
        document.signed_at = utcnow()
        document.sent_at = document.sent_at or document.signed_at
    session.flush()
    if status == DocumentStatus.SIGNED.value:
        _fire(session, deal, document.kind, actor, SIGNED_TRIGGERS)
    return document


def file_of(session: Session, document: Document, fmt: str) -> DocumentFile:
    found = session.scalar(
        select(DocumentFile).where(
            DocumentFile.document_id == document.id, DocumentFile.format == fmt
        )
    )
    if found is None:
        raise NotFound("У документа нет файла в этом формате.")
    return found
