"""Reminders: due() boundaries in the user's zone, the claim is taken once (both backends)."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import socket

import pytest
from sqlalchemy import select

from erp_crm.activities import reminders
from erp_crm.activities.models import ReminderSent
from tests.fixtures.activities import NOW, planned


def test_due_boundaries_in_moscow(db_session, world):
    activity = planned(db_session, world)  # 2026-12-08 11:00 Moscow = 08:00 UTC, [15, 60]
    start = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)
    assert activity.starts_at == start
    assert reminders.due(db_session, start - dt.timedelta(minutes=61)) == []
    assert reminders.due(db_session, start - dt.timedelta(minutes=60)) == [(activity, 60)]
    got = reminders.due(db_session, start - dt.timedelta(minutes=1))
    assert sorted(offset for _, offset in got) == [15, 60]
    assert reminders.due(db_session, start) == []


def test_due_in_samara_and_grace(db_session, world):
    world["manager"].time_zone = "Europe/Samara"
    activity = planned(db_session, world, reminders="1440")
    start = dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC)  # 11:00 in Samara (UTC+4)
    assert activity.starts_at == start
    day_before = start - dt.timedelta(days=1)
    assert reminders.due(db_session, day_before) == [(activity, 1440)]
    assert reminders.due(db_session, day_before + dt.timedelta(minutes=119)) == [(activity, 1440)]
    assert reminders.due(db_session, day_before + dt.timedelta(hours=2)) == []


def test_claim_once(db_session, world):
    activity = planned(db_session, world)
    user = world["manager"]
    assert reminders.claim(db_session, activity, 15, "app", user) is not None
    assert reminders.claim(db_session, activity, 15, "app", user) is None
    assert reminders.claim(db_session, activity, 15, "email", user) is not None
    assert NOW < activity.starts_at


def future_local(days: int) -> str:
    """A Moscow wall-clock time `days` from now (the pages run on the real clock)."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=3))).strftime("%Y-%m-%dT%H:%M")


class Inbox:
    """aiosmtpd handler keeping what a real SMTP server on loopback received."""

    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.mails.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, reminders.MailSettings(host="127.0.0.1", port=port, sender="crm@expo.test")
    controller.stop()


def test_a_due_reminder_is_mailed_once_to_the_responsible_user(db_session, world, smtp):
    inbox, settings = smtp
    world["manager"].email = "anna@expo.test"
    activity = planned(db_session, world)
    moment = activity.starts_at - dt.timedelta(minutes=15)

    report = reminders.send_due(db_session, settings, now=moment)
    assert (report.in_app, report.emailed, report.failed) == (2, 2, 0)  # offsets 60 and 15
    assert len(inbox.mails) == 2
    recipients, mail = inbox.mails[-1]
    assert recipients == ["anna@expo.test"]  # the responsible user, never the client
    subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    assert subject == "Напоминание: звонок с ООО «Ромашка» в 11:00"
    body = mail.get_payload(decode=True).decode(mail.get_content_charset())
    assert "Пригласить на ВолгаСтройЭкспо-2027" in body and f"/activities/{activity.id}" in body
    assert "Сидоров Иван" in body

    again = reminders.send_due(db_session, settings, now=moment + dt.timedelta(minutes=1))
    assert (again.in_app, again.emailed) == (0, 0) and len(inbox.mails) == 2
    rows = db_session.scalars(
        select(ReminderSent).where(ReminderSent.activity_id == activity.id)
    ).all()
    assert sorted((r.offset_minutes, r.channel) for r in rows) == [
        (15, "app"),
        (15, "email"),
        (60, "app"),
        (60, "email"),
    ]
    assert all(r.sent_at is not None and r.error is None for r in rows)


def test_a_failed_mail_keeps_its_error_and_is_not_sent_twice(db_session, world):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = reminders.MailSettings(host="127.0.0.1", port=closed, sender="crm@expo.test")
    world["manager"].email = "anna@expo.test"
    activity = planned(db_session, world, reminders="15")
    moment = activity.starts_at - dt.timedelta(minutes=15)
    report = reminders.send_due(db_session, settings, now=moment)
    assert (report.in_app, report.emailed, report.failed) == (1, 0, 1)
    row = db_session.scalar(select(ReminderSent).where(ReminderSent.channel == "email"))
    assert row.sent_at is None and "Connection" in row.error
    assert reminders.send_due(db_session, settings, now=moment).failed == 0


def test_no_email_without_the_users_own_address(db_session, world, smtp):
    inbox, settings = smtp
    world["manager"].email = None
    activity = planned(db_session, world, reminders="15")
    report = reminders.send_due(
        db_session, settings, now=activity.starts_at - dt.timedelta(minutes=15)
    )
    assert (report.in_app, report.emailed) == (1, 0) and inbox.mails == []


def test_the_badge_and_the_list_show_due_reminders_until_read(client, db_session, world):
    manager = world["manager"]
    manager.username, manager.email = "rem_mgr", None
    activity = planned(db_session, world, reminders="15", starts_at=future_local(1))
    settings = reminders.MailSettings(host="127.0.0.1", port=1, sender="crm@expo.test")
    reminders.send_due(db_session, settings, now=activity.starts_at - dt.timedelta(minutes=10))
    db_session.commit()
    client.login("rem_mgr")
    assert 'id="reminders-count">1<' in client.get("/reminders/badge").get_data(as_text=True)
    page = client.get("/reminders/").get_data(as_text=True)
    assert f"/activities/{activity.id}" in page and activity.goal in page
    row = db_session.scalar(select(ReminderSent).where(ReminderSent.channel == "app"))
    assert client.submit(f"/reminders/{row.id}/read").status_code == 302
    assert "reminders-count" not in client.get("/reminders/badge").get_data(as_text=True)
    assert 'id="reminders-badge"' in client.get("/").get_data(as_text=True)


def test_two_concurrent_senders_mail_each_reminder_once(app, smtp):
    """Two senders (cron on two machines) run at the same moment on committed data, each with
    its own connection: every activity × offset × channel goes out once, over real SMTP."""
    import threading

    from sqlalchemy import delete, insert
    from sqlalchemy.orm import Session

    from erp_crm.activities.models import Activity, ActivityType
    from erp_crm.auth.models import User
    from erp_crm.clients.models import Client
    from erp_crm.db import db

    inbox, settings = smtp
    engine = app.extensions["erp_db"].engine
    start = dt.datetime(2031, 3, 4, 9, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        user_id = session.execute(
            insert(User)
            .values(
                username="race-reminders",
                full_name="Гонка Напоминаний",
                role="sales_manager",
                email="race@expo.test",
                password_hash="x",
                is_active=True,
            )
            .returning(User.id)
        ).scalar_one()
        client_id = session.execute(
            insert(Client)
            .values(name="ООО «Гонка»", name_norm="гонка", kind="legal")
            .returning(Client.id)
        ).scalar_one()
        call = session.scalar(select(ActivityType.id).where(ActivityType.code == "call"))
        activity_ids = [
            session.execute(
                insert(Activity)
                .values(
                    type_id=call,
                    goal=f"Звонок {n}",
                    client_id=client_id,
                    responsible_id=user_id,
                    starts_at=start + dt.timedelta(minutes=30 + n),
                    duration_minutes=15,
                    reminders=[15, 60],
                    status="planned",
                )
                .returning(Activity.id)
            ).scalar_one()
            for n in range(6)
        ]
        session.commit()
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def sender() -> None:
        try:
            with app.app_context(), db.job_session() as session:
                barrier.wait()
                reports.append(reminders.send_due(session, settings, now=start))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        # At `start` the 60-minute reminders of all six calls are due (15-minute ones are not).
        assert len(reports) == 2
        assert sum(r.emailed for r in reports) == 6 and sum(r.in_app for r in reports) == 6
        assert len(inbox.mails) == 6
        assert all(recipients == ["race@expo.test"] for recipients, _ in inbox.mails)
        with Session(engine) as session:
            rows = session.scalars(
                select(ReminderSent).where(ReminderSent.activity_id.in_(activity_ids))
            ).all()
        assert sorted((r.activity_id, r.channel) for r in rows) == sorted(
            (a, c) for a in activity_ids for c in ("app", "email")
        )
        assert {r.offset_minutes for r in rows} == {60}
    finally:
        with Session(engine) as session:
            session.execute(delete(ReminderSent).where(ReminderSent.user_id == user_id))
            session.execute(delete(Activity).where(Activity.id.in_(activity_ids)))
            session.execute(delete(Client).where(Client.id == client_id))
            session.execute(delete(User).where(User.id == user_id))
            session.commit()
