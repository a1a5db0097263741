"""Reminders of planned contacts: which are due, the claim in the sent-ledger (one sender per
activity × offset × channel, however many senders run at once) and the e-mail to the
responsible user. A failed e-mail keeps its error in the ledger and is not retried."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_crm.activities.models import Activity, ReminderSent, Status
from erp_crm.auth.models import User
from erp_crm.db import utcnow

# A reminder whose moment passed less than this ago (the sender was down) still goes out;
# older ones are skipped, never sent late as if on time.
GRACE = dt.timedelta(hours=2)
CHANNELS = ("app", "email")


def due(session: Session, now: dt.datetime | None = None) -> list[tuple[Activity, int]]:
    """(activity, offset) pairs of planned contacts of active users whose reminder moment
    start − offset is in (now − GRACE, now] and whose start is still ahead."""
    now = now or utcnow()
    horizon = now + dt.timedelta(days=15)  # offsets are at most 14 days (services)
    rows = session.scalars(
        select(Activity)
        .join(User, User.id == Activity.responsible_id)
        .where(
            Activity.status == Status.PLANNED.value,
            User.is_active.is_(True),
            Activity.starts_at > now,
            Activity.starts_at <= horizon,
        )
        .order_by(Activity.starts_at, Activity.id)
    )
    result = []
    for activity in rows:
        for offset in sorted(set(activity.reminders or [])):
            moment = activity.starts_at - dt.timedelta(minutes=int(offset))
            if now - GRACE < moment <= now:
                result.append((activity, int(offset)))
    return result


def claim(
    session: Session, activity: Activity, offset: int, channel: str, user: User
) -> ReminderSent | None:
    """Insert the ledger row; None when another sender holds it already. The savepoint keeps
    the outer transaction usable after the unique violation."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    row = ReminderSent(
        activity_id=activity.id, offset_minutes=offset, channel=channel, user_id=user.id
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row
