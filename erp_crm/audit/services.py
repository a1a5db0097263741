"""Writes audit rows automatically for every `Audited` record a session flushes.

The actor is taken from `session.info["actor_id"]` (set by CLI commands and jobs through
`erp_crm.db.set_actor`) or, inside a request, from `g.actor_id` (set by the login checks). Rows
are inserted on the flushing connection, so they commit or roll back with the change they
describe. Models opt in with the `erp_crm.db.Audited` mixin, which lives below every area (auth
included), so no area has to import this package to be audited.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from flask import g, has_app_context
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import NO_VALUE

from erp_crm.audit.models import AuditEntry
from erp_crm.db import Audited, utcnow

SECRET = "***"  # noqa: S105  (the placeholder shown instead of a secret)


def _actor_id(session: Session) -> int | None:
    if "actor_id" in session.info:
        return session.info["actor_id"]
    if has_app_context():
        return g.get("actor_id")
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is NO_VALUE:
        return None
    return value


def _columns(obj: Audited) -> list[str]:
    mapper = inspect(obj).mapper
    excluded = obj.__audit_exclude__ | {"created_at", "updated_at"}
    return [attr.key for attr in mapper.column_attrs if attr.key not in excluded]


def _row(obj: Audited, action: str, changes: dict[str, Any], actor_id: int | None) -> dict:
    return {
        "at": utcnow(),
        "actor_id": actor_id,
        "entity_type": obj.__tablename__,  # type: ignore[attr-defined]
        "entity_id": obj.id,  # type: ignore[attr-defined]
        "action": action,
        "label": obj.audit_label()[:255],
        "changes": changes,
    }


def _snapshot(obj: Audited) -> dict[str, Any]:
    values = {
        key: SECRET if key in obj.__audit_secret__ else _plain(getattr(obj, key))
        for key in _columns(obj)
    }
    return {**values, **_plain(obj.audit_extra())}


def _diff(obj: Audited) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if _plain(old) == _plain(new):
            continue
        if key in obj.__audit_secret__:
            changes[key] = [SECRET, SECRET]
        else:
            changes[key] = [_plain(old), _plain(new)]
    return changes


def record(
    session: Session, obj: Audited, action: str, changes: dict[str, Any] | None = None
) -> None:
    """Write an explicit audit row (merges, bulk moves, logins: actions that are not a diff)."""
    session.flush()
    session.execute(
        insert(AuditEntry), [_row(obj, action, _plain(changes or {}), _actor_id(session))]
    )


def history(session: Session, entity_type: str, entity_id: int) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id.desc())
        )
    )


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    actor_id = _actor_id(session)
    rows = []
    for obj in session.new:
        if isinstance(obj, Audited):
            rows.append(_row(obj, "create", _snapshot(obj), actor_id))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            changes = _diff(obj)
            if changes:
                rows.append(_row(obj, "update", changes, actor_id))
    for obj in session.deleted:
        if isinstance(obj, Audited):
            rows.append(_row(obj, "delete", _snapshot(obj), actor_id))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
