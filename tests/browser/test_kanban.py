"""The deals board in a real Chromium: log in, drag cards between stages with SortableJS.

Set up by tests/browser/live.py: the app on a free localhost port, its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from erp_crm.db import db
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services
from erp_crm.deals.models import Deal
from erp_crm.projects.models import Stand
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client, make_project

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        manager = seed_user(session, "board_mgr", "Кузнецова Мария Алексеевна", "sales_manager")
        project = make_project(session)
        stand = session.scalars(select(Stand).order_by(Stand.number)).first()
        with_stand = services.create_deal(
            session,
            services.DealData(
                client_id=make_client(session, manager, name="ООО «Ромашка»").id,
                project_id=project.id,
            ),
            actor=manager,
        )
        deal_lines.add_stand_line(session, with_stand, stand, actor=manager)
        bare = services.create_deal(
            session,
            services.DealData(
                client_id=make_client(session, manager, name="АО «Вектор»", inn="7736207543").id,
                project_id=project.id,
            ),
            actor=manager,
        )
        deal_lines.add_registration_line(session, bare, actor=manager)
        sales = services.pipeline_by_code(session, "sales")
        stage_of = {s.percent: s.id for s in sales.stages}
        return {
            "project": project.id,
            "pipeline": sales.id,
            "with_stand": with_stand.id,
            "bare": bare.id,
            "stage": stage_of,
        }


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("browser"), _seed) as served:
        yield served


@pytest.fixture(scope="module")
def page(live):
    base_url, _app, _data = live
    # wide enough for every column of the sales pipeline without scrolling; a refused move is
    # what one test provokes
    with logged_in_page(
        base_url, "board_mgr", width=2600, timeout_ms=15_000, expected_failures=("/kanban/move",)
    ) as page:
        yield page


def _stage_of(app, deal_id: int) -> int:
    with app.app_context(), db.job_session() as session:
        return session.get(Deal, deal_id).stage_id


def _open_board(page, base_url: str, data: dict) -> None:
    page.goto(f"{base_url}/kanban/?project_id={data['project']}&pipeline_id={data['pipeline']}")
    page.wait_for_selector('[data-kanban-board][data-kanban-ready="1"]')


def _card(deal_id: int) -> str:
    return f'.kanban-card[data-deal-id="{deal_id}"]'


def _list(stage_id: int) -> str:
    return f'[data-kanban-list][data-stage-id="{stage_id}"]'


def _drag(page, deal_id: int, stage_id: int):
    """Press on the card, move to the target column in steps, release: SortableJS sees a drag."""
    card = page.locator(_card(deal_id)).bounding_box()
    target = page.locator(_list(stage_id)).bounding_box()
    assert card and target
    page.mouse.move(card["x"] + card["width"] / 2, card["y"] + 20)
    page.mouse.down()
    page.mouse.move(card["x"] + card["width"] / 2 + 10, card["y"] + 30, steps=5)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 40, steps=25)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 45, steps=5)
    page.mouse.up()


def test_dragging_a_card_moves_the_deal_to_the_next_stage(live, page):
    base_url, app, data = live
    first, second = data["stage"][0], data["stage"][10]
    _open_board(page, base_url, data)
    assert page.locator(f"{_list(first)} {_card(data['with_stand'])}").count() == 1

    with page.expect_response(lambda r: r.url.endswith("/kanban/move")) as answer:
        _drag(page, data["with_stand"], second)
    assert answer.value.status == 200, answer.value.text()

    assert _stage_of(app, data["with_stand"]) == second  # committed in the database
    column = page.locator(f'[data-kanban-column][data-stage-id="{second}"]')
    assert column.locator("[data-column-count]").inner_text() == "1"
    assert "12,00" in column.locator("[data-column-area]").inner_text()

    page.reload()
    page.wait_for_selector('[data-kanban-board][data-kanban-ready="1"]')
    assert page.locator(f"{_list(second)} {_card(data['with_stand'])}").count() == 1
    assert page.locator(f"{_list(first)} {_card(data['with_stand'])}").count() == 0
    assert page.problems == []


def test_a_sale_stage_without_m2_shows_the_refusal_and_puts_the_card_back(live, page):
    base_url, app, data = live
    first, signed = data["stage"][0], data["stage"][70]
    _open_board(page, base_url, data)
    assert page.locator(f"{_list(first)} {_card(data['bare'])}").count() == 1

    with page.expect_response(lambda r: r.url.endswith("/kanban/move")) as answer:
        _drag(page, data["bare"], signed)
    assert answer.value.status == 422

    alert = page.locator("#kanban-alerts .alert-danger")
    alert.wait_for()
    assert "Продажа без стенда или площади невозможна" in alert.inner_text()
    page.wait_for_function(
        "([list, card]) => document.querySelector(list + ' ' + card) !== null",
        arg=[_list(first), _card(data["bare"])],
    )
    assert page.locator(f"{_list(signed)} {_card(data['bare'])}").count() == 0
    assert _stage_of(app, data["bare"]) == first
    page.reload()
    page.wait_for_selector('[data-kanban-board][data-kanban-ready="1"]')
    assert page.locator(f"{_list(first)} {_card(data['bare'])}").count() == 1
    assert page.problems == []
