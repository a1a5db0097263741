"""The calendar of contacts: the events of a date range for one user or the sales department,
and the private iCal feed («мой календарь» in a phone or Outlook) with its secret link.

The browser's calendar shows the viewer's wall clock: event times are sent already converted to
the viewer's zone (ISO without an offset, which FullCalendar reads in its `timeZone`), and the
times it sends back are read in the same zone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from icalendar import Calendar, Event
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from erp_crm.activities import access
from erp_crm.activities.models import STATUS_LABELS, Activity, ActivityType, Status
from erp_crm.activities.services import MAX_DURATION_MINUTES, to_utc, zone_of
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Role
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.core.text import display_phone
from erp_crm.db import UTCDateTime, utcnow
from erp_crm.errors import ValidationError

MAX_RANGE = dt.timedelta(days=62)
FEED_PAST = dt.timedelta(days=30)
FEED_AHEAD = dt.timedelta(days=180)
DEPARTMENT_ROLES = (Role.SALES_MANAGER.value, Role.HEAD_OF_SALES.value)

COLORS = {
    "planned": "#0d6efd",
    "overdue": "#dc3545",
    "done": "#6c757d",
    "cancelled": "#adb5bd",
}


# --- whose calendar -----------------------------------------------------------------------------


def department(session: Session) -> list[User]:
    """Whom the head of sales chooses from: the active sales managers and heads."""
    return list(
        session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.role.in_(DEPARTMENT_ROLES))
            .order_by(User.full_name)
        )
    )


def parse_moment(raw: Any, viewer: User, name: str) -> dt.datetime:
    """An ISO date or date-time from the calendar → UTC. Without an offset it is the viewer's
    wall clock (the calendar shows their zone)."""
    text = str(raw or "").strip()
    if "T" in text:  # a «+03:00» offset that came unescaped in a query string reads « 03:00»
        text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text)
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(fields={name: "Дата и время — в формате ГГГГ-ММ-ДДTЧЧ:ММ."}) from None
    return to_utc(moment, viewer)


def checked_range(start: dt.datetime, end: dt.datetime) -> None:
    if end <= start:
        raise ValidationError(fields={"end": "Конец периода должен быть позже начала."})
    if end - start > MAX_RANGE:
        raise ValidationError(
            fields={"end": f"Календарь показывает не больше {MAX_RANGE.days} дней за раз."}
        )


class EventRow(NamedTuple):
    """What one calendar event shows of a contact, read as plain columns (no ORM object)."""

    id: int
    starts_at: dt.datetime
    duration_minutes: int
    status: str
    responsible_id: int
    curator_id: int | None
    type_name: str
    icon: str
    client_name: str
    responsible_name: str

    @classmethod
    def of(cls, activity: Activity) -> EventRow:
        return cls(
            activity.id,
            activity.starts_at,
            activity.duration_minutes,
            activity.status,
            activity.responsible_id,
            activity.client.curator_id,
            activity.type.name,
            activity.type.icon,
            activity.client.name,
            activity.responsible.full_name,
        )


# Built once: the statement and its cache key are reused by every request (the feed is read on
# every move through the calendar).
_EVENTS = (
    select(
        Activity.id,
        Activity.starts_at,
        Activity.duration_minutes,
        Activity.status,
        Activity.responsible_id,
        Client.curator_id,
        ActivityType.name,
        ActivityType.icon,
        Client.name,
        User.full_name,
    )
    .join(ActivityType, ActivityType.id == Activity.type_id)
    .join(Client, Client.id == Activity.client_id)
    .join(User, User.id == Activity.responsible_id)
    .where(
        Activity.responsible_id.in_(bindparam("user_ids", expanding=True)),
        Activity.starts_at >= bindparam("since", type_=UTCDateTime()),
        Activity.starts_at < bindparam("until", type_=UTCDateTime()),
    )
    .order_by(Activity.starts_at, Activity.id)
)


def events_between(
    session: Session, user_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> list[EventRow]:
    """The users' contacts that overlap [start, end): one query over the index
    (responsible_id, starts_at) returning only the columns an event shows; a contact lasts at
    most a day, so one that began up to a day before the range is looked at too."""
    if not user_ids:
        return []
    rows = session.connection().execute(
        _EVENTS,
        {
            "user_ids": list(user_ids),
            "since": start - dt.timedelta(minutes=MAX_DURATION_MINUTES),
            "until": end,
        },
    )
    return [
        row
        for row in itertools.starmap(EventRow, rows)
        if row.starts_at + dt.timedelta(minutes=row.duration_minutes) > start
    ]


def _end_of(activity: Activity) -> dt.datetime:
    return activity.starts_at + dt.timedelta(minutes=activity.duration_minutes)


def title_of(activity: Activity) -> str:
    return f"{activity.type.name}: {activity.client.name}"


def event_json(
    activity: Activity, viewer: User, *, now: dt.datetime | None = None, with_owner: bool = False
) -> dict[str, Any]:
    """One FullCalendar event, in the viewer's wall clock."""
    return events_json([EventRow.of(activity)], viewer, now=now, with_owner=with_owner)[0]


def events_json(
    rows: Sequence[EventRow],
    viewer: User,
    *,
    now: dt.datetime | None = None,
    with_owner: bool = False,
) -> list[dict[str, Any]]:
    """FullCalendar's events, in the viewer's wall clock. The viewer's zone, rights and «now»
    are looked up once for all rows."""
    now = now or utcnow()
    zone = zone_of(viewer)
    planned = Status.PLANNED.value
    may_work = access.work_rule(viewer)
    events = []
    for row in rows:
        state = "overdue" if row.status == planned and row.starts_at < now else row.status
        title = f"{row.type_name}: {row.client_name}"
        if with_owner:
            title = f"{title} · {row.responsible_name}"
        movable = row.status == planned and may_work(row.responsible_id, row.curator_id)
        color = COLORS[state]
        label = "Просрочен" if state == "overdue" else STATUS_LABELS[row.status]
        start = row.starts_at.astimezone(zone)
        end = (row.starts_at + dt.timedelta(minutes=row.duration_minutes)).astimezone(zone)
        events.append(
            {
                "id": str(row.id),
                "title": title,
                "start": start.replace(tzinfo=None).isoformat(timespec="minutes"),
                "end": end.replace(tzinfo=None).isoformat(timespec="minutes"),
                "url": f"/activities/{row.id}",
                "backgroundColor": color,
                "borderColor": color,
                "classNames": [f"calendar-event-{state}"],
                "editable": movable,
                "extendedProps": {
                    "status": row.status,
                    "state": state,
                    "status_label": label,
                    "icon": row.icon,
                    "responsible": row.responsible_name,
                },
            }
        )
    return events


# --- the private iCal feed ----------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed_token(session: Session, user: User) -> str:
    """A new secret of the user's feed; the old link stops working. Only its SHA-256 is kept:
    the secret is shown once."""
    secret = secrets.token_urlsafe(32)
    user.calendar_token_hash = _digest(secret)
    session.flush()
    return secret


def revoke_feed_token(session: Session, user: User) -> None:
    user.calendar_token_hash = None
    session.flush()


def user_by_feed_token(session: Session, secret: str) -> User | None:
    """The active user whose feed this secret opens; None for unknown, revoked, disabled."""
    if not secret or len(secret) > 200:
        return None
    user = session.scalar(select(User).where(User.calendar_token_hash == _digest(secret)))
    if user is None or not user.is_active or not access.can_view_activities(user):
        return None
    return user


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _description(activity: Activity) -> str:
    lines = [f"Цель: {activity.goal}"]
    contact: ContactPerson | None = activity.contact
    if contact is not None:
        person = contact.full_name + (f", {contact.position}" if contact.position else "")
        lines.append(f"Контактное лицо: {person}")
        phones = [display_phone(p) for p in contact.phones]
        if phones:
            lines.append("Телефон: " + ", ".join(phones))
    lines.append(f"Статус: {STATUS_LABELS.get(activity.status, activity.status)}")
    return "\n".join(lines)


def build_feed(
    session: Session,
    user: User,
    *,
    host: str,
    card_url: Callable[[int], str],
    now: dt.datetime | None = None,
) -> bytes:
    """The user's contacts from 30 days back to 180 days ahead as an iCalendar document."""
    now = now or utcnow()
    activities = session.scalars(
        select(Activity)
        .where(
            Activity.responsible_id == user.id,
            Activity.starts_at >= now - FEED_PAST,
            Activity.starts_at < now + FEED_AHEAD,
        )
        .options(
            joinedload(Activity.type),
            joinedload(Activity.client),
            joinedload(Activity.contact).selectinload(ContactPerson.channels),
        )
        .order_by(Activity.starts_at, Activity.id)
    ).all()
    cal = Calendar()
    cal.add("prodid", "-//Экспо CRM//Календарь контактов//RU")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Экспо CRM — {user.full_name}")
    cal.add("x-wr-timezone", zone_of(user).key)
    for activity in activities:
        event = Event()
        event.add("uid", f"activity-{activity.id}@{host}")
        event.add("dtstamp", _utc(now))
        event.add("dtstart", _utc(activity.starts_at))
        event.add("dtend", _utc(_end_of(activity)))
        event.add("summary", title_of(activity))
        event.add("description", _description(activity))
        event.add(
            "status", "CANCELLED" if activity.status == Status.CANCELLED.value else "CONFIRMED"
        )
        if activity.updated_at is not None:
            event.add("last-modified", _utc(activity.updated_at))
        event.add("url", card_url(activity.id))
        cal.add_component(event)
    return cal.to_ical()
