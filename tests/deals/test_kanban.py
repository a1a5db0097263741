"""The deals board: column totals from SQL, the move endpoint and each of its refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import flask_migrate
import pytest
from sqlalchemy import select

from erp_crm.activities.models import ActivityType
from erp_crm.deals import kanban, next_steps, services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals.models import Deal, DealStageChange, LostReason, Stage
from erp_crm.projects.models import Stand
from tests.fixtures.app import make_test_app
from tests.fixtures.deals import make_client, make_project


@pytest.fixture(scope="module")
def app(database_url, tmp_path_factory):
    """The suite's app, plus the kanban blueprint until erp_crm/__init__.py registers it."""
    app = make_test_app(database_url, tmp_path_factory.mktemp("kanban_instance"))
    if "kanban" not in app.blueprints:
        from erp_crm.deals.views.kanban import bp

        app.register_blueprint(bp)
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    app.extensions["erp_db"].engine.dispose()


def stage(session, pipeline_code, percent):
    pipeline = services.pipeline_by_code(session, pipeline_code)
    return next(s for s in pipeline.stages if s.percent == percent)


@pytest.fixture
def world(db_session, make_user):
    manager = make_user("sales_manager", username="kan_mgr")
    other = make_user("sales_manager", username="kan_other")
    project = make_project(db_session)
    stands = db_session.scalars(select(Stand).order_by(Stand.number)).all()

    def deal(name, inn, actor=manager):
        client = make_client(db_session, actor, name=name, inn=inn)
        return services.create_deal(
            db_session,
            services.DealData(client_id=client.id, project_id=project.id),
            actor=actor,
        )

    romashka = deal("ООО «Ромашка»", "7707083893")
    deal_lines.add_stand_line(db_session, romashka, stands[0], actor=manager)  # 12 m², corner
    deal_lines.add_registration_line(db_session, romashka, actor=manager)
    vector = deal("АО «Вектор»", "7736207543")
    deal_lines.add_stand_line(db_session, vector, stands[1], actor=manager)  # 12 m², row
    bare = deal("ООО «Без площади»", "7728168971")  # no stand, no m²
    deal_lines.add_registration_line(db_session, bare, actor=manager)
    foreign = deal("ООО «Чужая»", "7702070139", actor=other)
    deal_lines.add_space_line(db_session, foreign, stand_type="raw", area_m2="9", actor=other)
    services.move_to_stage(db_session, vector, stage(db_session, "sales", 40), actor=manager)
    services.move_to_stage(db_session, foreign, stage(db_session, "sales", 40), actor=other)
    lost = deal("ООО «Проигранная»", "7710140679")
    deal_lines.add_space_line(db_session, lost, stand_type="raw", area_m2="50", actor=manager)
    reason = db_session.scalar(select(LostReason).where(LostReason.name == "Нет бюджета"))
    services.mark_lost(db_session, lost, reason.id, None, actor=manager)
    db_session.commit()
    pipeline = services.pipeline_by_code(db_session, "sales")
    return {
        "manager": manager,
        "other": other,
        "project": project,
        "pipeline": pipeline,
        "romashka": romashka,
        "vector": vector,
        "bare": bare,
        "foreign": foreign,
        "lost": lost,
    }


def move(client, token, **payload):
    return client.post("/kanban/move", json=payload, headers={"X-CSRFToken": token})


def test_column_sums_come_from_sql_and_match_the_deals(world, db_session):
    project, pipeline = world["project"], world["pipeline"]
    totals = kanban.column_totals(db_session, project.id, pipeline.id)
    deals = db_session.scalars(
        select(Deal).where(Deal.project_id == project.id, Deal.outcome != "lost")
    ).all()
    expected: dict[int, tuple[int, D, D]] = {}
    for deal in deals:
        count, amount, area = expected.get(deal.stage_id, (0, D(0), D(0)))
        expected[deal.stage_id] = (count + 1, amount + deal.amount, area + deal.area_m2)
    got = {k: (t.count, t.amount, t.area_m2) for k, t in totals.items()}
    assert got == expected
    first = stage(db_session, "sales", 0)
    # Ромашка (140 400 ₽, 12 m²) and the bare deal (15 000 ₽): the lost 50 m² are not counted.
    assert got[first.id] == (2, D("155400.00"), D("12.00"))
    forty = stage(db_session, "sales", 40)
    assert got[forty.id] == (2, D("114000.00") + world["foreign"].amount, D("21.00"))


def test_board_lists_active_stages_with_cards_in_position_order(world, db_session):
    board = kanban.load_board(
        db_session,
        project_id=world["project"].id,
        pipeline_id=world["pipeline"].id,
        actor=world["manager"],
    )
    assert [c.stage.percent for c in board.columns] == [0, 10, 20, 40, 60, 70, 80, 90, 100]
    first = board.columns[0]
    assert [c.client_name for c in first.cards] == ["ООО «Ромашка»", "ООО «Без площади»"]
    assert all(c.id != world["lost"].id for col in board.columns for c in col.cards)
    forty = board.columns[3]
    movable = {c.client_name: c.movable for c in forty.cards}
    assert movable == {"АО «Вектор»": True, "ООО «Чужая»": False}
    assert board.totals.count == 4


def test_board_page_shows_columns_sums_and_cards(client, world):
    client.login("kan_mgr")
    url = f"/kanban/?project_id={world['project'].id}&pipeline_id={world['pipeline'].id}"
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Интерес, заявка" in html
    assert "155\xa0400,00" in html  # the first column's Σ amount, Russian format
    assert f'data-deal-id="{world["romashka"].id}"' in html
    assert "ООО «Проигранная»" not in html
    assert "vendor/Sortable.min.js" in html and "js/kanban.js" in html
    # No project chosen: the first current project is shown.
    assert client.get("/kanban/").status_code == 200


def test_move_changes_the_stage_and_answers_the_new_totals(client, world, db_session):
    client.login("kan_mgr")
    token = client.csrf_token("/")
    target = stage(db_session, "sales", 10)
    response = move(client, token, deal_id=world["romashka"].id, stage_id=target.id, position=0)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["deal"] == {
        "id": world["romashka"].id,
        "stage_id": target.id,
        "pipeline_id": world["pipeline"].id,
        "outcome": "open",
        "position": 0,
    }
    columns = {c["stage_id"]: c for c in body["columns"]}
    assert columns[target.id]["count"] == 1
    assert columns[target.id]["amount"] == "140400.00"
    assert columns[target.id]["area_display"] == "12,00"
    assert columns[stage(db_session, "sales", 0).id]["count"] == 1
    db_session.expire_all()
    assert db_session.get(Deal, world["romashka"].id).stage_id == target.id


def test_move_to_a_sale_stage_with_m2_wins_the_deal(client, world, db_session):
    client.login("kan_mgr")
    signed = stage(db_session, "sales", 70)
    response = move(client, client.csrf_token("/"), deal_id=world["vector"].id, stage_id=signed.id)
    assert response.status_code == 200
    assert response.get_json()["deal"]["outcome"] == "won"


def test_move_within_a_column_keeps_the_new_order(client, world, db_session):
    client.login("kan_mgr")
    first = stage(db_session, "sales", 0)
    response = move(
        client, client.csrf_token("/"), deal_id=world["bare"].id, stage_id=first.id, position=0
    )
    assert response.status_code == 200
    board = kanban.load_board(
        db_session,
        project_id=world["project"].id,
        pipeline_id=world["pipeline"].id,
        actor=world["manager"],
    )
    assert [c.client_name for c in board.columns[0].cards] == [
        "ООО «Без площади»",
        "ООО «Ромашка»",
    ]


def test_sale_stage_without_m2_is_refused_with_422(client, world, db_session):
    client.login("kan_mgr")
    signed = stage(db_session, "sales", 70)
    response = move(client, client.csrf_token("/"), deal_id=world["bare"].id, stage_id=signed.id)
    assert response.status_code == 422
    assert "Продажа без стенда или площади невозможна" in response.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Deal, world["bare"].id).stage.percent == 0


def test_lost_deal_is_refused_with_409(client, world, db_session):
    client.login("kan_mgr")
    response = move(
        client,
        client.csrf_token("/"),
        deal_id=world["lost"].id,
        stage_id=stage(db_session, "sales", 10).id,
    )
    assert response.status_code == 409
    assert "проиграна" in response.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Deal, world["lost"].id).outcome == "lost"


def test_deferred_without_a_date_is_refused_then_accepted_with_one(client, world, db_session):
    client.login("kan_mgr")
    token = client.csrf_token("/")
    deferred = stage(db_session, "deferred", 0)
    response = move(client, token, deal_id=world["bare"].id, stage_id=deferred.id)
    assert response.status_code == 422
    assert "дату следующего контакта" in response.get_json()["error"]["message"]
    response = move(
        client,
        token,
        deal_id=world["bare"].id,
        stage_id=deferred.id,
        next_contact_date="2027-01-15",
    )
    assert response.status_code == 200
    db_session.expire_all()
    deal = db_session.get(Deal, world["bare"].id)
    assert deal.pipeline.code == "deferred"
    assert next_steps.next_contact(db_session, deal.id) == dt.datetime(
        2027, 1, 15, 7, 0, tzinfo=dt.UTC
    )


def test_someone_elses_deal_is_refused_with_403(client, world, db_session):
    client.login("kan_mgr")
    response = move(
        client,
        client.csrf_token("/"),
        deal_id=world["foreign"].id,
        stage_id=stage(db_session, "sales", 60).id,
    )
    assert response.status_code == 403
    assert "менеджер" in response.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Deal, world["foreign"].id).stage.percent == 40


def test_head_of_sales_moves_any_deal(client, world, db_session, make_user):
    head = make_user("head_of_sales", username="kan_head")
    client.login("kan_head")
    target = stage(db_session, "sales", 60)
    response = move(client, client.csrf_token("/"), deal_id=world["foreign"].id, stage_id=target.id)
    assert response.status_code == 200
    db_session.expire_all()
    deal = db_session.get(Deal, world["foreign"].id)
    assert deal.stage_id == target.id and deal.manager_id != head.id  # someone else's deal
    last = db_session.scalars(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal.id)
        .order_by(DealStageChange.id.desc())
    ).first()
    assert last.to_stage_id == target.id and last.actor_id == head.id


def test_bad_requests_and_roles_without_deals_work(client, world, db_session, make_user):
    client.login("kan_mgr")
    token = client.csrf_token("/")
    assert move(client, token, stage_id=1).status_code == 400
    missing = move(client, token, deal_id=world["bare"].id, stage_id=999999)
    assert missing.status_code == 404
    assert move(client, token, deal_id=999999, stage_id=1).status_code == 404
    # Without the CSRF header the move is refused.
    no_token = client.post("/kanban/move", json={"deal_id": world["bare"].id, "stage_id": 1})
    assert no_token.status_code == 400
    make_user("accountant", username="kan_acc")
    client.post("/logout", data={"csrf_token": token})
    client.login("kan_acc")
    assert client.get("/kanban/").status_code == 200
    denied = move(
        client,
        client.csrf_token("/"),
        deal_id=world["bare"].id,
        stage_id=stage(db_session, "sales", 10).id,
    )
    assert denied.status_code == 403


def test_inactive_stage_is_not_a_column(world, db_session):
    stage_20 = stage(db_session, "sales", 20)
    stage_20.is_active = False
    db_session.flush()
    board = kanban.load_board(
        db_session,
        project_id=world["project"].id,
        pipeline_id=world["pipeline"].id,
        actor=world["manager"],
    )
    assert 20 not in [c.stage.percent for c in board.columns]
    assert isinstance(board.columns[0].stage, Stage)


def test_cards_and_the_deal_list_flag_open_deals_without_a_next_step(client, world, db_session):
    from erp_crm.activities import services as activities

    call = world["romashka"]
    activities.plan(
        db_session,
        activities.ActivityData.from_mapping(
            {
                "type_id": db_session.scalar(
                    select(ActivityType.id).where(ActivityType.code == "call")
                ),
                "goal": "Обсудить стенд",
                "client_id": call.client_id,
                "deal_id": call.id,
                "starts_at": "2027-03-02T11:00",
            }
        ),
        actor=world["manager"],
    )
    board = kanban.load_board(
        db_session,
        project_id=world["project"].id,
        pipeline_id=world["pipeline"].id,
        actor=world["manager"],
    )
    flags = {c.client_name: c.no_next_step for col in board.columns for c in col.cards}
    assert flags["ООО «Ромашка»"] is False and flags["ООО «Без площади»"] is True
    [card] = [c for col in board.columns for c in col.cards if c.id == call.id]
    assert card.next_contact == dt.datetime(2027, 3, 2, 8, 0, tzinfo=dt.UTC)

    client.login("kan_mgr")
    url = f"/kanban/?project_id={world['project'].id}&pipeline_id={world['pipeline'].id}"
    html = client.get(url).get_data(as_text=True)
    assert html.count("data-no-next-step") == sum(flags.values())
    assert "02.03.2027 11:00" in html
    listing = client.get(f"/deals/?project_id={world['project'].id}").get_data(as_text=True)
    assert "02.03.2027 11:00" in listing and "без следующего шага" in listing
