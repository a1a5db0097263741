"""The inbox's state machine: what the accounting system reports, applied exactly once.

1C numbers its messages for our node (GetChanges). `receive` applies one in the caller's
transaction — payments (stored once by their 1C id and allocated), document statuses, budget
actuals (upserts) — records it in the inbound log and moves our ReceivedNo, all together, so a
crash leaves either everything or nothing. A message whose number is not above ReceivedNo is a
redelivery: recorded as ignored, nothing applied. The caller acknowledges by sending
`received_no` with its next call; until then 1C delivers the same message again.

The message is any object shaped like the contract's `Changes` (see the protocols below):
erp_crm knows the fields, not the SOAP package that carries them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.billing import services as billing
from erp_crm.budgets import services as budgets
from erp_crm.db import utcnow
from erp_crm.integration import services
from erp_crm.integration.models import DocumentSyncState, InboundMessage
from erp_crm.sales_documents.models import Document


class IncomingPayment(Protocol):
    id: str
    number: str
    date: dt.date
    payer_name: str
    payer_inn: str
    payer_kpp: str | None
    amount: Decimal
    purpose: str
    invoice_guid: str | None
    invoice_number: str | None


class IncomingDocumentStatus(Protocol):
    document_guid: str
    status: str
    accounting_number: str | None
    accounting_date: dt.date | None
    comment: str | None


class IncomingBudgetActual(Protocol):
    project_guid: str
    article_code: str
    direction: str
    month: dt.date
    amount: Decimal


class IncomingMessage(Protocol):
    message_no: int
    payments: Sequence[IncomingPayment]
    document_statuses: Sequence[IncomingDocumentStatus]
    budget_actuals: Sequence[IncomingBudgetActual]


@dataclass
class Received:
    """What one message did: applied or ignored as a redelivery, and its counts."""

    applied: bool
    payments_new: int = 0
    payments_known: int = 0  # already stored by their 1C id: not counted twice
    statuses: int = 0
    actuals: int = 0


def received_no(session: Session) -> int:
    """The last message of 1C's we applied: the acknowledgement to send with the next call."""
    return services.state(session).received_no


def receive(session: Session, message: IncomingMessage) -> Received:
    """Apply `message` once (see the module's docstring). Never commits."""
    st = services.state(session)
    if message.message_no <= st.received_no:
        session.add(
            InboundMessage(
                message_no=message.message_no,
                status="ignored",
                note=f"повтор: уже получено до № {st.received_no}",
            )
        )
        services.log(
            session,
            "GetChanges",
            True,
            f"повторно доставленное сообщение № {message.message_no} отброшено",
            message_no=message.message_no,
        )
        return Received(applied=False)
    result = _apply(session, message)
    session.add(
        InboundMessage(
            message_no=message.message_no,
            status="applied",
            payments=result.payments_new,
            statuses=result.statuses,
            actuals=result.actuals,
            note=f"платежей уже известно: {result.payments_known}"
            if result.payments_known
            else None,
        )
    )
    st.received_no = message.message_no
    services.log(
        session,
        "GetChanges",
        True,
        f"платежей {len(message.payments)}, статусов {len(message.document_statuses)}"
        f", фактов бюджета {len(message.budget_actuals)}",
        message_no=message.message_no,
    )
    session.flush()
    return result


def _apply(session: Session, message: IncomingMessage) -> Received:
    result = Received(applied=True)
    for payment in message.payments:
        _payment, created = billing.record_payment(
            session,
            billing.PaymentData(
                accounting_id=payment.id,
                number=payment.number,
                pay_date=payment.date,
                payer_name=payment.payer_name,
                payer_inn=payment.payer_inn or None,
                payer_kpp=payment.payer_kpp,
                amount=payment.amount,
                purpose=payment.purpose,
                invoice_guid=payment.invoice_guid,
                invoice_number=payment.invoice_number,
            ),
        )
        if created:
            result.payments_new += 1
        else:
            result.payments_known += 1
    for status in message.document_statuses:
        document_id = session.scalar(
            select(Document.id).where(Document.guid == status.document_guid)
        )
        if document_id is None:
            continue
        row = session.get(DocumentSyncState, document_id) or DocumentSyncState(
            document_id=document_id
        )
        row.status = status.status
        row.accounting_number = status.accounting_number
        row.accounting_date = status.accounting_date
        row.comment = status.comment
        row.updated_at = utcnow()
        session.add(row)
        result.statuses += 1
    for actual in message.budget_actuals:
        if budgets.apply_actual(
            session,
            project_guid=actual.project_guid,
            article_code=actual.article_code,
            direction=actual.direction,
            month=actual.month,
            amount=actual.amount,
        ):
            result.actuals += 1
    session.flush()
    return result
