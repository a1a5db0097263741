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


def refuse_cancel_when_paid(session: Session, document: Document) -> str | None:
    """An invoice with money on it cannot disappear: the payments would be lost."""
    paid = services.paid_amounts(session, [document.id]).get(document.id)
    if paid:
        return (
            f"По счёту № {document.number} разнесены оплаты на {ru_number(paid)} руб.: сначала "
            "снимите разнесение на страницах платежей (Платежи), затем аннулируйте счёт."
        )
    return None


def payment_documents(session: Session, deal_id: int, on) -> list[dict]:
    """Payment orders that paid the deal's invoices by a date (a VAT invoice's line 5)."""
    from erp_crm.billing.models import PaymentAllocation

    rows = session.execute(
        select(Payment.number, Payment.pay_date)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Document, Document.id == PaymentAllocation.document_id)
        .where(Document.deal_id == deal_id, Payment.pay_date <= on)
        .distinct()
        .order_by(Payment.pay_date, Payment.number)
    ).all()
    return [{"number": number, "date": pay_date} for number, pay_date in rows]


def install() -> None:
    if move_deal_on_first_payment not in services.first_payment_hooks:
        services.first_payment_hooks.append(move_deal_on_first_payment)
    from erp_crm.sales_documents import services as document_services

    if payment_documents not in document_services.payment_document_sources:
        document_services.payment_document_sources.append(payment_documents)
    if refuse_cancel_when_paid not in document_services.cancel_checks:
        document_services.cancel_checks.append(refuse_cancel_when_paid)
    if invoice_states not in document_services.payment_state_sources:
        document_services.payment_state_sources.append(invoice_states)
    if payment_events not in client_services.timeline_sources:
        client_services.timeline_sources.append(payment_events)
