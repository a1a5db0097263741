"""One exchange pass with the accounting system: send the outbox, fetch and apply changes.

The state machines are erp_crm's (`erp_crm.integration.outbox` and `.inbox`: which rows go next,
their numbers, attempts and backoff, applying a message exactly once); this loop only moves their
data over SOAP. No database transaction stays open across a SOAP call: each step claims what it
needs in a short transaction, calls the service with no session open, then records the outcome in
another short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from accounting_sync import messages as m
from accounting_sync.errors import AccountingError, AccountingFault
from erp_crm.db import db
from erp_crm.integration import inbox, outbox
from erp_crm.integration import services as integration

log = logging.getLogger(__name__)


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
        conn.url,
        conn.username,
        conn.password,
        node=conn.node,
        timeout=min(10.0, conn.timeout),
        operation_timeout=conn.timeout,
    )


# --- outbound -----------------------------------------------------------------------------------


def _send(client: Any, batch: outbox.Batch) -> m.PutResponse:
    objects = [m.from_payload(batch.kind, p) for p in batch.payloads]
    if batch.kind == "counterparty":
        return client.put_counterparties(batch.message_no, batch.received_no, objects)
    if batch.kind == "document":
        return client.put_documents(batch.message_no, batch.received_no, objects)
    return client.put_budget(batch.message_no, batch.received_no, objects[0])


def send_outbox(
    app: Flask,
    client: Any,
    report: SyncReport,
    *,
    batch_size: int = 50,
    progress: Callable[[str], None] | None = None,
) -> None:
    while True:
        with db.job_session(app, write=True) as session:
            batch = outbox.claim_batch(session, batch_size)
        if batch is None:
            return
        if batch == outbox.WAIT:
            report.waiting += 1
            return
        try:
            response = _send(client, batch)  # no transaction is open here
        except AccountingFault as err:
            # 1C read the batch and refused it: bisect to the object it cannot take, which then
            # waits alone; the others go on in this very pass.
            report.failed_batches += 1
            report.errors.append(err.message)
            with db.job_session(app, write=True) as session:
                report.dead += outbox.split_refused(session, batch, err.message)
            continue
        except AccountingError as err:
            report.failed_batches += 1
            report.errors.append(err.message)
            with db.job_session(app, write=True) as session:
                report.dead += outbox.mark_failed(session, batch, err.message)
            return  # 1C unreachable: nothing newer goes before this batch is through
        with db.job_session(app, write=True) as session:
            outbox.mark_sent(
                session,
                batch,
                answer=response.status,
                accounting_ids={r.guid: r.accounting_id for r in response.results},
            )
        report.sent_batches += 1
        report.sent_objects += len(batch.ids)
        if progress:
            progress(f"отправлен пакет № {batch.message_no}: {batch.kind} × {len(batch.ids)}")


# --- inbound ------------------------------------------------------------------------------------


def fetch_changes(
    app: Flask,
    client: Any,
    report: SyncReport,
    *,
    page_size: int = 100,
    max_pages: int = 100,
    progress: Callable[[str], None] | None = None,
) -> None:
    for _ in range(max_pages):
        with db.job_session(app, write=True) as session:  # may create the node's row
            received_no = inbox.received_no(session)
        try:
            changes = client.get_changes(received_no, page_size)  # no transaction open
        except AccountingError as err:
            report.errors.append(err.message)
            with db.job_session(app, write=True) as session:
                integration.log(session, "GetChanges", False, err.message)
            return
        if changes.is_empty:
            return
        with db.job_session(app, write=True) as session:
            received = inbox.receive(session, changes)
        if not received.applied:
            report.messages_ignored += 1
            continue
        report.payments_new += received.payments_new
        report.payments_known += received.payments_known
        report.statuses += received.statuses
        report.actuals += received.actuals
        report.messages_applied += 1
        if progress:
            progress(f"получено сообщение № {changes.message_no}")
        if not changes.has_more:
            return


def sync_once(
    app: Flask,
    *,
    client: Any = None,
    batch_size: int = 50,
    page_size: int = 100,
    progress: Callable[[str], None] | None = None,
) -> SyncReport:
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
