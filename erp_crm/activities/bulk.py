"""«Plan a call to every client of this group / selection», spread over the clients' curators
(or one chosen manager) and over working days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.activities import access
from erp_crm.activities.models import Activity, ActivityType, Status
from erp_crm.activities.services import PAST_GRACE, to_utc
from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.core import workdays
from erp_crm.db import utcnow
from erp_crm.errors import PermissionDenied, ValidationError

MAX_BULK = 20_000

# --- bulk planning ------------------------------------------------------------------------------


@dataclass
class BulkPlan:
    """«Plan a call to every client of this group / selection», spread over the clients' curators
    (or one chosen manager) and over working days."""

    client_ids: list[int]
    type_id: int | None = None
    goal: str = ""
    first_day: dt.date | None = None
    working_days: int = 5
    day_start: dt.time = dt.time(10, 0)
    day_end: dt.time = dt.time(18, 0)
    responsible_id: int | None = None  # None: each client's curator (the actor for no curator)
    reminders: list[int] = field(default_factory=list)


@dataclass
class BulkResult:
    planned: int
    skipped_merged: int
    by_responsible: dict[int, int]


def bulk_plan(
    session: Session, plan_: BulkPlan, *, actor: User, now: dt.datetime | None = None
) -> BulkResult:
    now = now or utcnow()
    errors: dict[str, str] = {}
    kind = session.get(ActivityType, plan_.type_id) if plan_.type_id else None
    if kind is None or not kind.is_active:
        errors["type_id"] = "Выберите тип контакта."
    if not plan_.goal.strip():
        errors["goal"] = "Укажите цель контактов."
    if not plan_.client_ids:
        errors["client_ids"] = "Выберите клиентов."
    elif len(plan_.client_ids) > MAX_BULK:
        errors["client_ids"] = f"За один раз — не больше {MAX_BULK} клиентов."
    if plan_.first_day is None:
        errors["first_day"] = "Укажите первый день."
    if not 1 <= plan_.working_days <= 60:
        errors["working_days"] = "Распределить можно на 1–60 рабочих дней."
    if plan_.day_end <= plan_.day_start:
        errors["day_end"] = "Конец рабочего дня — позже начала."
    fixed = session.get(User, plan_.responsible_id) if plan_.responsible_id else None
    if plan_.responsible_id and (fixed is None or not fixed.is_active):
        errors["responsible_id"] = "Ответственный не найден или отключён."
    if errors:
        raise ValidationError(fields=errors)
    assert kind is not None and plan_.first_day is not None
    clients = session.scalars(select(Client).where(Client.id.in_(set(plan_.client_ids)))).all()
    alive = [c for c in clients if not c.is_merged]
    active_ids = set(session.scalars(select(User.id).where(User.is_active.is_(True))))
    queues: dict[int, list[Client]] = {}
    for client in sorted(alive, key=lambda c: c.name_norm or c.name):
        if fixed is not None:
            owner = fixed.id
        else:
            owner = client.curator_id if client.curator_id in active_ids else actor.id
        if not access.can_plan(actor, client, owner):
            raise PermissionDenied(
                f"Планировать контакты по клиенту «{client.name}» может его куратор "
                "или руководитель ОП."
            )
        queues.setdefault(owner, []).append(client)
    days = _working_days(plan_.first_day, plan_.working_days)
    window = dt.datetime.combine(plan_.first_day, plan_.day_end) - dt.datetime.combine(
        plan_.first_day, plan_.day_start
    )
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(queues))))}
    activities = []
    for owner, queue in queues.items():
        per_day = -(-len(queue) // len(days))
        step = window / per_day
        for index, client in enumerate(queue):
            day, slot = days[index // per_day], index % per_day
            local = dt.datetime.combine(day, plan_.day_start) + step * slot
            starts_at = to_utc(local.replace(second=0, microsecond=0), users[owner])
            if starts_at < now - PAST_GRACE:
                raise ValidationError(fields={"first_day": "Первый день и время — не в прошлом."})
            activities.append(
                Activity(
                    author_id=actor.id,
                    status=Status.PLANNED.value,
                    type_id=kind.id,
                    goal=plan_.goal.strip()[:500],
                    client_id=client.id,
                    responsible_id=owner,
                    starts_at=starts_at,
                    duration_minutes=kind.default_minutes,
                    reminders=list(plan_.reminders),
                )
            )
    session.add_all(activities)
    session.flush()
    return BulkResult(
        planned=len(activities),
        skipped_merged=len(clients) - len(alive),
        by_responsible={owner: len(queue) for owner, queue in queues.items()},
    )


def _working_days(first: dt.date, count: int) -> list[dt.date]:
    """`count` working days of the production calendar from `first` on (transfers included)."""
    days, day = [], first
    while len(days) < count:
        if workdays.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days
