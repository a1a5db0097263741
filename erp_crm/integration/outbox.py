"""The outbox's state machine: what the app sends to the accounting system, and how far it got.

A row is added by `enqueue` in the business transaction (never commits) and then goes

    pending ──claim_batch──▶ pending with a message_no ──mark_sent──▶ sent
                                    │ ▲
                        mark_failed │ │ (backoff, then the same batch is claimed again)
                                    ▼ │
                         after N attempts: dead ──retry_dead──▶ pending (a new number)

When 1C refuses a batch (a SOAP Fault), `split_refused` bisects it down to the object it cannot
take, which then waits alone while the others go on. What 1C cannot take by the contract's own
rules (a counterparty without an ИНН, a person) is never queued: `enqueue` with `problems`
stores the row as `invalid` with the reason, shown in the exchange log and on the document.

Numbering follows 1C exchange plans: one unconfirmed outgoing batch at a time. `claim_batch` gives
the open batch again (same MessageNo, so the peer drops it if it had applied it) until it is
marked sent or dead, and only then numbers a new one (`exchange_state.sent_no`). The caller (the
exchange pass in accounting_sync) claims in one short transaction, calls 1C with none open, and
marks the outcome in another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, PermissionDenied
from erp_crm.integration import services
from erp_crm.integration.models import OUTBOX_KINDS, OutboxMessage

KIND_ORDER = ("counterparty", "document", "budget")  # 1C must know a counterparty first
MAX_ATTEMPTS = 8  # ACCOUNTING_MAX_ATTEMPTS overrides
BACKOFF_SECONDS = 10.0  # ACCOUNTING_BACKOFF_SECONDS overrides
#: What `claim_batch` answers while the open batch waits out its backoff.
WAIT: Final = "wait"


def enqueue(
    session: Session,
    kind: str,
    *,
    object_id: int,
    guid: str,
    payload: dict[str, Any],
    label: str = "",
    problems: list[str] | None = None,
) -> OutboxMessage:
    """Add an outbox row in the caller's transaction (never commits). The payload is JSON with
    money as strings ("1234.50") and dates as ISO strings (see `payloads`). With `problems`
    (what the contract forbids, in Russian) the row is `invalid`: kept with the reason, never
    sent."""
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    row = OutboxMessage(
        kind=kind, object_id=object_id, object_guid=guid, payload=payload, label=label[:300]
    )
    if problems:
        row.status, row.last_error = "invalid", " ".join(problems)[:2000]
    session.add(row)
    session.flush()
    return row


@dataclass
class Batch:
    """One outgoing message: rows of one kind under one number, and our acknowledgement."""

    kind: str
    ids: list[int]
    payloads: list[dict[str, Any]]  # one per object: the same object twice → its last state
    message_no: int
    received_no: int  # the last message of 1C's we applied, sent along as the acknowledgement


def _unique(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same object twice in a batch (two documents of one client): its last state wins."""
    by_guid: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        by_guid.pop(payload["guid"], None)
        by_guid[payload["guid"]] = payload
    return list(by_guid.values())


def claim_batch(session: Session, batch_size: int = 50) -> Batch | Literal["wait"] | None:
    """The unconfirmed batch if there is one (or WAIT while it backs off), else a new one:
    counterparties first, then documents, then one budget per message; None when all is sent."""
    now = utcnow()
    open_no = session.scalar(
        select(OutboxMessage.message_no)
        .where(OutboxMessage.status == "pending", OutboxMessage.message_no.is_not(None))
        .order_by(OutboxMessage.message_no)
        .limit(1)
    )
    st = services.state(session)
    if open_no is not None:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.message_no == open_no)
            .order_by(OutboxMessage.id)
        ).all()
        if any(r.next_attempt_at > now for r in rows):
            return WAIT
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
        payloads=_unique([r.payload for r in rows]),
        message_no=rows[0].message_no,
        received_no=st.received_no,
    )


def _rows(session: Session, batch: Batch) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(batch.ids))))


def mark_sent(
    session: Session, batch: Batch, *, accounting_ids: Mapping[str, str], answer: str
) -> None:
    """1C acknowledged the batch (`answer`: accepted or duplicate): its rows are sent, each with
    the id 1C gave the object (`accounting_ids`: our GUID → theirs)."""
    now = utcnow()
    for row in _rows(session, batch):
        row.status, row.sent_at = "sent", now
        row.attempts += 1
        row.last_error = None
        row.accounting_id = accounting_ids.get(row.object_guid, row.accounting_id)
    services.log(
        session,
        f"Put:{batch.kind}",
        True,
        f"объектов: {len(batch.ids)}, ответ 1С: {answer}",
        message_no=batch.message_no,
    )


def mark_failed(
    session: Session,
    batch: Batch,
    error: str,
    *,
    max_attempts: int | None = None,
    backoff_base: float | None = None,
) -> int:
    """The call failed: every row counts an attempt and waits `backoff` before the same batch
    goes again; a row at `max_attempts` is dead and releases the number. Answers how many died.
    The limits default to ACCOUNTING_MAX_ATTEMPTS / ACCOUNTING_BACKOFF_SECONDS."""
    config = current_app.config
    if max_attempts is None:
        max_attempts = int(config.get("ACCOUNTING_MAX_ATTEMPTS", MAX_ATTEMPTS))
    if backoff_base is None:
        backoff_base = float(config.get("ACCOUNTING_BACKOFF_SECONDS", BACKOFF_SECONDS))
    now = utcnow()
    dead = 0
    for row in _rows(session, batch):
        row.attempts += 1
        row.last_error = error[:2000]
        if row.attempts >= max_attempts:
            row.status = "dead"
            row.message_no = None  # a later retry takes a new number
            dead += 1
        else:
            row.next_attempt_at = now + backoff(row.attempts, backoff_base)
    services.log(session, f"Put:{batch.kind}", False, error, message_no=batch.message_no)
    return dead


def split_refused(session: Session, batch: Batch, error: str) -> int:
    """1C refused the batch as a whole (a SOAP Fault: it read the message and would not take
    it). Find the object it cannot take instead of holding every object behind it: a batch of
    several keeps its first half under the same number (nothing of it was applied) and releases
    the rest to a later batch, so the next claims bisect down to the bad object; a batch of one
    is that object: it counts a failed attempt with its error and releases its number, so the
    others go on while it waits out its backoff (dead after N attempts, as before).
    Answers how many died (0 or 1)."""
    rows = sorted(_rows(session, batch), key=lambda r: r.id)
    if len(rows) > 1:
        for row in rows[len(rows) // 2 :]:
            row.message_no = None
        services.log(
            session,
            f"Put:{batch.kind}",
            False,
            f"1С отклонила пакет из {len(rows)} объектов: пакет делится, чтобы найти объект с "
            f"ошибкой. {error}",
            message_no=batch.message_no,
        )
        session.flush()
        return 0
    dead = mark_failed(session, batch, error)
    for row in rows:
        row.message_no = None  # the others must not wait behind it
    session.flush()
    return dead


def backoff(attempts: int, base: float) -> dt.timedelta:
    """Exponential: base, 2·base, 4·base … capped at an hour."""
    return dt.timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 3600))


def retry_dead(session: Session, message: OutboxMessage, *, actor: User) -> OutboxMessage:
    """A dead message goes back to the queue with a new message number (the old one is burnt)."""
    if not has_permission(actor, Perm.EXCHANGE_MANAGE):
        raise PermissionDenied("Повторить отправку может администратор.")
    if message.status != "dead":
        raise Conflict("Повторять можно только сообщения с ошибкой отправки.")
    message.status = "pending"
    message.attempts = 0
    message.message_no = None
    message.next_attempt_at = utcnow()
    session.flush()
    return message


def retry_all_dead(session: Session, *, actor: User) -> int:
    if not has_permission(actor, Perm.EXCHANGE_MANAGE):
        raise PermissionDenied("Повторить отправку может администратор.")
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "dead")
        .values(status="pending", attempts=0, message_no=None, next_attempt_at=utcnow())
    )
    return result.rowcount or 0
