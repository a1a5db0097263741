"""Planning contacts and recording their formalized results, with the consequences each result
has (the next contact planned, the project's deal lost, the deal linked). Functions take the
session and the acting user; they flush and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from erp_crm.activities import access
from erp_crm.activities.models import (
    Activity,
    ActivityReason,
    ActivityType,
    ReasonKind,
    Status,
)
from erp_crm.auth.models import User
from erp_crm.clients.models import Client, ContactChannel, ContactPerson
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects.models import Project

DEFAULT_TIME_ZONE = "Europe/Moscow"
# A contact "planned" a few minutes ago is a typing delay, not a contact in the past.
PAST_GRACE = dt.timedelta(minutes=5)
MAX_DURATION_MINUTES = 24 * 60
MAX_REMINDER_MINUTES = 14 * 24 * 60


def zone_of(user: User | None) -> ZoneInfo:
    try:
        return ZoneInfo((user.time_zone if user else None) or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def to_utc(local: dt.datetime, user: User | None) -> dt.datetime:
    """A wall-clock time the user typed (naive) → UTC; an aware one is only converted."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone_of(user))
    return local.astimezone(dt.UTC)


def to_local(moment: dt.datetime, user: User | None) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone_of(user))


def parse_int(raw: Any, name: str, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        errors[name] = "Ожидается номер записи."
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors[name] = "Ожидается номер записи."
        return None


def parse_moment(raw: Any, name: str, errors: dict[str, str]) -> dt.datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        errors[name] = "Дата и время в формате ГГГГ-ММ-ДД ЧЧ:ММ."
        return None


def _offsets(raw: Any, errors: dict[str, str]) -> list[int]:
    if raw in (None, ""):
        return []
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else raw
    if not isinstance(items, Iterable):
        errors["reminders"] = "Напоминания — минуты до начала через запятую."
        return []
    offsets: set[int] = set()
    for item in items:
        if item in (None, "") or (isinstance(item, str) and not item.strip()):
            continue
        try:
            value = int(item)
        except (TypeError, ValueError):
            errors["reminders"] = "Напоминания — минуты до начала через запятую."
            return []
        if value < 0:
            errors["reminders"] = "Напоминание должно быть до начала контакта, не после."
            return []
        if value > MAX_REMINDER_MINUTES:
            errors["reminders"] = "Напоминание — не раньше чем за 14 дней до контакта."
            return []
        offsets.add(value)
    return sorted(offsets, reverse=True)


# --- planning -----------------------------------------------------------------------------------


@dataclass
class ActivityData:
    """What a planned contact needs; the page, the API and bulk planning share it."""

    type_id: int | None = None
    goal: str = ""
    client_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    project_id: int | None = None
    responsible_id: int | None = None
    starts_at: dt.datetime | None = None  # aware, or naive in the responsible user's zone
    duration_minutes: int | None = None
    reminders: list[int] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ActivityData:
        errors: dict[str, str] = {}
        values = {
            key: parse_int(data.get(key), key, errors)
            for key in (
                "type_id",
                "client_id",
                "contact_id",
                "deal_id",
                "project_id",
                "responsible_id",
                "duration_minutes",
            )
        }
        goal = data.get("goal")
        if goal is not None and not isinstance(goal, str):
            errors["goal"] = "Цель — строка текста."
        item = cls(
            goal=(goal or "").strip() if isinstance(goal, str) else "",
            starts_at=parse_moment(data.get("starts_at"), "starts_at", errors),
            reminders=_offsets(data.get("reminders"), errors),
            **values,
        )
        if errors:
            raise ValidationError(fields=errors)
        return item


def active_types(session: Session) -> list[ActivityType]:
    return list(
        session.scalars(
            select(ActivityType)
            .where(ActivityType.is_active.is_(True))
            .order_by(ActivityType.position, ActivityType.name)
        )
    )


def reasons(session: Session, kind: ReasonKind) -> list[ActivityReason]:
    return list(
        session.scalars(
            select(ActivityReason)
            .where(ActivityReason.kind == kind.value, ActivityReason.is_active.is_(True))
            .order_by(ActivityReason.name)
        )
    )


def _checked(
    session: Session, data: ActivityData, *, actor: User, now: dt.datetime, current=None
) -> dict[str, Any]:
    """Validate a plan; returns the column values. Every problem is reported at once."""
    errors: dict[str, str] = {}
    kind = session.get(ActivityType, data.type_id) if data.type_id else None
    if kind is None or (not kind.is_active and (current is None or current.type_id != kind.id)):
        errors["type_id"] = "Выберите тип контакта."
    if not data.goal:
        errors["goal"] = "Укажите цель контакта."
    elif len(data.goal) > 500:
        errors["goal"] = "Цель — не длиннее 500 символов."
    client = session.get(Client, data.client_id) if data.client_id else None
    if client is None:
        errors["client_id"] = "Выберите клиента."
    elif client.is_merged:
        survivor = session.get(Client, client.merged_into_id)
        errors["client_id"] = (
            f"Клиент объединён с «{survivor.name if survivor else '—'}»: планируйте контакт с ним."
        )
    contact = session.get(ContactPerson, data.contact_id) if data.contact_id else None
    if data.contact_id and (contact is None or client is None or contact.client_id != client.id):
        errors["contact_id"] = "Контактное лицо должно быть сотрудником этого клиента."
    deal = session.get(Deal, data.deal_id) if data.deal_id else None
    if data.deal_id and (deal is None or client is None or deal.client_id != client.id):
        errors["deal_id"] = "Сделка должна быть сделкой этого клиента."
    project_id = deal.project_id if deal is not None else data.project_id
    if project_id and session.get(Project, project_id) is None:
        errors["project_id"] = "Выставочный проект не найден."
    responsible_id = data.responsible_id or (current.responsible_id if current else actor.id)
    responsible = session.get(User, responsible_id)
    if responsible is None or not responsible.is_active:
        errors["responsible_id"] = "Ответственный не найден или отключён."
    duration = data.duration_minutes or (
        current.duration_minutes if current else (kind.default_minutes if kind else 15)
    )
    if not 0 < duration <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = "Длительность — от 1 минуты до суток."
    starts_at = None
    if data.starts_at is None:
        errors["starts_at"] = "Укажите дату и время контакта."
    else:
        starts_at = to_utc(data.starts_at, responsible or actor)
        if starts_at < now - PAST_GRACE:
            errors["starts_at"] = "Нельзя запланировать контакт на прошедшее время."
    if errors:
        raise ValidationError(fields=errors)
    assert client is not None and responsible is not None
    if not access.can_plan(actor, client, responsible.id):
        raise PermissionDenied(
            "Планировать контакты другим сотрудникам можно по своим клиентам; "
            "любые — руководитель ОП."
        )
    return {
        "type_id": data.type_id,
        "goal": data.goal,
        "client_id": client.id,
        "contact_id": contact.id if contact else None,
        "deal_id": deal.id if deal else None,
        "project_id": project_id,
        "responsible_id": responsible.id,
        "starts_at": starts_at,
        "duration_minutes": duration,
        "reminders": list(data.reminders),
    }


def plan(
    session: Session, data: ActivityData, *, actor: User, now: dt.datetime | None = None
) -> Activity:
    """Plan a contact in the future."""
    values = _checked(session, data, actor=actor, now=now or utcnow())
    activity = Activity(author_id=actor.id, status=Status.PLANNED.value, **values)
    session.add(activity)
    session.flush()
    return activity


def ensure_workable(actor: User, activity: Activity) -> None:
    if not access.can_work_activity(actor, activity):
        raise PermissionDenied("Контакт ведёт другой менеджер.")


def ensure_planned(activity: Activity) -> None:
    if activity.status != Status.PLANNED.value:
        raise Conflict(
            "Контакт уже выполнен или отменён: запланируйте новый."
            if activity.status == Status.CANCELLED.value
            else "Контакт уже выполнен: его результат меняют на карточке контакта."
        )


def update_plan(
    session: Session,
    activity: Activity,
    data: ActivityData,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Activity:
    ensure_workable(actor, activity)
    ensure_planned(activity)
    values = _checked(session, data, actor=actor, now=now or utcnow(), current=activity)
    for key, value in values.items():
        setattr(activity, key, value)
    session.flush()
    return activity


def move(
    session: Session,
    activity: Activity,
    starts_at: dt.datetime,
    *,
    actor: User,
    duration_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> Activity:
    """Drag in the calendar: a new start (and length); the rest of the plan stays."""
    ensure_workable(actor, activity)
    ensure_planned(activity)
    moment = to_utc(starts_at, activity.responsible)
    if moment < (now or utcnow()) - PAST_GRACE:
        raise ValidationError(fields={"starts_at": "Нельзя перенести контакт в прошлое."})
    if duration_minutes is not None:
        if not 0 < duration_minutes <= MAX_DURATION_MINUTES:
            raise ValidationError(
                fields={"duration_minutes": "Длительность — от 1 минуты до суток."}
            )
        activity.duration_minutes = duration_minutes
    activity.starts_at = moment
    session.flush()
    return activity


def cancel(session: Session, activity: Activity, *, actor: User, note: str = "") -> Activity:
    ensure_workable(actor, activity)
    ensure_planned(activity)
    activity.status = Status.CANCELLED.value
    activity.result_text = (note or "").strip()[:2000] or None
    activity.completed_at = utcnow()
    activity.completed_by_id = actor.id
    session.flush()
    return activity


# --- lists --------------------------------------------------------------------------------------


def activities_of_client(session: Session, client: Client, limit: int = 50) -> list[Activity]:
    """The client card: planned first (soonest first), then the latest done or cancelled."""
    planned = session.scalars(
        select(Activity)
        .where(Activity.client_id == client.id, Activity.status == Status.PLANNED.value)
        .order_by(Activity.starts_at)
        .limit(limit)
    ).all()
    closed = session.scalars(
        select(Activity)
        .where(Activity.client_id == client.id, Activity.status != Status.PLANNED.value)
        .order_by(Activity.starts_at.desc())
        .limit(limit)
    ).all()
    return [*planned, *closed]


def activities_of_deal(session: Session, deal: Deal) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity).where(Activity.deal_id == deal.id).order_by(Activity.starts_at.desc())
        )
    )


PLANNED_INLINE = bindparam("planned_status", Status.PLANNED.value, literal_execute=True)


@dataclass(slots=True)
class DayType:
    name: str
    icon: str


@dataclass(slots=True)
class DayClient:
    name: str


@dataclass(slots=True)
class DayContact:
    full_name: str
    phones: list[str]


@dataclass(slots=True)
class DayItem:
    """A planned contact as the day's lists show it (activities/_list.html reads the same names
    of an Activity), read as plain columns: no ORM object per row."""

    id: int
    goal: str
    starts_at: dt.datetime
    status: str
    type: DayType
    client: DayClient
    contact: DayContact | None

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.status == Status.PLANNED.value and self.starts_at < (now or utcnow())


@dataclass
class Day:
    overdue: Sequence[DayItem]
    today: Sequence[DayItem]
    tomorrow: Sequence[DayItem]


PHONE_SEPARATOR = "\x1f"  # never typed in a phone number
_DAY_STATEMENTS: dict[tuple[str, int], Any] = {}


def _day_statement(dialect: str, limit: int) -> Any:
    """«Мой день»'s three lists as one statement with the contact person's phones, built once
    per dialect (every manager opens the page many times a day). Parameters: user_id, now,
    tomorrow, day_after."""
    key = (dialect, limit)
    if key in _DAY_STATEMENTS:
        return _DAY_STATEMENTS[key]
    phones = func.aggregate_strings(ContactChannel.value, PHONE_SEPARATOR)
    if dialect == "postgresql":
        # SQLite before 3.44 has no ORDER BY inside group_concat; it aggregates in the order of
        # the (contact_id) index, which is the channels' order of entry anyway.
        phones = phones.aggregate_order_by(ContactChannel.id)
    phones_of = (
        select(phones)
        .where(ContactChannel.contact_id == Activity.contact_id, ContactChannel.kind == "phone")
        .correlate(Activity)
        .scalar_subquery()
    )
    bounds = (
        (None, bindparam("now")),
        (bindparam("now"), bindparam("tomorrow")),
        (bindparam("tomorrow"), bindparam("day_after")),
    )
    parts = []
    for section, (low, high) in enumerate(bounds):
        part = (
            select(
                literal(section).label("section"),
                Activity.id,
                Activity.goal,
                Activity.starts_at,
                Activity.status,
                ActivityType.name.label("type_name"),
                ActivityType.icon,
                Client.name.label("client_name"),
                Activity.contact_id,
                ContactPerson.full_name,
                phones_of.label("phones"),
            )
            .join(ActivityType, ActivityType.id == Activity.type_id)
            .join(Client, Client.id == Activity.client_id)
            .outerjoin(ContactPerson, ContactPerson.id == Activity.contact_id)
            # The status inline, not a parameter: a generic plan of a prepared statement can
            # then still use the partial index of planned contacts.
            .where(
                Activity.responsible_id == bindparam("user_id"),
                Activity.status == PLANNED_INLINE,
                Activity.starts_at < high,
            )
            .order_by(Activity.starts_at, Activity.id)
            .limit(limit)
        )
        if low is not None:
            part = part.where(Activity.starts_at >= low)
        parts.append(select(part.subquery()))
    union = union_all(*parts).subquery()
    statement = select(union).order_by(union.c.section, union.c.starts_at, union.c.id)
    _DAY_STATEMENTS[key] = statement
    return statement


def day_of(
    session: Session, user: User, *, now: dt.datetime | None = None, limit: int = 200
) -> Day:
    """«Мой день»: what is overdue, what is on today and tomorrow, in the user's zone (each up
    to `limit`), with the contact persons' phones: one statement."""
    now = now or utcnow()
    local_today = to_local(now, user).date()
    tomorrow = to_utc(dt.datetime.combine(local_today, dt.time()), user) + dt.timedelta(days=1)
    rows = session.execute(
        _day_statement(session.get_bind().dialect.name, limit),
        {
            "user_id": user.id,
            "now": now,
            "tomorrow": tomorrow,
            "day_after": tomorrow + dt.timedelta(days=1),
        },
    )
    types: dict[tuple[str, str], DayType] = {}
    sections: list[list[DayItem]] = [[], [], []]
    for r in rows:
        kind = types.get((r.type_name, r.icon))
        if kind is None:
            kind = types[(r.type_name, r.icon)] = DayType(r.type_name, r.icon)
        contact = (
            DayContact(r.full_name, r.phones.split(PHONE_SEPARATOR) if r.phones else [])
            if r.contact_id is not None
            else None
        )
        sections[r.section].append(
            DayItem(r.id, r.goal, r.starts_at, r.status, kind, DayClient(r.client_name), contact)
        )
    return Day(overdue=sections[0], today=sections[1], tomorrow=sections[2])


@dataclass
class DepartmentRow:
    user: User
    overdue: int = 0
    today: int = 0
    done_today: int = 0


def department_day(
    session: Session, users: Sequence[User], *, now: dt.datetime | None = None
) -> list[DepartmentRow]:
    """The head of sales' look at the department's day: per person, planned contacts overdue,
    still ahead today, and done today (the day in each user's own zone). One grouped query."""
    now = now or utcnow()
    rows = {u.id: DepartmentRow(u) for u in users}
    if not rows:
        return []
    bounds = {}
    for user in users:
        start = to_utc(dt.datetime.combine(to_local(now, user).date(), dt.time()), user)
        bounds[user.id] = (start, start + dt.timedelta(days=1))
    found = session.execute(
        select(
            Activity.responsible_id, Activity.status, Activity.starts_at, Activity.completed_at
        ).where(
            Activity.responsible_id.in_(list(rows)),
            Activity.starts_at < now + dt.timedelta(days=1),
            (Activity.status == Status.PLANNED.value)
            | (Activity.completed_at >= now - dt.timedelta(days=1)),
        )
    )
    for user_id, status, starts_at, completed_at in found:
        row, (start, end) = rows[user_id], bounds[user_id]
        if status == Status.PLANNED.value:
            if starts_at < now:
                row.overdue += 1
            elif starts_at < end:
                row.today += 1
        elif status == Status.DONE.value and completed_at is not None and start <= completed_at:
            row.done_today += 1
    return sorted(rows.values(), key=lambda r: r.user.full_name)
