"""How mailing answers the other areas' signals: the client card's postal addresses, the deal
card's e-mail block, the sent e-mails in the client's history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access as client_access
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.timeline import TimelineEvent
from erp_crm.deals.models import Deal
from erp_crm.mailing import addresses, outbox, sending
from erp_crm.mailing.models import MailMessage
from erp_crm.sales_documents.schema import KIND_LABELS


@signals.client_card_sections.connect
def postal_block(
    client: Client, *, session: Session, actor: User, **_: object
) -> signals.CardSection | None:
    if not has_permission(actor, Perm.CLIENTS_VIEW):
        return None
    found = addresses.addresses_of_client(session, client)
    names = {c.id: c.full_name for c in client.contacts}
    rows = [
        ("Клиент" if contact_id is None else names.get(contact_id, "Контакт"), row, contact_id)
        for contact_id, row in sorted(found.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0))
    ]
    data = {
        "rows": rows,
        "own": None in found,
        "can_edit": client_access.can_edit_client(actor, client),
        "can_mark": has_permission(actor, Perm.MAILING_WORK),
        "reasons": addresses.RETURN_REASONS,
        "contacts": [c for c in client.contacts if c.is_active],
    }
    return signals.CardSection("mailing/_client_block.html", data, order=40)


@signals.deal_card_sections.connect
def deal_mail_block(
    deal: Deal, *, session: Session, actor: User, **_: object
) -> signals.CardSection | None:
    can_send = sending.can_send_documents(actor, deal)
    messages = session.scalars(outbox.log_query(deal_id=deal.id).limit(20)).all()
    if not can_send and not messages:
        return None
    contacts = session.scalars(
        select(ContactPerson)
        .where(ContactPerson.client_id == deal.client_id, ContactPerson.is_active.is_(True))
        .order_by(ContactPerson.id)
    ).all()
    data = {
        "can_send": can_send,
        "documents": sending.sendable_documents(session, deal) if can_send else [],
        "contacts": contacts,
        "messages": messages,
        "statuses": outbox.STATUS_LABELS,
        "kinds": KIND_LABELS,
    }
    return signals.CardSection("mailing/_deal_block.html", data, order=30)


@signals.client_timeline.connect
def sent_mail_events(client: Client, *, session: Session, **_: object) -> list[TimelineEvent]:
    """The e-mails sent to the client, and the letters that came back (returned mail)."""
    returned = [
        TimelineEvent(
            at=row.returned_at,
            kind="mailing.returned",
            title=f"Письмо вернулось: {row.returned_reason} ({row.one_line()})",
            details={"address_id": row.id},
            actor_id=row.returned_by_id,
        )
        for row in addresses.addresses_of_client(session, client).values()
        if row.returned and row.returned_at
    ]
    rows = session.scalars(
        select(MailMessage)
        .where(MailMessage.client_id == client.id, MailMessage.status == "sent")
        .order_by(MailMessage.sent_at.desc())
        .limit(50)
    ).all()
    return returned + [
        TimelineEvent(
            at=row.sent_at,
            kind="mailing.sent",
            title=f"Отправлено письмо «{row.subject}» на {row.to_address}",
            details={"message_id": row.id, "deal_id": row.deal_id},
            actor_id=row.created_by_id,
        )
        for row in rows
    ]
