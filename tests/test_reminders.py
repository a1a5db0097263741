"""Reminders: due() boundaries in the user's zone, the claim is taken once (both backends)."""

from __future__ import annotations

import datetime as dt

from erp_crm.activities import reminders
from tests.test_activities import NOW, planned, world  # noqa: F401


def test_due_boundaries_in_moscow(db_session, world):  # noqa: F811
    activity = planned(db_session, world)  # 2026-12-08 11:00 Moscow = 08:00 UTC, [15, 60]
    start = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)
    assert activity.starts_at == start
    assert reminders.due(db_session, start - dt.timedelta(minutes=61)) == []
    assert reminders.due(db_session, start - dt.timedelta(minutes=60)) == [(activity, 60)]
    got = reminders.due(db_session, start - dt.timedelta(minutes=1))
    assert sorted(offset for _, offset in got) == [15, 60]
    assert reminders.due(db_session, start) == []


def test_due_in_samara_and_grace(db_session, world):  # noqa: F811
    world["manager"].time_zone = "Europe/Samara"
    activity = planned(db_session, world, reminders="1440")
    start = dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC)  # 11:00 in Samara (UTC+4)
    assert activity.starts_at == start
    day_before = start - dt.timedelta(days=1)
    assert reminders.due(db_session, day_before) == [(activity, 1440)]
    assert reminders.due(db_session, day_before + dt.timedelta(minutes=119)) == [(activity, 1440)]
    assert reminders.due(db_session, day_before + dt.timedelta(hours=2)) == []


def test_claim_once(db_session, world):  # noqa: F811
    activity = planned(db_session, world)
    user = world["manager"]
    assert reminders.claim(db_session, activity, 15, "app", user) is not None
    assert reminders.claim(db_session, activity, 15, "app", user) is None
    assert reminders.claim(db_session, activity, 15, "email", user) is not None
    assert NOW < activity.starts_at
