"""How payments answer the other areas' signals: the deal's stage on the first payment, the
client card's timeline, invoices' payment state, the paid column of plan vs actual, a VAT
invoice's payment orders, the leaver's receivable deals on reassignment, and the refusal to
cancel a paid invoice. Connected when erp_crm.billing is imported."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.billing import services
from erp_crm.billing.models import INVOICE_STATE_LABELS, Payment, PaymentAllocation
from erp_crm.clients import timeline as client_timeline
from erp_crm.clients.models import Client
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal, Outcome
from erp_crm.errors import DomainError
from erp_crm.projects.models import Project
from erp_crm.sales_documents.models import Document, DocumentStatus
from erp_crm.sales_documents.schema import DocumentKind
from erp_crm.ui import ru_number


@signals.first_payment_received.connect
def move_deal_on_first_payment(
    invoice: Document, *, session: Session, actor: User | None, **_: object
) -> None:
    """The pipeline's «prepayment received» stage, when it has one; never blocks the payment."""
    deal = session.get(Deal, invoice.deal_id)
    system = actor or session.get(User, deal.manager_id)
    try:
        with session.begin_nested():
            deal_services.fire_trigger(session, deal, "prepayment_received", actor=system)
    except DomainError:
        pass


@signals.client_timeline.connect
def payment_events(
    client: Client, *, session: Session, **_: object
) -> list[client_timeline.TimelineEvent]:
    payments = session.scalars(
        select(Payment).where(Payment.client_id == client.id).order_by(Payment.id.desc()).limit(50)
    ).all()
    return [
        client_timeline.TimelineEvent(
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


@signals.invoice_payment_states.connect
def invoice_states(
    _sender: object, *, session: Session, invoices: list[Document], **_: object
) -> dict[int, str]:
    paid = services.paid_amounts(session, [i.id for i in invoices])
    return {
        i.id: INVOICE_STATE_LABELS[services.invoice_state(i, paid.get(i.id, services.ZERO))]
        for i in invoices
    }


@signals.document_cancel_refusal.connect
def refuse_cancel_when_paid(document: Document, *, session: Session, **_: object) -> str | None:
    """An invoice with money on it cannot disappear: the payments would be lost."""
    paid = services.paid_amounts(session, [document.id]).get(document.id)
    if paid:
        return (
            f"По счёту № {document.number} разнесены оплаты на {ru_number(paid)} руб.: сначала "
            "снимите разнесение на страницах платежей (Платежи), затем аннулируйте счёт."
        )
    return None


@signals.document_payment_orders.connect
def payment_documents(
    _sender: object, *, session: Session, deal_id: int, on, **_: object
) -> list[dict]:
    """Payment orders that paid the deal's invoices by a date (a VAT invoice's line 5)."""

    rows = session.execute(
        select(Payment.number, Payment.pay_date)
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Document, Document.id == PaymentAllocation.document_id)
        .where(Document.deal_id == deal_id, Payment.pay_date <= on)
        .distinct()
        .order_by(Payment.pay_date, Payment.number)
    ).all()
    return [{"number": number, "date": pay_date} for number, pay_date in rows]


@signals.project_payments.connect
def project_paid_by_month(
    project: Project, *, session: Session, **_: object
) -> dict[tuple[str, int], Decimal]:
    """What was allocated to the project's invoices, by the payment's month and the deal's
    manager (a cancelled invoice keeps no allocations: the cancel is refused while it has any)."""
    rows = session.execute(
        select(Payment.pay_date, Deal.manager_id, func.sum(PaymentAllocation.amount))
        .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
        .join(Document, Document.id == PaymentAllocation.document_id)
        .join(Deal, Deal.id == Document.deal_id)
        .where(Document.project_id == project.id)
        .group_by(Payment.pay_date, Deal.manager_id)
    )
    paid: dict[tuple[str, int], Decimal] = {}
    for day, manager_id, amount in rows:
        key = (f"{day:%Y-%m}", manager_id)
        paid[key] = paid.get(key, services.ZERO) + Decimal(str(amount))
    return paid


@signals.clients_reassigned.connect
def move_receivable_deals(
    leaver: User,
    *,
    session: Session,
    to_users: list[User],
    with_receivables: bool = False,
    **_: object,
) -> dict[str, int] | None:
    """The leaver's won deals with money still owed follow their clients' new curators, so the
    debts are collected (open deals move in any case, by the deals area)."""
    if not with_receivables:
        return None
    invoices = session.execute(
        select(Document.id, Document.amount, Deal)
        .join(Deal, Deal.id == Document.deal_id)
        .where(
            Deal.manager_id == leaver.id,
            Deal.outcome != Outcome.OPEN.value,
            Document.kind == DocumentKind.INVOICE.value,
            Document.status != DocumentStatus.CANCELLED.value,
        )
    ).all()
    paid = services.paid_amounts(session, [doc_id for doc_id, _, _ in invoices])
    owing = {deal.id: deal for doc_id, amount, deal in invoices if amount > paid.get(doc_id, 0)}
    for deal in owing.values():  # through the ORM: each change gets its audit row
        curator = session.scalar(select(Client.curator_id).where(Client.id == deal.client_id))
        deal.manager_id = curator if curator and curator != leaver.id else to_users[0].id
    session.flush()
    return {"сделок с неоплаченными счетами": len(owing)} if owing else None
