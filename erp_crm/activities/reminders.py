"""Reminders of planned contacts: which are due, the claim in the sent-ledger (one sender per
activity × offset × channel, however many senders run at once) and the e-mail to the
responsible user. A failed e-mail keeps its error in the ledger and is not retried."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.message import EmailMessage

from babel.dates import format_datetime
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_crm.activities.models import Activity, ReminderSent, Status
from erp_crm.activities.services import to_local
from erp_crm.auth.models import User
from erp_crm.core import mail as smtp_mail
from erp_crm.core.mail import MailSettings
from erp_crm.db import take_write_lock, utcnow

log = logging.getLogger(__name__)

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


# --- sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    in_app: int = 0
    emailed: int = 0
    failed: int = 0


def message_for(activity: Activity, user: User, settings: MailSettings) -> EmailMessage:
    """The reminder to the responsible user — never to the client: the one recipient is the
    user's own address."""
    local = to_local(activity.starts_at, user)
    when = format_datetime(local, "d MMMM y, HH:mm", locale="ru")
    message = EmailMessage()
    message["Subject"] = (
        f"Напоминание: {activity.type.name.lower()} с {activity.client.name} в {local:%H:%M}"
    )
    message["From"] = settings.sender
    message["To"] = user.email
    lines = [
        f"{user.full_name}, напоминаем о контакте.",
        "",
        f"Когда: {when} ({user.time_zone or 'Europe/Moscow'})",
        f"Клиент: {activity.client.name}",
        f"Цель: {activity.goal}",
    ]
    if activity.contact is not None:
        channels = [*activity.contact.phones, *activity.contact.emails]
        lines.append(f"Контактное лицо: {activity.contact.full_name} {' · '.join(channels)}")
    lines += ["", f"Карточка контакта: {settings.base_url}/activities/{activity.id}"]
    message.set_content("\n".join(lines))
    return message


def _send(message: EmailMessage, settings: MailSettings) -> None:
    smtp_mail.send(message, settings)


def send_due(
    session: Session, settings: MailSettings, now: dt.datetime | None = None
) -> SendReport:
    """One pass: claim every due reminder (in-app, and e-mail for users with an address), COMMIT
    the claims so a concurrent sender skips them, then send the e-mails and record each result.
    Safe to run every minute from cron on several machines at once. Commits (a job, not a
    request)."""
    now = now or utcnow()
    report = SendReport()
    outgoing: list[tuple[ReminderSent, EmailMessage, int]] = []
    if not session.in_transaction():
        take_write_lock(session)  # SQLite: the claims' lock at BEGIN, not after the reads
    for activity, offset in due(session, now):
        user = activity.responsible
        in_app = claim(session, activity, offset, "app", user)
        if in_app is not None:
            in_app.sent_at = now
            report.in_app += 1
        if user.email:
            mail = claim(session, activity, offset, "email", user)
            if mail is not None:
                outgoing.append((mail, message_for(activity, user, settings), activity.id))
    session.commit()
    for row, message, activity_id in outgoing:
        try:
            _send(message, settings)
        except smtp_mail.MailError as err:
            error: str | None = err.reply[:500]
            report.failed += 1
            log.warning("Reminder %s for activity %s not sent: %s", row.id, activity_id, err)
        else:
            error = None
            report.emailed += 1
        take_write_lock(session)
        if error is None:
            row.sent_at = utcnow()
        else:
            row.error = error
        session.commit()
    return report
