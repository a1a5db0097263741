"""The client card's history: its audit rows, its contacts' and those of duplicates merged into
it, with the events the areas above answer to `signals.client_timeline`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.clients.models import Client


@dataclass
class TimelineEvent:
    at: dt.datetime
    kind: str
    title: str
    details: dict[str, Any]
    actor_id: int | None


def timeline(session: Session, client: Client, *, limit: int = 100) -> list[TimelineEvent]:
    """The card's events, newest first. An audit event's `details` say which row it is
    (entity_type, entity_id, action) and hold its `changes`, for audit/presentation.py; the
    rows of a duplicate merged into this client say so in their title."""
    from erp_crm.audit.models import AuditEntry
    from erp_crm.audit.presentation import action_label, prefetch

    contact_ids = [c.id for c in client.contacts]
    merged = dict(
        session.execute(
            select(Client.id, Client.name).where(Client.merged_into_id == client.id)
        ).all()
    )
    conditions = [
        (AuditEntry.entity_type == "clients") & (AuditEntry.entity_id.in_([client.id, *merged]))
    ]
    if contact_ids:
        conditions.append(
            (AuditEntry.entity_type == "contact_persons") & (AuditEntry.entity_id.in_(contact_ids))
        )
    entries = session.scalars(
        select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.id.desc()).limit(limit)
    ).all()
    # The clients, users … the rows name, looked up at once for the page (in a request).
    prefetch(((e.entity_type, e.action, e.changes) for e in entries), session)
    titles = {
        ("clients", "create"): "Контрагент создан",
        ("clients", "update"): "Изменены данные контрагента",
        ("clients", "merged"): "Объединён с дублем",
        ("clients", "merged_into"): "Запись объединена в другую",
        ("clients", "unmerged"): "Объединение отменено",
        ("clients", "competitor_added"): "Отмечено участие в выставке конкурента",
        ("clients", "competitor_removed"): "Снято участие в выставке конкурента",
        ("contact_persons", "create"): "Добавлено контактное лицо",
        ("contact_persons", "update"): "Изменено контактное лицо",
    }

    def title(e: AuditEntry) -> str:
        text = titles.get((e.entity_type, e.action)) or action_label(e.action).capitalize()
        if e.entity_type == "contact_persons":
            return f"{text}: {e.label}"
        if e.entity_id != client.id:  # a duplicate merged into this client
            return f"{text} (запись № {e.entity_id} «{merged.get(e.entity_id) or e.label}»)"
        return text

    events = [
        TimelineEvent(
            at=e.at,
            kind=f"audit.{e.action}",
            title=title(e),
            details={
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
                "action": e.action,
                "changes": e.changes if isinstance(e.changes, dict) else {},
            },
            actor_id=e.actor_id,
        )
        for e in entries
    ]
    for answer in signals.answers(signals.client_timeline, client, session=session):
        events.extend(answer)
    events.sort(key=lambda ev: ev.at, reverse=True)
    return events[:limit]
