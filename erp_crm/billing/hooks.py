"""How payments plug into deals (stage trigger) and the client card (timeline)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.billing import services
from erp_crm.billing.models import Payment
from erp_crm.clients import services as client_services
from erp_crm.clients.models import Client
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal
from erp_crm.errors import DomainError
from erp_crm.sales_documents.models import Document
from erp_crm.ui import ru_number


def move_deal_on_first_payment(session: Session, invoice: Document, actor: User | None) -> None:
    """The pipeline's «prepayment received» stage, when it has one; never blocks the payment."""
    deal = session.get(Deal, invoice.deal_id)
    system = actor or session.get(User, deal.manager_id)
    try:
        with session.begin_nested():
            deal_services.fire_trigger(session, deal, "prepayment_received", actor=system)
    except DomainError:
        pass


def payment_events(session: Session, client: Client) -> list[client_services.TimelineEvent]:
    payments = session.scalars(
        select(Payment).where(Payment.client_id == client.id).order_by(Payment.id.desc()).limit(50)
    ).all()
    return [
        client_services.TimelineEvent(
            at=p.received_at,
            kind="payment",
            title=f"Поступила оплата {ru_number(p.amount)} руб. (п/п № {p.number} от "
            f"{p.pay_date:%d.%m.%Y})"
            + (f", не разнесено {ru_number(p.unallocated)} руб." if p.unallocated > 0 else ""),
            details={"payment_id": p.id},
            actor_id=None,
        )
        for p in payments
    ]


def invoice_states(session: Session, invoices: list[Document]) -> dict[int, str]:
    from erp_crm.billing.models import INVOICE_STATE_LABELS

    paid = services.paid_amounts(session, [i.id for i in invoices])
    return {
        i.id: INVOICE_STATE_LABELS[services.invoice_state(i, paid.get(i.id, services.ZERO))]
        for i in invoices
    }


def install() -> None:
    if move_deal_on_first_payment not in services.first_payment_hooks:
        services.first_payment_hooks.append(move_deal_on_first_payment)
    from erp_crm.sales_documents import services as document_services

    if invoice_states not in document_services.payment_state_sources:
        document_services.payment_state_sources.append(invoice_states)
    if payment_events not in client_services.timeline_sources:
        client_services.timeline_sources.append(payment_events)
