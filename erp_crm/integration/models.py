"""Outbox of messages to the accounting system, inbound message log, exchange node state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from erp_crm.db import Base, utcnow

OUTBOX_KINDS = ("counterparty", "document", "budget")
OUTBOX_STATUSES = ("pending", "sent", "dead")


class OutboxMessage(Base):
    """One object to send (its payload frozen when the change was made).

    pending → sent once the accounting side acknowledged the message carrying it; after N failed
    attempts → dead (shown in the exchange log, retried by hand). invalid: what the contract
    forbids (the reason in last_error), never sent. `message_no` is assigned when
    the row joins a batch and kept until that batch is acknowledged, so a retry re-sends the same
    number and the peer drops it as a duplicate if it had applied it.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("kind IN ('counterparty', 'document', 'budget')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'sent', 'dead', 'invalid')", name="status_known"),
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_object", "kind", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int]
    object_guid: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    message_no: Mapped[int | None]
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    accounting_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class InboundMessage(Base):
    """A message received from the accounting system (GetChanges), applied exactly once."""

    __tablename__ = "inbound_messages"
    __table_args__ = (CheckConstraint("status IN ('applied', 'ignored')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_no: Mapped[int]
    status: Mapped[str] = mapped_column(String(8))
    payments: Mapped[int] = mapped_column(default=0)
    statuses: Mapped[int] = mapped_column(default=0)
    actuals: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ExchangeEvent(Base):
    """The exchange log: every call to the accounting system, its result or error."""

    __tablename__ = "exchange_events"
    __table_args__ = (Index("ix_exchange_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    operation: Mapped[str] = mapped_column(String(40))
    ok: Mapped[bool]
    message_no: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text, default="")


class ExchangeState(Base):
    """Our node's counters (one row): the last message number we sent and the last we received."""

    __tablename__ = "exchange_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(40), unique=True)
    sent_no: Mapped[int] = mapped_column(default=0)
    received_no: Mapped[int] = mapped_column(default=0)
    # Connection settings changed by the admin (the password is stored encrypted).
    url: Mapped[str | None] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(200))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime | None]


class DocumentSyncState(Base):
    """What the accounting system says about a document we sent (posted, rejected …)."""

    __tablename__ = "document_sync_states"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    accounting_number: Mapped[str | None] = mapped_column(String(60))
    accounting_date: Mapped[dt.date | None] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
