"""The calendar of contacts: the events of a range (own, another manager's, the department), the
range cap, moving by drag (CSRF, the past, someone else's), the private iCal feed (both backends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from icalendar import Calendar
from sqlalchemy import select

from erp_crm.activities import services
from erp_crm.activities.models import Activity, ActivityType
from erp_crm.db import utcnow
from tests.fixtures.deals import make_client

MOSCOW = services.zone_of(None)


def _day() -> dt.date:
    """A Wednesday one to two weeks ahead: the tests' contacts are always in the future."""
    today = utcnow().astimezone(MOSCOW).date()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
    return monday + dt.timedelta(days=2)


@pytest.fixture
def world(db_session, make_user):
    head = make_user("head_of_sales", username="cal_head", full_name="Орлова Ольга")
    manager = make_user("sales_manager", username="cal_mgr", full_name="Анна Петрова")
    other = make_user("sales_manager", username="cal_other", full_name="Борис Иванов")
    accountant = make_user("accountant", username="cal_acc")
    company = make_client(db_session, head)
    company.curator_id = manager.id
    alien = make_client(db_session, head, name="АО «Вектор»", inn="7736207543")
    alien.curator_id = other.id
    db_session.flush()
    call = db_session.scalar(select(ActivityType).where(ActivityType.code == "call"))
    day = _day()
    world = {
        "head": head,
        "manager": manager,
        "other": other,
        "accountant": accountant,
        "company": company,
        "alien": alien,
        "call": call,
        "day": day,
    }
    world["mine"] = plan(db_session, world, manager, company, f"{day}T11:00")
    world["theirs"] = plan(db_session, world, other, alien, f"{day}T15:30")
    db_session.commit()
    return world


def plan(db_session, world, user, company, starts_at: str, **extra) -> Activity:
    return services.plan(
        db_session,
        services.ActivityData.from_mapping(
            {
                "type_id": world["call"].id,
                "goal": "Пригласить на ВолгаСтройЭкспо-2027",
                "client_id": company.id,
                "starts_at": starts_at,
                "duration_minutes": 30,
                **extra,
            }
        ),
        actor=user,
    )


def week_of(day: dt.date) -> str:
    monday = day - dt.timedelta(days=day.weekday())
    return f"start={monday}T00:00:00&end={monday + dt.timedelta(days=7)}T00:00:00"


def events(client, world, user_id: str = ""):
    suffix = f"&user_id={user_id}" if user_id else ""
    return client.get(f"/calendar/events?{week_of(world['day'])}{suffix}")


# --- the page and the events --------------------------------------------------------------------


def test_page_loads_fullcalendar_from_static_with_the_users_zone(client, world):
    client.login("cal_mgr")
    html = client.get("/calendar/").get_data(as_text=True)
    assert "vendor/fullcalendar/index.global.min.js" in html
    assert "vendor/fullcalendar/ru.global.min.js" in html
    assert "js/calendar.js" in html
    assert 'data-time-zone="Europe/Moscow"' in html
    assert "<script>" not in html  # the CSP allows no inline scripts
    assert "Весь отдел" not in html  # a manager sees only their own calendar
    assert client.get("/calendar/?user_id=" + str(world["other"].id)).status_code == 403


def test_a_manager_gets_own_week_in_the_wall_clock(client, world):
    client.login("cal_mgr")
    response = events(client, world)
    assert response.status_code == 200
    (event,) = response.get_json()
    mine = world["mine"]
    assert event["id"] == str(mine.id)
    assert event["title"] == f"{world['call'].name}: ООО «Ромашка»"
    assert event["start"] == f"{world['day']}T11:00"
    assert event["end"] == f"{world['day']}T11:30"
    assert event["url"] == f"/activities/{mine.id}"
    assert event["backgroundColor"] == "#0d6efd"
    assert event["editable"] is True
    assert event["extendedProps"]["state"] == "planned"


def test_a_manager_may_not_look_at_another_managers_calendar(client, world):
    client.login("cal_mgr")
    for user_id in (str(world["other"].id), "all"):
        response = events(client, world, user_id)
        assert response.status_code == 403
        assert "руководитель" in response.get_json()["error"]["message"]


def test_the_head_of_sales_looks_at_a_manager_and_at_the_department(client, world):
    client.login("cal_head")
    html = client.get("/calendar/").get_data(as_text=True)
    assert "Весь отдел" in html and "Борис Иванов" in html
    (event,) = events(client, world, str(world["other"].id)).get_json()
    assert event["id"] == str(world["theirs"].id)
    assert event["title"].endswith("· Борис Иванов")
    assert event["editable"] is True  # the head of sales moves anyone's contacts
    everyone = events(client, world, "all").get_json()
    assert {e["id"] for e in everyone} == {str(world["mine"].id), str(world["theirs"].id)}
    assert events(client, world).get_json() == []  # the head's own calendar is empty


def test_states_overdue_done_cancelled_have_their_colors(client, world, db_session):
    late = plan(db_session, world, world["manager"], world["company"], f"{world['day']}T09:00")
    cancelled = plan(db_session, world, world["manager"], world["company"], f"{world['day']}T10:00")
    services.cancel(db_session, cancelled, actor=world["manager"])
    db_session.commit()
    late.starts_at = utcnow() - dt.timedelta(hours=2)  # the day came and went
    db_session.commit()
    client.login("cal_mgr")
    past = late.starts_at.astimezone(MOSCOW).date()
    rows = client.get(f"/calendar/events?{week_of(past)}").get_json()
    (overdue,) = [e for e in rows if e["id"] == str(late.id)]
    assert overdue["backgroundColor"] == "#dc3545"
    assert overdue["extendedProps"]["status_label"] == "Просрочен"
    (struck,) = [e for e in events(client, world).get_json() if e["id"] == str(cancelled.id)]
    assert struck["classNames"] == ["calendar-event-cancelled"]
    assert struck["editable"] is False


def test_the_range_is_capped_with_a_russian_400(client, world):
    client.login("cal_mgr")
    response = client.get("/calendar/events?start=2027-01-01&end=2027-03-15")
    assert response.status_code == 400
    assert "62 дней" in response.get_json()["error"]["message"]
    bad = client.get("/calendar/events?start=вчера&end=2027-01-02")
    assert bad.status_code == 400
    assert "ГГГГ-ММ-ДД" in bad.get_json()["error"]["message"]
    assert client.get("/calendar/events?start=2027-01-01&end=2027-03-03").status_code == 200


def test_offsets_in_the_range_are_understood(client, world):
    client.login("cal_mgr")
    monday = world["day"] - dt.timedelta(days=world["day"].weekday())
    # FullCalendar may send the range with an offset; «+» arrives unescaped as a space
    response = client.get(
        f"/calendar/events?start={monday}T00:00:00+03:00&end={monday + dt.timedelta(days=7)}"
        "T00:00:00Z"
    )
    assert [e["id"] for e in response.get_json()] == [str(world["mine"].id)]


# --- moving -------------------------------------------------------------------------------------


def move(client, activity_id: int, payload: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": client.csrf_token("/calendar/")} if csrf else {}
    return client.post(f"/calendar/events/{activity_id}/move", json=payload, headers=headers)


def test_dropping_an_event_moves_the_contact(client, world, db_session):
    client.login("cal_mgr")
    target = world["day"] + dt.timedelta(days=1)
    response = move(
        client, world["mine"].id, {"start": f"{target}T14:15:00", "end": f"{target}T15:00:00"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["event"]["start"] == f"{target}T14:15"
    db_session.expire_all()
    moved = db_session.get(Activity, world["mine"].id)
    assert moved.starts_at == dt.datetime.combine(target, dt.time(14, 15), MOSCOW).astimezone(
        dt.UTC
    )
    assert moved.duration_minutes == 45


def test_a_move_without_the_csrf_header_is_refused(client, world, db_session):
    client.login("cal_mgr")
    response = move(client, world["mine"].id, {"start": f"{world['day']}T16:00"}, csrf=False)
    assert response.status_code == 400
    db_session.expire_all()
    assert db_session.get(Activity, world["mine"].id).starts_at == world["mine"].starts_at


def test_a_move_into_the_past_is_refused_with_422(client, world, db_session):
    client.login("cal_mgr")
    response = move(client, world["mine"].id, {"start": "2020-01-10T10:00:00"})
    assert response.status_code == 422
    assert "прошлое" in response.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Activity, world["mine"].id).starts_at == world["mine"].starts_at


def test_someone_elses_contact_is_refused_with_403(client, world, db_session):
    client.login("cal_mgr")
    response = move(client, world["theirs"].id, {"start": f"{world['day']}T16:00"})
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "Контакт ведёт другой менеджер."
    assert move(client, 999_999, {"start": f"{world['day']}T16:00"}).status_code == 404
    assert move(client, world["mine"].id, {"end": "x"}).status_code == 400


def test_a_done_or_cancelled_contact_is_not_moved_409(client, world, db_session):
    services.cancel(db_session, world["mine"], actor=world["manager"])
    db_session.commit()
    client.login("cal_mgr")
    response = move(client, world["mine"].id, {"start": f"{world['day']}T16:00"})
    assert response.status_code == 409
    assert "отменён" in response.get_json()["error"]["message"]


def test_the_head_of_sales_moves_a_managers_contact(client, world, db_session):
    client.login("cal_head")
    response = move(client, world["theirs"].id, {"start": f"{world['day']}T17:00"})
    assert response.status_code == 200
    db_session.expire_all()
    assert db_session.get(Activity, world["theirs"].id).starts_at == dt.datetime.combine(
        world["day"], dt.time(17), MOSCOW
    ).astimezone(dt.UTC)


# --- the iCal feed ------------------------------------------------------------------------------


def _feed_url(html: str) -> str:
    match = re.search(r'value="(http://[^"]+/calendar/ical/[^"]+\.ics)"', html)
    assert match, html
    return match.group(1)


def _path(url: str) -> str:
    return url[url.index("/calendar/") :]


def create_feed(client) -> str:
    response = client.submit("/calendar/feed", token_page="/calendar/feed")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    return _feed_url(response.get_data(as_text=True))


def test_the_feed_link_is_shown_once_and_only_its_hash_is_kept(client, world, db_session):
    client.login("cal_mgr")
    page = client.get("/calendar/feed").get_data(as_text=True)
    assert "Ссылки на календарь нет" in page and "Создать ссылку" in page
    url = create_feed(client)
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(secret) >= 40
    db_session.expire_all()
    manager = db_session.get(type(world["manager"]), world["manager"].id)
    assert manager.calendar_token_hash == hashlib.sha256(secret.encode()).hexdigest()
    again = client.get("/calendar/feed").get_data(as_text=True)
    assert secret not in again
    assert "Ссылка на календарь действует" in again and "Создать новую ссылку" in again
    assert "Отключить" in again


def test_the_feed_parses_back_with_the_contacts(app, client, world, db_session):
    plan(
        db_session,
        world,
        world["manager"],
        world["company"],
        f"{world['day'] + dt.timedelta(days=1)}T10:00",
    )
    late = plan(db_session, world, world["manager"], world["company"], f"{world['day']}T12:00")
    services.cancel(db_session, late, actor=world["manager"])
    db_session.commit()
    client.login("cal_mgr")
    path = _path(create_feed(client))
    anonymous = app.test_client()  # the phone's calendar has no session
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, no-store"
    cal = Calendar.from_ical(response.data)
    assert str(cal["X-WR-CALNAME"]) == "Экспо CRM — Анна Петрова"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Moscow"
    found = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    mine = world["mine"]
    assert len(found) == 3  # the other manager's contact is not in it
    event = found[f"activity-{mine.id}@localhost"]
    assert event.decoded("DTSTART") == mine.starts_at
    assert event.decoded("DTEND") == mine.starts_at + dt.timedelta(minutes=30)
    assert str(event["SUMMARY"]) == f"{world['call'].name}: ООО «Ромашка»"
    assert "Пригласить на ВолгаСтройЭкспо-2027" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == f"http://localhost/activities/{mine.id}"
    assert "LAST-MODIFIED" in event
    assert str(found[f"activity-{late.id}@localhost"]["STATUS"]) == "CANCELLED"


def test_rotating_and_revoking_kill_the_old_links(app, client, world, db_session):
    client.login("cal_mgr")
    anonymous = app.test_client()
    first = _path(create_feed(client))
    second = _path(create_feed(client))
    assert first != second
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    response = client.submit("/calendar/feed/revoke", token_page="/calendar/feed")
    assert response.status_code == 200
    assert "Ссылки на календарь нет" in response.get_data(as_text=True)
    assert anonymous.get(second).status_code == 404
    assert anonymous.get("/calendar/ical/not-a-token.ics").status_code == 404


def test_a_disabled_users_feed_is_gone(app, client, world, db_session):
    client.login("cal_mgr")
    path = _path(create_feed(client))
    manager = db_session.get(type(world["manager"]), world["manager"].id)
    manager.is_active = False
    db_session.commit()
    assert app.test_client().get(path).status_code == 404
