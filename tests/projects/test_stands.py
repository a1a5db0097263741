"""Stand holds and sales: the rules, who may act, the pages and the API, the hall plan (SVG and
PDF), and races between managers on real connections with real commits."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.audit.models import AuditEntry
from erp_crm.db import set_actor, utcnow
from erp_crm.deals import booking
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects import hallplan, stands
from erp_crm.projects import stand_services as ss
from erp_crm.projects.models import Stand
from tests.fixtures.projects import make_client, make_deal, make_hall, make_project, make_stand


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="boss")


@pytest.fixture
def seller(make_user):
    return make_user("sales_manager", username="seller", full_name="Кузнецова Мария")


@pytest.fixture
def rival(make_user):
    return make_user("sales_manager", username="rival", full_name="Орлов Дмитрий")


@pytest.fixture
def head(make_user):
    return make_user("head_of_sales", username="head", full_name="Волков Андрей")


@pytest.fixture
def world(db_session, admin, seller, rival):
    project = make_project(db_session, admin)
    hall = make_hall(db_session, project, admin)
    stand = make_stand(db_session, project, hall, admin, "A-1")
    other_stand = make_stand(db_session, project, hall, admin, "A-2", x=3)
    ours = make_deal(
        db_session,
        project,
        seller,
        make_client(db_session, admin, "ООО «Ромашка»"),
        title="Участие",
    )
    theirs = make_deal(db_session, project, rival, make_client(db_session, admin, "АО «Гранит»"))
    db_session.commit()
    return {
        "project": project,
        "hall": hall,
        "stand": stand,
        "other_stand": other_stand,
        "ours": ours,
        "theirs": theirs,
    }


def fresh(session, stand) -> Stand:
    return session.get(Stand, stand.id, populate_existing=True)


# --- the rules ----------------------------------------------------------------------------------


def test_a_reserved_stand_refuses_another_deal_naming_the_holder(db_session, world, admin):
    stand, ours, theirs = world["stand"], world["ours"], world["theirs"]
    stands.reserve(db_session, stand.id, ours.id, until=None, actor=admin)
    with pytest.raises(Conflict) as err:
        stands.reserve(db_session, stand.id, theirs.id, until=None, actor=admin)
    message = err.value.message
    assert "A-1 уже забронирован" in message
    assert "ООО «Ромашка»" in message and "Кузнецова Мария" in message and "«Участие»" in message
    held = fresh(db_session, stand)
    assert (held.status, held.deal_id) == ("reserved", ours.id)
    assert held.reserved_until > utcnow() + dt.timedelta(days=6)


def test_the_same_deal_moves_its_hold_end(db_session, world, admin):
    stand, ours = world["stand"], world["ours"]
    stands.reserve(db_session, stand.id, ours.id, until=None, actor=admin)
    later = utcnow() + dt.timedelta(days=20)
    assert (
        stands.reserve(db_session, stand.id, ours.id, until=later, actor=admin).reserved_until
        == later
    )


@pytest.mark.parametrize(
    ("until", "message"),
    [
        (dt.datetime(2030, 1, 1), "часовым поясом"),
        (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "в будущем"),
    ],
)
def test_a_hold_ends_in_the_future_with_a_time_zone(db_session, world, admin, until, message):
    with pytest.raises(ValidationError) as err:
        stands.reserve(db_session, world["stand"].id, world["ours"].id, until=until, actor=admin)
    assert message in err.value.fields["until"]


def test_an_expired_hold_lets_another_deal_reserve(db_session, world, admin):
    stand, ours, theirs = world["stand"], world["ours"], world["theirs"]
    stands.reserve(db_session, stand.id, ours.id, until=None, actor=admin)
    db_session.execute(
        Stand.__table__.update()
        .where(Stand.id == stand.id)
        .values(reserved_until=utcnow() - dt.timedelta(minutes=1))
    )
    expired = fresh(db_session, stand)
    assert expired.status == "reserved" and stands.effective_status(expired) == "free"
    assert stands.effective_deal_id(expired) is None
    taken = stands.reserve(db_session, stand.id, theirs.id, until=None, actor=admin)
    assert (taken.status, taken.deal_id) == ("reserved", theirs.id)


def test_release_expired_frees_only_past_holds_and_audits_them(db_session, world, admin):
    stand, other, ours = world["stand"], world["other_stand"], world["ours"]
    stands.reserve(db_session, stand.id, ours.id, until=None, actor=admin)
    stands.reserve(db_session, other.id, ours.id, until=None, actor=admin)
    db_session.execute(
        Stand.__table__.update()
        .where(Stand.id == stand.id)
        .values(reserved_until=utcnow() - dt.timedelta(hours=1))
    )
    assert stands.release_expired(db_session) == 1
    assert stands.release_expired(db_session) == 0
    assert (fresh(db_session, stand).status, fresh(db_session, stand).deal_id) == ("free", None)
    assert fresh(db_session, other).status == "reserved"
    actions = db_session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "stands", AuditEntry.entity_id == stand.id
        )
    ).all()
    assert "hold_expired" in actions


def test_the_release_expired_command_frees_past_holds(db_session, world, admin, runner_factory):
    from erp_crm.projects.cli import projects_cli

    stands.reserve(db_session, world["stand"].id, world["ours"].id, until=None, actor=admin)
    db_session.execute(
        Stand.__table__.update().values(reserved_until=utcnow() - dt.timedelta(minutes=5))
    )
    db_session.commit()
    result = runner_factory().invoke(projects_cli, ["release-expired"])
    assert result.exit_code == 0, result.output
    assert "Освобождено стендов с истёкшей бронью: 1." in result.output
    assert fresh(db_session, world["stand"]).status == "free"


def test_selling_a_stand_held_by_another_deal_is_refused(db_session, world, admin):
    stand, other, ours, theirs = (
        world["stand"],
        world["other_stand"],
        world["ours"],
        world["theirs"],
    )
    stands.reserve(db_session, stand.id, ours.id, until=None, actor=admin)
    attempt = db_session.begin_nested()  # the caller rolls back a refused sale as a whole
    with pytest.raises(Conflict) as err:
        stands.sell(db_session, [other.id, stand.id], theirs.id, actor=admin)
    attempt.rollback()
    assert "забронирован по сделке «Участие»" in err.value.message
    assert fresh(db_session, other).status == "free"
    sold = stands.sell(db_session, [stand.id, other.id], ours.id, actor=admin)
    assert [s.status for s in sold] == ["sold", "sold"] and sold[0].reserved_until is None
    assert stands.sell(db_session, [stand.id], ours.id, actor=admin)[0].status == "sold"
    with pytest.raises(Conflict) as err:
        stands.reserve(db_session, stand.id, theirs.id, until=None, actor=admin)
    assert "уже продан" in err.value.message


def test_a_sold_stand_is_released_when_its_deal_is_lost(db_session, world, admin):
    stand, ours, theirs = world["stand"], world["ours"], world["theirs"]
    stands.sell(db_session, [stand.id], ours.id, actor=admin)
    assert stands.release(db_session, stand.id, actor=admin, deal_id=theirs.id).status == "sold"
    assert (
        stands.release(db_session, stand.id, actor=admin, deal_id=ours.id, only_held=True).status
        == "sold"
    )
    freed = stands.release(db_session, stand.id, actor=admin, deal_id=ours.id)
    assert (freed.status, freed.deal_id, freed.reserved_until) == ("free", None, None)
    assert (
        stands.reserve(db_session, stand.id, theirs.id, until=None, actor=admin).deal_id
        == theirs.id
    )


def test_a_deal_of_another_project_or_a_closed_deal_cannot_take_a_stand(
    db_session, world, admin, seller
):
    other_project = make_project(db_session, admin, code="OTHER")
    stranger = make_deal(
        db_session, other_project, seller, make_client(db_session, admin, "ИП Лис")
    )
    with pytest.raises(ValidationError) as err:
        stands.reserve(db_session, world["stand"].id, stranger.id, until=None, actor=admin)
    assert "другому выставочному проекту" in err.value.fields["deal_id"]
    with pytest.raises(ValidationError):
        stands.sell(db_session, [world["stand"].id], stranger.id, actor=admin)
    world["ours"].outcome = "won"
    db_session.flush()
    with pytest.raises(ValidationError) as err:
        stands.reserve(db_session, world["stand"].id, world["ours"].id, until=None, actor=admin)
    assert "открытой сделке" in err.value.fields["deal_id"]
    assert stands.sell(db_session, [world["stand"].id], world["ours"].id, actor=admin)


def test_an_inactive_stand_cannot_be_reserved(db_session, world, admin):
    ss.set_stand_active(db_session, world["stand"], False, actor=admin)
    with pytest.raises(Conflict) as err:
        stands.reserve(db_session, world["stand"].id, world["ours"].id, until=None, actor=admin)
    assert "снят с продажи" in err.value.message


# --- who may act --------------------------------------------------------------------------------


def test_a_manager_reserves_and_releases_only_for_own_deals(db_session, world, seller, rival, head):
    stand = world["stand"]
    with pytest.raises(PermissionDenied):
        booking.reserve_for_deal(db_session, stand.id, world["theirs"].id, until=None, actor=seller)
    booking.reserve_for_deal(db_session, stand.id, world["ours"].id, until=None, actor=seller)
    with pytest.raises(PermissionDenied):
        booking.release_by(db_session, stand.id, actor=rival)
    assert booking.release_by(db_session, stand.id, actor=head).status == "free"  # deals.all
    booking.reserve_for_deal(db_session, stand.id, world["theirs"].id, until=None, actor=head)
    assert booking.release_by(db_session, stand.id, actor=rival).status == "free"
    assert booking.release_by(db_session, stand.id, actor=rival).status == "free"  # nothing to do


def test_a_sold_stand_is_not_released_by_hand(db_session, world, admin, seller):
    stands.sell(db_session, [world["stand"].id], world["ours"].id, actor=admin)
    with pytest.raises(Conflict) as err:
        booking.release_by(db_session, world["stand"].id, actor=seller)
    assert "проигранную" in err.value.message


def test_open_deals_offered_are_own_ones_unless_deals_all(
    db_session, world, seller, head, make_user
):
    project_id = world["project"].id
    assert [d.id for d in booking.open_deals_for(db_session, project_id, seller)] == [
        world["ours"].id
    ]
    assert len(booking.open_deals_for(db_session, project_id, head)) == 2
    assert booking.open_deals_for(db_session, project_id, make_user("accountant")) == []


# --- pages and API ------------------------------------------------------------------------------


def test_a_manager_reserves_on_the_stand_page_and_releases(client, db_session, world, seller):
    stand = world["stand"]
    client.login("seller")
    page = client.get(f"/projects/stands/{stand.id}").get_data(as_text=True)
    assert "ООО «Ромашка»" in page and "АО «Гранит»" not in page  # only own deals offered
    until = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    response = client.submit(
        f"/projects/stands/{stand.id}/reserve", {"deal_id": world["ours"].id, "until": until}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    held = fresh(db_session, stand)
    assert held.status == "reserved" and held.deal_id == world["ours"].id
    page = client.get(f"/projects/stands/{stand.id}").get_data(as_text=True)
    assert f'href="/deals/{world["ours"].id}"' in page and "Снять бронь" in page
    response = client.submit(f"/projects/stands/{stand.id}/release")
    assert response.status_code == 302
    assert fresh(db_session, stand).status == "free"


def test_reserving_a_taken_stand_on_the_page_answers_409_in_russian(
    client, db_session, world, admin
):
    stands.reserve(db_session, world["stand"].id, world["theirs"].id, until=None, actor=admin)
    db_session.commit()
    client.login("seller")
    response = client.submit(
        f"/projects/stands/{world['stand'].id}/reserve",
        {
            "deal_id": world["ours"].id,
            "until": (dt.date.today() + dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 409
    assert "уже забронирован по сделке" in response.get_data(as_text=True)


def test_a_past_hold_date_is_refused_on_the_page(client, world):
    client.login("seller")
    response = client.submit(
        f"/projects/stands/{world['stand'].id}/reserve",
        {"deal_id": world["ours"].id, "until": "2020-01-01"},
    )
    assert response.status_code == 422
    assert "Срок брони должен быть в будущем." in response.get_data(as_text=True)


def test_the_api_reserves_with_409_when_taken_and_releases(client, db_session, world, api_token):
    stand = world["stand"]
    seller_headers, rival_headers = api_token("seller"), api_token("rival")
    until = (utcnow() + dt.timedelta(days=2)).isoformat()
    response = client.post(
        f"/api/v1/stands/{stand.id}/reserve",
        json={"deal_id": world["ours"].id, "until": until},
        headers=seller_headers,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "reserved"
    assert response.get_json()["deal_id"] == world["ours"].id
    response = client.post(
        f"/api/v1/stands/{stand.id}/reserve",
        json={"deal_id": world["theirs"].id},
        headers=rival_headers,
    )
    assert response.status_code == 409
    assert "уже забронирован по сделке «Участие»" in response.get_json()["error"]["message"]
    response = client.post(
        f"/api/v1/stands/{stand.id}/reserve",
        json={"deal_id": world["theirs"].id},
        headers=seller_headers,
    )
    assert response.status_code == 403  # not the seller's deal
    response = client.post(
        f"/api/v1/stands/{stand.id}/reserve",
        json={"deal_id": world["ours"].id, "until": "завтра"},
        headers=seller_headers,
    )
    assert response.status_code == 422 and "until" in response.get_json()["error"]["fields"]
    assert (
        client.post(f"/api/v1/stands/{stand.id}/release", headers=rival_headers).status_code == 403
    )
    response = client.post(f"/api/v1/stands/{stand.id}/release", headers=seller_headers)
    assert response.status_code == 200 and response.get_json()["status"] == "free"


# --- the hall plan ------------------------------------------------------------------------------


@pytest.fixture
def plan_world(db_session, world, admin):
    """Stand A-1 held for «Ромашка», A-2 sold to a client whose name needs escaping."""
    tricky = make_client(db_session, admin, 'ООО «Ёлка & <Ко>» "Север"')
    deal = make_deal(db_session, world["project"], world["theirs"].manager, tricky)
    stands.reserve(db_session, world["stand"].id, world["ours"].id, until=None, actor=admin)
    stands.sell(db_session, [world["other_stand"].id], deal.id, actor=admin)
    make_stand(db_session, world["project"], world["hall"], admin, "A-3", x=6, width=6, depth=4)
    db_session.commit()
    return world


def test_the_hall_plan_svg_colours_stands_and_escapes_names(app, db_session, plan_world):
    with app.test_request_context():
        plans = hallplan.project_plan(db_session, plan_world["project"])
        svg = str(hallplan.hall_svg(plans[0], stand_url=lambda sid: f"/projects/stands/{sid}"))
    assert 'viewBox="0 0 60.0 40.0"' in svg
    assert svg.count("<a href=") == 3
    assert 'fill="#ffe08a"' in svg and 'fill="#f4a6ab"' in svg and 'fill="#b7e4c7"' in svg
    assert "Экспонент: ООО «Ёлка &amp; &lt;Ко&gt;» &#34;Север&#34;" in svg
    assert "<Ко>" not in svg
    assert "Стенд № A-1" in svg and "Статус: Забронирован" in svg
    hall = plans[0]
    assert (hall.area("reserved"), hall.area("sold"), hall.area("free")) == (
        Decimal("9.00"),
        Decimal("9.00"),
        Decimal("24.00"),
    )


def test_the_plan_page_shows_every_hall_with_totals(client, db_session, plan_world, admin):
    make_hall(db_session, plan_world["project"], admin, name="Открытая площадка")
    db_session.commit()
    client.login("seller")
    page = client.get(f"/projects/{plan_world['project'].id}/plan").get_data(as_text=True)
    assert page.count("<svg") == 2 and "Открытая площадка" in page
    assert "продано 9,00 м² (1)" in page.replace("\xa0", " ")
    assert f'href="/projects/stands/{plan_world["stand"].id}"' in page
    assert "<script>" not in page


def test_the_plan_shows_an_expired_hold_as_free_and_frees_it(client, db_session, plan_world):
    db_session.execute(
        Stand.__table__.update()
        .where(Stand.id == plan_world["stand"].id)
        .values(reserved_until=utcnow() - dt.timedelta(minutes=1))
    )
    db_session.commit()
    client.login("seller")
    page = client.get(f"/projects/{plan_world['project'].id}/plan").get_data(as_text=True)
    assert "бронь 0,00 м² (0)" in page.replace("\xa0", " ")
    assert fresh(db_session, plan_world["stand"]).status == "free"


def test_the_plan_pdf_contains_the_project_and_stand_numbers(client, plan_world, tmp_path):
    client.login("seller")
    response = client.get(f"/projects/{plan_world['project'].id}/plan.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    path = tmp_path / "plan.pdf"
    path.write_bytes(response.data)
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is needed: make system-deps"
    text = subprocess.run(  # noqa: S603 - a fixed tool on our own file
        [pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ВолгаСтройЭкспо-2027" in text and "Павильон 1" in text
    for number in ("A-1", "A-2", "A-3"):
        assert number in text


# --- races: real connections, real commits ------------------------------------------------------


def _race_world(engine, managers: int) -> dict:
    """A project with one hall, three stands and one open deal per manager, committed."""
    from erp_crm.auth.models import User
    from erp_crm.clients.models import Client
    from erp_crm.deals.models import Deal, Pipeline, Stage
    from erp_crm.projects.models import Hall, Project, StandPrice

    with Session(engine, expire_on_commit=False) as session:
        set_actor(session, None)
        pipeline = Pipeline(code="sales", name="Продажа участия")
        stage = Stage(pipeline=pipeline, name="Интерес", percent=0)
        project = Project(
            name="Гонка-2027",
            code="RACE",
            opening_date=dt.date(2027, 3, 16),
            closing_date=dt.date(2027, 3, 18),
        )
        hall = Hall(project=project, name="Павильон 1", width_m=Decimal(30), depth_m=Decimal(20))
        stand_rows = [
            Stand(
                project=project, hall=hall, number=f"R-{i}", area_m2=Decimal(9), x_m=Decimal(3 * i)
            )
            for i in range(1, 4)
        ]
        price = StandPrice(project=project, stand_type="raw", price_per_m2=Decimal("10000.00"))
        session.add_all([pipeline, stage, project, hall, price, *stand_rows])
        session.flush()
        admin = User(username="admin", full_name="Админ", role="admin", password_hash="-")
        session.add(admin)
        deals = []
        for i in range(managers):
            user = User(
                username=f"m{i}", full_name=f"Менеджер {i}", role="sales_manager", password_hash="-"
            )
            client = Client(name=f"ООО «Клиент {i}»", name_norm=f"ооо клиент {i}")
            session.add_all([user, client])
            session.flush()
            deal = Deal(
                client_id=client.id,
                project_id=project.id,
                manager_id=user.id,
                pipeline_id=pipeline.id,
                stage_id=stage.id,
                title=f"Сделка {i}",
            )
            session.add(deal)
            deals.append(deal)
        session.commit()
        return {
            "admin": admin,
            "managers": [session.get(User, d.manager_id) for d in deals],
            "stands": [s.id for s in stand_rows],
            "deals": [(d.id, f"ООО «Клиент {i}»", f"Менеджер {i}") for i, d in enumerate(deals)],
        }


def _race(engine, actions) -> list:
    """Run the actions at the same moment, each in its own session and connection.

    The winner keeps its transaction open a little before committing, so the others really
    wait on its row lock (PostgreSQL) or write lock (SQLite) and decide after its commit.
    """
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            set_actor(session, None)
            try:
                barrier.wait(timeout=10)
                actions[index](session)
                time.sleep(0.3)
                session.commit()
                results[index] = "won"
            except Conflict as err:
                session.rollback()
                results[index] = err
            except Exception as err:  # noqa: BLE001  (reported by the assertions below)
                session.rollback()
                results[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _stored(engine, stand_id):
    with Session(engine) as session:
        stand = session.get(Stand, stand_id)
        return stand.status, stand.deal_id


def test_four_managers_reserving_one_stand_at_once_leave_exactly_one_holder(race_engine):
    world = _race_world(race_engine, managers=4)
    stand_id, admin = world["stands"][0], world["admin"]
    actions = [
        (lambda s, deal_id=deal_id: stands.reserve(s, stand_id, deal_id, until=None, actor=admin))
        for deal_id, _, _ in world["deals"]
    ]
    results = _race(race_engine, actions)
    winners = [i for i, r in enumerate(results) if r == "won"]
    assert len(winners) == 1, results
    losers = [r for r in results if r != "won"]
    assert all(isinstance(r, Conflict) for r in losers), results
    deal_id, client_name, manager_name = world["deals"][winners[0]]
    for conflict in losers:
        assert "R-1 уже забронирован" in conflict.message
        assert client_name in conflict.message and manager_name in conflict.message
    assert _stored(race_engine, stand_id) == ("reserved", deal_id)


def test_selling_and_reserving_one_stand_at_once_leave_one_winner(race_engine):
    world = _race_world(race_engine, managers=2)
    stand_id, admin = world["stands"][1], world["admin"]
    (buyer, _, _), (holder, _, _) = world["deals"]
    results = _race(
        race_engine,
        [
            lambda s: stands.sell(s, [stand_id], buyer, actor=admin),
            lambda s: stands.reserve(s, stand_id, holder, until=None, actor=admin),
        ],
    )
    assert sorted(map(str, results)).count("won") == 1, results
    loser = next(r for r in results if r != "won")
    assert isinstance(loser, Conflict), results
    if results[0] == "won":
        assert _stored(race_engine, stand_id) == ("sold", buyer)
        assert "уже продан" in loser.message
    else:
        assert _stored(race_engine, stand_id) == ("reserved", holder)
        assert "уже забронирован" in loser.message


def test_many_rounds_of_races_never_double_book(race_engine):
    world = _race_world(race_engine, managers=3)
    admin = world["admin"]
    for stand_id in world["stands"][2:]:
        for _ in range(3):
            actions = [
                (
                    lambda s, d=deal_id, sid=stand_id: stands.reserve(
                        s, sid, d, until=None, actor=admin
                    )
                )
                for deal_id, _, _ in world["deals"]
            ]
            results = _race(race_engine, actions)
            assert [r for r in results if r == "won"] == ["won"], results
            status, holder = _stored(race_engine, stand_id)
            assert status == "reserved"
            with Session(race_engine) as session:
                set_actor(session, None)
                stands.release(session, stand_id, actor=admin, deal_id=holder)
                session.commit()


def test_managers_reserving_from_their_pages_at_once_get_one_hold_and_conflicts(race_engine):
    """The page path reads the deal before the UPDATE (an older snapshot on SQLite): still one
    winner, and every other manager gets a Russian Conflict, never an error page."""
    world = _race_world(race_engine, managers=3)
    stand_id = world["stands"][0]
    actions = [
        (
            lambda s, d=deal_id, m=manager: booking.reserve_for_deal(
                s, stand_id, d, until=None, actor=m
            )
        )
        for (deal_id, _, _), manager in zip(world["deals"], world["managers"], strict=True)
    ]
    results = _race(race_engine, actions)
    assert results.count("won") == 1, results
    assert all(isinstance(r, Conflict) for r in results if r != "won"), results
    assert all("Стенд" in r.message for r in results if r != "won")
    assert _stored(race_engine, stand_id)[0] == "reserved"


def test_pages_cleaning_expired_holds_at_once_free_each_hold_once(race_engine):
    world = _race_world(race_engine, managers=1)
    admin, (deal_id, _, _) = world["admin"], world["deals"][0]
    with Session(race_engine) as session:
        set_actor(session, None)
        for stand_id in world["stands"]:
            stands.reserve(session, stand_id, deal_id, until=None, actor=admin)
        session.execute(
            Stand.__table__.update().values(reserved_until=utcnow() - dt.timedelta(minutes=1))
        )
        session.commit()
    freed: list[int] = []

    def clean(session):
        freed.append(stands.release_expired(session))

    results = _race(race_engine, [clean] * 4)
    assert results == ["won"] * 4, results
    assert sum(freed) == 3
    assert {_stored(race_engine, sid) for sid in world["stands"]} == {("free", None)}
