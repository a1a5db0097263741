"""Payments: stored once by the accounting side's id, allocated to invoices, reconciled by hand.

Automatic allocation, in order: the invoice reference 1C sent (InvoiceGUID); then the payer's
ИНН with invoice numbers found in the purpose text («Оплата по сч. № 15 от …», «счета 15, 16»);
then, with the ИНН alone, the single open invoice whose outstanding amount equals the payment.
What is left stays on the payment: the client's credit when the payer is known, otherwise the
«unallocated» queue of the reconciliation page. Every allocation is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.money import money
from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.billing.models import ZERO, InvoiceState, Payment, PaymentAllocation
from erp_crm.clients.models import Client
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from erp_crm.sales_documents.models import Document, DocumentStatus
from erp_crm.sales_documents.schema import DocumentKind
from erp_crm.ui import ru_number

_INVOICE_REF = re.compile(
    r"(?:сч(?:[её]т(?:у|а|ам|ов|ы)?)?\.?|счет-договор|invoice)\s*"
    r"(?:на\s+оплату\s*)?(?:№|N|#|номер)?\s*"
    r"(?P<numbers>[\wА-Яа-я\-/]+(?:\s*(?:,|и)\s*(?:№\s*)?[\wА-Яа-я\-/]+)*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PaymentData:
    accounting_id: str
    number: str
    pay_date: dt.date
    payer_name: str
    payer_inn: str | None
    payer_kpp: str | None
    amount: Decimal
    purpose: str
    invoice_guid: str | None = None
    invoice_number: str | None = None


def can_view(user: User) -> bool:
    return has_permission(user, Perm.PAYMENTS_VIEW)


def _ensure_reconcile(actor: User | None) -> None:
    if actor is not None and not has_permission(actor, Perm.PAYMENTS_RECONCILE):
        raise PermissionDenied("Разносить платежи может бухгалтер.")


# --- invoice state ------------------------------------------------------------------------------


def paid_amounts(session: Session, document_ids: list[int]) -> dict[int, Decimal]:
    if not document_ids:
        return {}
    rows = session.execute(
        select(PaymentAllocation.document_id, func.sum(PaymentAllocation.amount))
        .where(PaymentAllocation.document_id.in_(document_ids))
        .group_by(PaymentAllocation.document_id)
    )
    return {doc_id: money(total or 0) for doc_id, total in rows}


def outstanding(session: Session, invoice: Document) -> Decimal:
    return invoice.amount - paid_amounts(session, [invoice.id]).get(invoice.id, ZERO)


def invoice_state(invoice: Document, paid: Decimal, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    if paid >= invoice.amount:
        return InvoiceState.PAID
    if invoice.due_date and invoice.due_date < today:
        return InvoiceState.OVERDUE
    return InvoiceState.PARTLY_PAID if paid > 0 else InvoiceState.UNPAID


# --- receiving ----------------------------------------------------------------------------------


def _client_by_inn(session: Session, inn: str | None, kpp: str | None) -> Client | None:
    if not inn:
        return None
    query = select(Client).where(Client.inn == inn, Client.merged_into_id.is_(None))
    candidates = session.scalars(query.order_by(Client.id)).all()
    if kpp:
        exact = [c for c in candidates if c.kpp == kpp]
        if exact:
            return exact[0]
    return candidates[0] if candidates else None


def record_payment(
    session: Session, data: PaymentData, *, actor: User | None = None
) -> tuple[Payment, bool]:
    """Store a payment once (by its accounting id) and allocate it. Returns (payment, created).

    A payment seen before is returned unchanged: re-delivery never counts money twice.
    """
    existing = session.scalar(select(Payment).where(Payment.accounting_id == data.accounting_id))
    if existing is not None:
        return existing, False
    amount = money(data.amount)
    if amount <= 0:
        raise ValidationError("Сумма платежа должна быть больше нуля.")
    client = _client_by_inn(session, data.payer_inn, data.payer_kpp)
    payment = Payment(
        accounting_id=data.accounting_id,
        number=data.number[:40],
        pay_date=data.pay_date,
        payer_name=data.payer_name[:500],
        payer_inn=data.payer_inn or None,
        payer_kpp=data.payer_kpp or None,
        amount=amount,
        unallocated=amount,
        purpose=data.purpose or "",
        invoice_guid=data.invoice_guid,
        invoice_number=data.invoice_number,
        client_id=client.id if client else None,
    )
    session.add(payment)
    session.flush()
    auto_allocate(session, payment, actor=actor)
    return payment, True


def open_invoices(session: Session, client_id: int) -> list[Document]:
    invoices = session.scalars(
        select(Document)
        .where(
            Document.client_id == client_id,
            Document.kind == DocumentKind.INVOICE.value,
            Document.status != DocumentStatus.CANCELLED.value,
        )
        .order_by(Document.doc_date, Document.id)
    ).all()
    paid = paid_amounts(session, [i.id for i in invoices])
    return [i for i in invoices if paid.get(i.id, ZERO) < i.amount]


def numbers_in_purpose(purpose: str) -> list[str]:
    """Invoice numbers a payer wrote: «Оплата по сч. № 15 от 01.11.2026» → ["15"]."""
    found: list[str] = []
    for match in _INVOICE_REF.finditer(purpose or ""):
        for part in re.split(r"\s*(?:,|\bи\b)\s*", match.group("numbers")):
            token = part.replace("№", "").strip().rstrip(".")
            if (
                token
                and token.lower() not in ("от", "на", "оплату")
                and any(ch.isdigit() for ch in token)
            ):
                found.append(token)
    return found


def auto_allocate(session: Session, payment: Payment, *, actor: User | None = None) -> None:
    """Apply the payment's unallocated money to the invoices it most likely pays."""
    targets: list[tuple[Document, str]] = []
    if payment.invoice_guid:
        invoice = session.scalar(
            select(Document).where(
                Document.guid == payment.invoice_guid,
                Document.kind == DocumentKind.INVOICE.value,
                Document.status != DocumentStatus.CANCELLED.value,
            )
        )
        if invoice is not None:
            targets.append((invoice, "reference"))
            if payment.client_id is None:
                payment.client_id = invoice.client_id
    if not targets and payment.client_id is not None:
        candidates = open_invoices(session, payment.client_id)
        by_number = {i.number: i for i in candidates}
        for number in numbers_in_purpose(payment.purpose):
            invoice = by_number.get(number)
            if invoice is not None and all(invoice is not t for t, _ in targets):
                targets.append((invoice, "number"))
        if not targets:
            paid = paid_amounts(session, [i.id for i in candidates])
            exact = [i for i in candidates if i.amount - paid.get(i.id, ZERO) == payment.amount]
            if len(exact) == 1:
                targets.append((exact[0], "amount"))
    for invoice, method in targets:
        if payment.unallocated <= 0:
            break
        due = outstanding(session, invoice)
        if due > 0:
            _allocate(session, payment, invoice, min(due, payment.unallocated), method, actor)


def _allocate(
    session: Session,
    payment: Payment,
    invoice: Document,
    amount: Decimal,
    method: str,
    actor: User | None,
) -> PaymentAllocation:
    first = not session.scalar(
        select(func.count(PaymentAllocation.id)).where(PaymentAllocation.document_id == invoice.id)
    )
    allocation = PaymentAllocation(
        payment_id=payment.id,
        document_id=invoice.id,
        amount=money(amount),
        method=method,
        created_by_id=actor.id if actor else None,
    )
    session.add(allocation)
    payment.unallocated = money(payment.unallocated - allocation.amount)
    if payment.client_id is None:
        payment.client_id = invoice.client_id
    session.flush()
    if first:
        signals.first_payment_received.send(invoice, session=session, actor=actor)
    return allocation


# --- reconciliation by hand -----------------------------------------------------------------------


def allocate_by_hand(
    session: Session,
    payment: Payment,
    invoice: Document,
    amount: Decimal | str | None,
    *,
    actor: User,
) -> PaymentAllocation:
    """Put (part of) a payment on an invoice. Splitting is several such calls."""
    _ensure_reconcile(actor)
    if invoice.kind != DocumentKind.INVOICE.value:
        raise ValidationError("Платёж разносится на счёт на оплату.")
    if invoice.status == DocumentStatus.CANCELLED.value:
        raise Conflict(f"Счёт № {invoice.number} аннулирован.")
    due = outstanding(session, invoice)
    if isinstance(amount, str) and amount and not re.fullmatch(r"\d+(?:\.\d{1,2})?", amount):
        raise ValidationError(
            "Сумма — число с копейками через запятую, например 15000,50.",
            fields={"amount": "не число"},
        )
    try:
        value = money(amount) if amount not in (None, "") else min(due, payment.unallocated)
    except ArithmeticError as err:
        raise ValidationError(
            "Сумма — число, например 15000,50.", fields={"amount": "не число"}
        ) from err
    if value <= 0:
        raise ValidationError(
            "Сумма разнесения должна быть больше нуля.", fields={"amount": "больше нуля"}
        )
    if value > payment.unallocated:
        raise ValidationError(
            f"В платеже осталось неразнесённых {ru_number(payment.unallocated)} руб.",
            fields={"amount": "больше остатка платежа"},
        )
    if value > due:
        raise ValidationError(
            f"По счёту № {invoice.number} осталось к оплате {ru_number(due)} руб.",
            fields={"amount": "больше долга по счёту"},
        )
    return _allocate(session, payment, invoice, value, "manual", actor)


def unassign(session: Session, allocation: PaymentAllocation, *, actor: User) -> Payment:
    """«Снять разнесение»: the money goes back to the payment's unallocated part."""
    _ensure_reconcile(actor)
    payment = allocation.payment
    payment.unallocated = money(payment.unallocated + allocation.amount)
    session.delete(allocation)
    session.flush()
    session.expire(payment, ["allocations"])
    if not payment.allocations:
        # The client may have come from that allocation (an unknown payer): back to what the
        # payer's requisites say.
        client = _client_by_inn(session, payment.payer_inn, payment.payer_kpp)
        payment.client_id = client.id if client else None
        session.flush()
    return payment


def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("Платёж не найден.")
    return payment


def find_invoice(session: Session, number: str, *, client_id: int | None = None) -> Document:
    if not (number or "").strip():
        raise ValidationError(
            "Укажите номер счёта, на который разнести платёж.", fields={"invoice": "не указан"}
        )
    query = select(Document).where(
        Document.kind == DocumentKind.INVOICE.value,
        Document.number == (number or "").strip(),
        Document.status != DocumentStatus.CANCELLED.value,
    )
    if client_id:
        query = query.where(Document.client_id == client_id)
    invoices = session.scalars(query.order_by(Document.id.desc())).all()
    if not invoices:
        raise ValidationError(
            f"Счёт № {number} не найден или аннулирован.", fields={"invoice": "не найден"}
        )
    return invoices[0]
