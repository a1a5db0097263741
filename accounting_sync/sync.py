"""One exchange pass with the accounting system: send the outbox, fetch and apply changes.

No database transaction stays open across a SOAP call: each step reads what it needs in a short
transaction, calls the service with no session open, then records the outcome in another short
transaction. Numbering follows 1C exchange plans: one unconfirmed outgoing batch at a time (a
retry re-sends the same MessageNo, which the peer drops if it had applied it); incoming messages
are applied in the same transaction that moves our ReceivedNo, and one whose number is not
greater than ReceivedNo (a redelivery) is ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounting_sync import messages as m
from accounting_sync.errors import AccountingError
from erp_crm.db import db, utcnow
from erp_crm.integration import services as integration
from erp_crm.integration.models import (
    DocumentSyncState,
    InboundMessage,
    OutboxMessage,
)

log = logging.getLogger(__name__)
KIND_ORDER = ("counterparty", "document", "budget")


@dataclass
class SyncReport:
    sent_batches: int = 0
    sent_objects: int = 0
    failed_batches: int = 0
    dead: int = 0
    waiting: int = 0
    payments_new: int = 0
    payments_known: int = 0
    messages_applied: int = 0
    messages_ignored: int = 0
    statuses: int = 0
    actuals: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"отправлено пакетов: {self.sent_batches} (объектов {self.sent_objects}), "
            f"ошибок отправки: {self.failed_batches}, в «мёртвых»: {self.dead}, "
            f"ждут повтора: {self.waiting}; получено сообщений: {self.messages_applied} "
            f"(повторов отброшено: {self.messages_ignored}), новых платежей: "
            f"{self.payments_new} (уже известных: {self.payments_known}), статусов документов: "
            f"{self.statuses}, фактов бюджета: {self.actuals}"
        )


def make_client(app: Flask) -> Any:
    from accounting_sync.client import AccountingClient

    with app.app_context(), db.job_session(app, write=True) as session:
        conn = integration.connection(session)
    return AccountingClient(
        conn.url, conn.username, conn.password, node=conn.node,
        timeout=min(10.0, conn.timeout), operation_timeout=conn.timeout,
    )


# --- outbound -----------------------------------------------------------------------------------


@dataclass
class Batch:
    kind: str
    ids: list[int]
    payloads: list[dict[str, Any]]
    message_no: int
    received_no: int


def _next_batch(session: Session, batch_size: int) -> Batch | str | None:
    """The unconfirmed batch if there is one (or "wait" while it backs off), else a new one."""
    now = utcnow()
    open_no = session.scalar(
        select(OutboxMessage.message_no)
        .where(OutboxMessage.status == "pending", OutboxMessage.message_no.is_not(None))
        .order_by(OutboxMessage.message_no)
        .limit(1)
    )
    st = integration.state(session)
    if open_no is not None:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.message_no == open_no)
            .order_by(OutboxMessage.id)
        ).all()
        if any(r.next_attempt_at > now for r in rows):
            return "wait"
    else:
        rows = []
        for kind in KIND_ORDER:
            rows = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.message_no.is_(None),
                    OutboxMessage.kind == kind,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.id)
                .limit(1 if kind == "budget" else batch_size)
            ).all()
            if rows:
                break
        if not rows:
            return None
        st.sent_no += 1
        for row in rows:
            row.message_no = st.sent_no
        session.flush()
    return Batch(
        kind=rows[0].kind,
        ids=[r.id for r in rows],
        payloads=[r.payload for r in rows],
        message_no=rows[0].message_no,
        received_no=st.received_no,
    )


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _unique(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same object twice in a batch (two documents of one client): its last state wins."""
    by_guid: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        by_guid.pop(payload["guid"], None)
        by_guid[payload["guid"]] = payload
    return list(by_guid.values())


def to_counterparty(p: dict[str, Any]) -> m.Counterparty:
    return m.Counterparty(
        guid=p["guid"], kind=p["kind"], name=p["name"], full_name=p["full_name"],
        inn=p["inn"], kpp=p.get("kpp") or None, ogrn=p.get("ogrn") or None,
        legal_address=p.get("legal_address") or "", phone=p.get("phone") or "",
        email=p.get("email") or "",
    )


def to_document(p: dict[str, Any]) -> m.Document:
    return m.Document(
        guid=p["guid"], kind=p["kind"], number=p["number"], date=_date(p["date"]),
        status=p["status"], organization_inn=p["organization_inn"],
        counterparty_guid=p["counterparty_guid"], contract_number=p.get("contract_number"),
        contract_date=_date(p.get("contract_date")),
        base_document_guid=p.get("base_document_guid"), project_guid=p.get("project_guid"),
        currency=p.get("currency", "643"), amount=_dec(p["amount"]),
        vat_amount=_dec(p["vat_amount"]),
        lines=tuple(
            m.DocumentLine(
                line_no=int(line["line_no"]), description=line["description"],
                unit=line["unit"], unit_code=line["unit_code"],
                quantity=_dec(line["quantity"]), price=_dec(line["price"]),
                amount=_dec(line["amount"]), vat_rate=str(line["vat_rate"]),
                vat_amount=_dec(line["vat_amount"]),
            )
            for line in p.get("lines", [])
        ),
    )


def to_budget(p: dict[str, Any]) -> m.Budget:
    return m.Budget(
        guid=p["guid"], project_guid=p["project_guid"], project_code=p["project_code"],
        project_name=p["project_name"], version=int(p["version"]),
        status=p.get("status", "approved"),
        lines=tuple(
            m.BudgetLine(
                article_code=line["article_code"], article_name=line["article_name"],
                direction=line["direction"], month=_date(line["month"]),
                amount=_dec(line["amount"]),
            )
            for line in p.get("lines", [])
        ),
    )


def _send(client: Any, batch: Batch) -> m.PutResponse:
    payloads = _unique(batch.payloads)
    if batch.kind == "counterparty":
        return client.put_counterparties(
            batch.message_no, batch.received_no, [to_counterparty(p) for p in payloads])
    if batch.kind == "document":
        return client.put_documents(
            batch.message_no, batch.received_no, [to_document(p) for p in payloads])
    return client.put_budget(batch.message_no, batch.received_no, to_budget(payloads[0]))


def _sent(app: Flask, batch: Batch, response: m.PutResponse) -> None:
    ids = {r.guid: r.accounting_id for r in response.results}
    with db.job_session(app, write=True) as session:
        now = utcnow()
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(batch.ids))):
            row.status, row.sent_at = "sent", now
            row.attempts += 1
            row.last_error = None
            row.accounting_id = ids.get(row.object_guid, row.accounting_id)
        integration.log(
            session, f"Put:{batch.kind}", True,
            f"объектов: {len(batch.ids)}, ответ 1С: {response.status}",
            message_no=batch.message_no,
        )


def _failed(app: Flask, batch: Batch, error: AccountingError, report: SyncReport) -> None:
    config = app.config
    base = float(config.get("ACCOUNTING_BACKOFF_SECONDS", 10))
    limit = int(config.get("ACCOUNTING_MAX_ATTEMPTS", integration.MAX_ATTEMPTS))
    with db.job_session(app, write=True) as session:
        now = utcnow()
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(batch.ids))):
            row.attempts += 1
            row.last_error = error.message[:2000]
            if row.attempts >= limit:
                row.status = "dead"
                row.message_no = None  # a later retry takes a new number
                report.dead += 1
            else:
                row.next_attempt_at = now + integration.backoff(row.attempts, base)
        integration.log(session, f"Put:{batch.kind}", False, error.message,
                        message_no=batch.message_no)


def send_outbox(app: Flask, client: Any, report: SyncReport, *, batch_size: int = 50,
                progress: Callable[[str], None] | None = None) -> None:
    while True:
        with db.job_session(app, write=True) as session:
            batch = _next_batch(session, batch_size)
        if batch is None:
            return
        if batch == "wait":
            report.waiting += 1
            return
        try:
            response = _send(client, batch)  # no transaction is open here
        except AccountingError as err:
            report.failed_batches += 1
            report.errors.append(err.message)
            _failed(app, batch, err, report)
            return  # strictly in order: nothing newer goes before this batch is through
        _sent(app, batch, response)
        report.sent_batches += 1
        report.sent_objects += len(batch.ids)
        if progress:
            progress(f"отправлен пакет № {batch.message_no}: {batch.kind} × {len(batch.ids)}")


# --- inbound ------------------------------------------------------------------------------------


def _apply(session: Session, changes: m.Changes, report: SyncReport) -> InboundMessage:
    from erp_crm.billing import services as billing
    from erp_crm.sales_documents.models import Document

    new = known = statuses = actuals = 0
    for payment in changes.payments:
        _payment, created = billing.record_payment(
            session,
            billing.PaymentData(
                accounting_id=payment.id, number=payment.number, pay_date=payment.date,
                payer_name=payment.payer_name, payer_inn=payment.payer_inn or None,
                payer_kpp=payment.payer_kpp, amount=payment.amount, purpose=payment.purpose,
                invoice_guid=payment.invoice_guid, invoice_number=payment.invoice_number,
            ),
        )
        new, known = new + created, known + (not created)
    for status in changes.document_statuses:
        document_id = session.scalar(select(Document.id).where(Document.guid ==
                                                               status.document_guid))
        if document_id is None:
            continue
        row = session.get(DocumentSyncState, document_id) or DocumentSyncState(
            document_id=document_id)
        row.status = status.status
        row.accounting_number = status.accounting_number
        row.accounting_date = status.accounting_date
        row.comment = status.comment
        row.updated_at = utcnow()
        session.add(row)
        statuses += 1
    apply_actual = _budget_applier()
    for actual in changes.budget_actuals:
        if apply_actual is not None and apply_actual(
            session, project_guid=actual.project_guid, article_code=actual.article_code,
            direction=actual.direction, month=actual.month, amount=actual.amount,
        ):
            actuals += 1
    report.payments_new += new
    report.payments_known += known
    report.statuses += statuses
    report.actuals += actuals
    session.flush()
    return InboundMessage(message_no=changes.message_no, status="applied", payments=new,
                          statuses=statuses, actuals=actuals,
                          note=f"платежей уже известно: {known}" if known else None)


def _budget_applier() -> Callable[..., bool] | None:
    try:
        from erp_crm.budgets.services import apply_actual
    except ImportError:  # pragma: no cover - budgets ship with the app
        return None
    return apply_actual


def fetch_changes(app: Flask, client: Any, report: SyncReport, *, page_size: int = 100,
                  max_pages: int = 100, progress: Callable[[str], None] | None = None) -> None:
    for _ in range(max_pages):
        with db.job_session(app, write=True) as session:  # may create the node's row
            received_no = integration.state(session).received_no
        try:
            changes = client.get_changes(received_no, page_size)  # no transaction open
        except AccountingError as err:
            report.errors.append(err.message)
            with db.job_session(app, write=True) as session:
                integration.log(session, "GetChanges", False, err.message)
            return
        if changes.message_no == 0:
            return
        with db.job_session(app, write=True) as session:
            st = integration.state(session)
            if changes.message_no <= st.received_no:
                report.messages_ignored += 1
                session.add(InboundMessage(message_no=changes.message_no, status="ignored",
                                           note=f"повтор: уже получено до № {st.received_no}"))
                integration.log(session, "GetChanges", True,
                                f"повторно доставленное сообщение № {changes.message_no} "
                                "отброшено", message_no=changes.message_no)
                continue
            session.add(_apply(session, changes, report))
            st.received_no = changes.message_no
            integration.log(
                session, "GetChanges", True,
                f"платежей {len(changes.payments)}, статусов {len(changes.document_statuses)}"
                f", фактов бюджета {len(changes.budget_actuals)}",
                message_no=changes.message_no,
            )
        report.messages_applied += 1
        if progress:
            progress(f"получено сообщение № {changes.message_no}")
        if not changes.has_more:
            return


def sync_once(app: Flask, *, client: Any = None, batch_size: int = 50, page_size: int = 100,
              progress: Callable[[str], None] | None = None) -> SyncReport:
    """One pass: the outbox first (so 1C knows our invoices), then the incoming changes."""
    report = SyncReport()
    own = client is None
    client = client or make_client(app)
    try:
        with app.app_context():
            send_outbox(app, client, report, batch_size=batch_size, progress=progress)
            fetch_changes(app, client, report, page_size=page_size, progress=progress)
    finally:
        if own:
            client.close()
    return report
