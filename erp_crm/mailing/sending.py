"""What goes into the outbox: an issued document (or the deal's package ZIP) to the client's
contact from the deal card; an invitation or the project's manuals to a campaign list, each
with an unsubscribe link that works without login (a signed token)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_crm.audit.services import record
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.deals.models import Deal
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.mailing import outbox, selections
from erp_crm.mailing.models import Campaign, CampaignRecipient, MailMessage, Unsubscribe
from erp_crm.sales_documents import access as document_access
from erp_crm.sales_documents import packages
from erp_crm.sales_documents.models import Document, DocumentFile, DocumentStatus
from erp_crm.sales_documents.schema import KIND_LABELS, MANUAL_KINDS

PACKAGE = "package"


def can_send_documents(actor: User, deal: Deal) -> bool:
    return has_permission(actor, Perm.MAILING_SEND_DOCUMENTS) and document_access.can_issue(
        actor, deal
    )


def sendable_documents(session: Session, deal: Deal) -> list[Document]:
    return list(
        session.scalars(
            select(Document)
            .where(Document.deal_id == deal.id, Document.status != DocumentStatus.CANCELLED.value)
            .order_by(Document.id)
        )
    )


def send_document(
    session: Session,
    deal: Deal,
    *,
    what: str,
    contact_id: Any,
    email: Any = None,
    message: Any = None,
    actor: User,
) -> MailMessage:
    """Queue an issued document's PDF (what = document id) or the package ZIP (what =
    'package') to a contact person of the deal's client."""
    if not can_send_documents(actor, deal):
        raise PermissionDenied("Отправить документы этой сделки может её менеджер.")
    try:
        contact = session.get(ContactPerson, int(contact_id))
    except (TypeError, ValueError):
        contact = None
    if contact is None or contact.client_id != deal.client_id:
        raise ValidationError("Выберите контактное лицо клиента.", fields={"contact_id": "нет"})
    if not contact.emails:
        raise ValidationError(
            f"У контактного лица «{contact.full_name}» нет адреса электронной почты: добавьте "
            "его в карточке клиента.",
            fields={"contact_id": "нет e-mail"},
        )
    to = str(email or contact.emails[0]).strip().lower()
    if to not in contact.emails:
        raise ValidationError("Выберите адрес из адресов контактного лица.", fields={"email": "?"})
    note = str(message or "").replace("\x00", "").strip()[:2000]
    client = session.get(Client, deal.client_id)
    if what == PACKAGE:
        data = packages.deal_zip(session, deal)
        files = [
            outbox.attachment(
                session, f"Документы по сделке {deal.id}.zip", data, "application/zip"
            )
        ]
        title, document_id = "Пакет документов", None
    else:
        try:
            document = session.get(Document, int(what))
        except (TypeError, ValueError):
            document = None
        if document is None or document.deal_id != deal.id:
            raise ValidationError("Выберите документ сделки.", fields={"what": "нет"})
        if document.status == DocumentStatus.CANCELLED.value:
            raise ValidationError("Документ аннулирован: его не отправить.")
        pdf = session.scalar(
            select(DocumentFile).where(
                DocumentFile.document_id == document.id, DocumentFile.format == "pdf"
            )
        )
        if pdf is None:
            raise ValidationError("У документа нет PDF-файла.")
        files = [outbox.attachment(session, pdf.filename, pdf.content, "application/pdf")]
        title = f"{KIND_LABELS.get(document.kind, document.kind)} № {document.number}"
        document_id = document.id
    body = "\n".join(
        line
        for line in (
            f"Здравствуйте, {contact.full_name}!",
            "",
            note or f"Направляем вам: {title.lower() if what == PACKAGE else title}.",
            "",
            f"С уважением, {actor.full_name}",
        )
    )
    row = outbox.enqueue(
        session,
        to=to,
        to_name=contact.full_name,
        subject=f"{title} — {client.name if client else ''}".strip(" —"),
        body=body,
        kind="document",
        attachments=files,
        actor=actor,
        client_id=deal.client_id,
        contact_id=contact.id,
        deal_id=deal.id,
        document_id=document_id,
    )
    session.flush()
    return row


# --- campaigns by e-mail ------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="mailing-unsubscribe")


def unsubscribe_token(recipient_id: int) -> str:
    return _serializer().dumps({"r": recipient_id})


def unsubscribe_link(recipient_id: int) -> str:
    base = current_app.config["APP_BASE_URL"]
    return f"{base}/m/unsubscribe/{unsubscribe_token(recipient_id)}"


def send_campaign(
    session: Session, campaign: Campaign, *, actor: User, manuals: list[str] = ()
) -> int:
    """Freeze the list and queue one e-mail per included addressee (consent and refusals were
    checked at freezing), with the project's manuals attached when asked. Once only."""
    selections.ensure_can_work(actor)
    if campaign.channel != "email":
        raise ValidationError("Эта рассылка почтовая (бумажная): её печатают, а не отправляют.")
    if campaign.sent_at is not None:
        raise ValidationError("Рассылка уже отправлена.")
    unknown = [m for m in manuals if m not in MANUAL_KINDS]
    if unknown:
        raise ValidationError("Неизвестное руководство.", fields={"manuals": ", ".join(unknown)})
    files = []
    if manuals:
        from erp_crm.projects.models import Project

        project = session.get(Project, campaign.project_id) if campaign.project_id else None
        if project is None:
            raise ValidationError("Чтобы приложить руководства, выберите проект рассылки.")
        for kind in manuals:
            files.append(
                outbox.attachment(
                    session,
                    f"{MANUAL_KINDS[kind]}.pdf",
                    packages.manual_pdf(session, project, kind),
                    "application/pdf",
                )
            )
    selections.freeze(session, campaign, actor=actor)
    count = 0
    for row in selections.included(session, campaign):
        link = unsubscribe_link(row.id)
        body = (
            f"{campaign.body}\n\n—\nВы получили это письмо, потому что согласились получать "
            f"рассылки. Отписаться: {link}"
        )
        outbox.enqueue(
            session,
            to=row.email,
            to_name=row.person or row.client_name,
            subject=campaign.subject or campaign.name,
            body=body,
            kind="campaign",
            attachments=files,
            headers={"List-Unsubscribe": f"<{link}>"},
            actor=actor,
            client_id=row.client_id,
            contact_id=row.contact_id,
            campaign_id=campaign.id,
            recipient_id=row.id,
        )
        count += 1
    campaign.status = "sending"
    campaign.sent_at = campaign.sent_at or campaign.frozen_at
    record(session, campaign, "mailing_sent", {"recipients": count, "manuals": list(manuals)})
    session.flush()
    return count


class ForgedLink(ValidationError):
    default_message = "Ссылка для отписки повреждена или подделана: отписаться по ней нельзя."


def recipient_of_token(session: Session, token: str) -> CampaignRecipient:
    try:
        data = _serializer().loads(token)
        recipient_id = int(data["r"])
    except (BadSignature, KeyError, TypeError, ValueError) as err:
        raise ForgedLink() from err
    row = session.get(CampaignRecipient, recipient_id)
    if row is None or not row.email:
        raise ForgedLink()
    return row


def unsubscribe(session: Session, token: str) -> tuple[CampaignRecipient, bool]:
    """Record the refusal once (by e-mail address); (recipient, True) when it was new. The
    client's history gets an audit row."""
    row = recipient_of_token(session, token)
    existing = session.scalar(select(Unsubscribe).where(Unsubscribe.email == row.email))
    if existing is not None:
        return row, False
    try:
        with session.begin_nested():  # a second click racing this one meets the UNIQUE
            session.add(
                Unsubscribe(
                    email=row.email,
                    client_id=row.client_id,
                    contact_id=row.contact_id,
                    campaign_id=row.campaign_id,
                )
            )
            session.flush()
    except IntegrityError:
        return row, False
    from erp_crm.db import utcnow

    row.unsubscribed_at = utcnow()
    client = session.get(Client, row.client_id)
    if client is None:
        raise NotFound()
    record(
        session,
        client,
        "mailing_unsubscribed",
        {"email": row.email, "campaign_id": row.campaign_id, "contact_id": row.contact_id},
    )
    session.flush()
    return row, True
