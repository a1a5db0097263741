"""How documents answer the lower areas' signals: the client card's history timeline; a deal's
lines, discount and prices frozen while its documents are issued.

(Merging clients needs nothing here: clients/dedupe/merging.py moves every foreign key to the
duplicate, documents.client_id included, and its undo points them back.)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.clients import timeline as client_timeline
from erp_crm.clients.models import Client
from erp_crm.deals.models import Deal
from erp_crm.sales_documents.models import Document, DocumentStatus
from erp_crm.ui import ru_number


@signals.client_timeline.connect
def document_events(
    client: Client, *, session: Session, **_: object
) -> list[client_timeline.TimelineEvent]:
    documents = session.scalars(
        select(Document)
        .where(Document.client_id == client.id)
        .order_by(Document.id.desc())
        .limit(100)
    ).all()
    events = []
    for doc in documents:
        events.append(
            client_timeline.TimelineEvent(
                at=doc.issued_at,
                kind="document.issued",
                title=f"Выставлен документ: {doc.audit_label()}, {ru_number(doc.amount)} руб.",
                details={"document_id": doc.id},
                actor_id=doc.issued_by_id,
            )
        )
        if doc.status == DocumentStatus.CANCELLED.value and doc.cancelled_at:
            events.append(
                client_timeline.TimelineEvent(
                    at=doc.cancelled_at,
                    kind="document.cancelled",
                    title=f"Аннулирован документ: {doc.audit_label()}",
                    details={"document_id": doc.id, "reason": doc.cancel_reason},
                    actor_id=doc.cancelled_by_id,
                )
            )
    return events


@signals.deal_pricing_refusal.connect
def issued_documents_freeze_the_deal(deal: Deal, *, session: Session, **_: object) -> str | None:
    """An issued (sent, signed) document states the deal's sum: changing the lines, discount or
    prices would leave it telling another sum. Cancel, change, issue again."""
    if deal.id is None:
        return None
    issued = session.scalars(
        select(Document)
        .where(Document.deal_id == deal.id, Document.status != DocumentStatus.CANCELLED.value)
        .order_by(Document.id)
    ).all()
    if not issued:
        return None
    names = ", ".join(f"«{doc.audit_label()}»" for doc in issued)
    which = "выставлен документ" if len(issued) == 1 else "выставлены документы"
    single = len(issued) == 1
    them = "его" if single else "их (начиная с последнего)"
    return (
        f"Строки, скидку и цены сделки нельзя менять: по ней {which} {names}, и сумма сделки "
        f"разошлась бы {'с ним' if single else 'с ними'}. Чтобы изменить сделку, аннулируйте "
        f"{them} на странице документа, внесите изменения и выпустите заново."
    )
