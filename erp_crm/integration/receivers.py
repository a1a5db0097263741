"""What goes to the accounting system: receivers of the documents' and budgets' signals,
connected when erp_crm.integration is imported.

Issuing or cancelling an invoice, act or VAT invoice writes, in the same transaction, an outbox
row for the counterparty (1C matches it by ИНН+КПП and keeps our GUID) and one for the document;
approving a budget version writes one for the budget. The payloads are built in `payloads`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.budgets.models import BudgetVersion
from erp_crm.clients.models import Client
from erp_crm.core.guids import guid_for
from erp_crm.integration import payloads
from erp_crm.integration.models import OutboxMessage
from erp_crm.integration.outbox import enqueue
from erp_crm.sales_documents.models import Document
from erp_crm.sales_documents.schema import DocumentKind

SENT_KINDS = {DocumentKind.INVOICE.value, DocumentKind.ACT.value, DocumentKind.VAT_INVOICE.value}


@signals.document_issued.connect
def on_issued(document: Document, *, session: Session, **_: object) -> None:
    on_document(session, document, "issued")


@signals.document_cancelled.connect
def on_cancelled(document: Document, *, session: Session, **_: object) -> None:
    on_document(session, document, "cancelled")


def on_document(session: Session, document: Document, action: str) -> None:
    if document.kind not in SENT_KINDS:
        return
    client = session.get(Client, document.client_id)
    counterparty = payloads.counterparty_payload(client)
    problems = payloads.counterparty_problems(counterparty)
    enqueue(
        session,
        "counterparty",
        object_id=client.id,
        guid=guid_for("clients", client.id),
        payload=counterparty,
        label=client.name,
        problems=problems,
    )
    enqueue(
        session,
        "document",
        object_id=document.id,
        guid=document.guid,
        payload=payloads.document_payload(session, document),
        label=document.audit_label() + (" (аннулирование)" if action == "cancelled" else ""),
        problems=[f"Контрагент «{client.name}» не передаётся в 1С.", *problems]
        if problems
        else None,
    )


@signals.budget_approved.connect
def on_budget_approved(version: BudgetVersion, *, session: Session, **_: object) -> None:
    enqueue(
        session,
        "budget",
        object_id=version.id,
        guid=version.guid,
        payload=payloads.budget_payload(session, version),
        label=f"Бюджет проекта {version.project.name}, версия {version.number}",
    )


@signals.document_exchange_state.connect
def document_state(document: Document, *, session: Session, **_: object) -> tuple[str, str] | None:
    """Where the document stands in the exchange: its latest outbox row's status and error."""
    row = session.execute(
        select(OutboxMessage.status, OutboxMessage.last_error)
        .where(OutboxMessage.kind == "document", OutboxMessage.object_id == document.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1] or "") if row else None


@signals.budget_exchange_state.connect
def budget_state(version: BudgetVersion, *, session: Session, **_: object) -> str | None:
    """The status of the latest outbox message that carries this version (None for drafts)."""
    return session.scalar(
        select(OutboxMessage.status)
        .where(OutboxMessage.kind == "budget", OutboxMessage.object_id == version.id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
