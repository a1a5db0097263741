"""A deal's stand picked from a long list in a real Chromium: the select of 200 free stands is
searchable (Tom Select), typing a number finds the stand, and the line lands on the deal.

Set up by tests/browser/live.py: the app on a free localhost port, its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erp_crm.db import db
from erp_crm.deals import services
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client, make_project

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        head = seed_user(session, "stands_head", "Соколова Анна Петровна", "head_of_sales")
        project = make_project(session, stands=200)
        deal = services.create_deal(
            session,
            services.DealData(client_id=make_client(session, head).id, project_id=project.id),
            actor=head,
        )
        return {"deal": deal.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    with live_app(tmp_path_factory.mktemp("stands-browser"), _seed) as (base_url, _app, data):
        yield base_url, data


def test_a_stand_is_found_by_its_number_among_200(live):
    from playwright.sync_api import expect

    base_url, data = live
    with logged_in_page(base_url, "stands_head") as page:
        page.goto(f"{base_url}/deals/{data['deal']}")
        native = page.locator("select#stand_id")
        assert native.locator("option").count() == 201  # the placeholder and 200 stands
        page.locator(".ts-wrapper .ts-control").first.click()
        search = page.locator(".ts-dropdown input")  # Tom Select's search box, in its dropdown
        search.press_sequentially("A137")
        options = page.locator(".ts-dropdown .option")
        expect(options).to_have_count(1)  # 200 stands filtered down to the one typed
        assert "№ A137 —" in options.first.inner_text()
        search.press_sequentially("x")  # nothing matches
        page.locator(".ts-dropdown .no-results", has_text="Ничего не найдено").wait_for()
        page.keyboard.press("Backspace")
        expect(options).to_have_count(1)
        page.keyboard.press("Enter")
        wanted = native.locator("option", has_text="№ A137 —").get_attribute("value")
        assert native.input_value() == wanted  # the native field carries the choice
        button = page.locator("form[action$='/lines/stand'] button[type=submit]")
        button.click()
        page.wait_for_selector(".alert-success")
        assert "Стенд № A137 добавлен" in page.locator(".alert-success").inner_text()
        assert not page.problems, page.problems
