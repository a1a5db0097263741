"""Registering changes for the accounting system: call `enqueue` in the business transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from erp_crm.integration.models import OUTBOX_KINDS, OutboxMessage

# Our GUIDs for records that have no guid column: stable, derived from the table and the id.
GUID_NAMESPACE = uuid.UUID("5b0b3f1e-6c1d-4a8e-9d51-2b7f1c9a0e77")


def guid_for(table: str, object_id: int) -> str:
    """The GUID the accounting side knows a record of ours by (e.g. guid_for("projects", 7))."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{table}/{object_id}"))


def enqueue(
    session: Session,
    kind: str,
    *,
    object_id: int,
    guid: str,
    payload: dict[str, Any],
    label: str = "",
) -> OutboxMessage:
    """Add an outbox row in the caller's transaction (never commits). The payload is JSON with
    money as strings ("1234.50") and dates as ISO strings."""
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    row = OutboxMessage(
        kind=kind, object_id=object_id, object_guid=guid, payload=payload, label=label[:300]
    )
    session.add(row)
    session.flush()
    return row
