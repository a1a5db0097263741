"""A manager's day in a real Chromium: plan a call from the client card, complete it as
«перенос» (the completion form shows the parts that result needs), and find the next call in
the calendar on the day it was moved to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from erp_crm.activities import services
from erp_crm.activities.models import Activity
from erp_crm.db import db, utcnow
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        manager = seed_user(session, "day_mgr", "Орлов Дмитрий Игоревич", "sales_manager")
        client = make_client(session, manager, name="ООО «Вектор»")
        client.curator_id = manager.id
        return {"client": client.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("activities"), _seed) as served:
        yield served


def test_plan_from_the_card_postpone_and_see_the_next_call_in_the_calendar(live):
    base_url, app, data = live
    moscow = services.zone_of(None)
    tomorrow = utcnow().astimezone(moscow).date() + dt.timedelta(days=1)
    later = tomorrow + dt.timedelta(days=2)
    with logged_in_page(base_url, "day_mgr") as page:
        page.goto(f"{base_url}/clients/{data['client']}")
        page.locator("#client-activities a", has_text="Запланировать").click()
        page.wait_for_url("**/activities/new?client_id=*")
        page.fill("#goal", "Пригласить на выставку")
        page.fill("#starts_at", f"{tomorrow}T11:00")
        page.get_by_role("button", name="Запланировать").click()
        page.wait_for_selector("#complete-form")
        assert "Контакт запланирован" in page.content()

        # The result's parts: only the chosen result's fields are shown.
        postponed_part = page.locator('[data-result-part="postponed"]')
        from playwright.sync_api import expect

        expect(postponed_part).to_be_hidden()  # waits for the page's script under load
        page.locator('input[data-result-kind="postponed"]').check()
        expect(postponed_part).to_be_visible()
        expect(page.locator('[data-result-part="invitation_sent"]')).to_be_hidden()
        page.fill("#postponed_to", f"{later}T15:30")
        page.select_option("#postpone_reason_id", index=1)
        page.get_by_role("button", name="Выполнено").click()
        page.wait_for_selector("#next-activity")
        assert "Следующий контакт" in page.content()

        with app.app_context(), db.job_session() as session:
            done, following = session.scalars(select(Activity).order_by(Activity.id)).all()
            assert done.status == "done" and done.result_kind == "postponed"
            assert following.status == "planned" and following.previous_activity_id == done.id
            following_id = following.id

        page.goto(f"{base_url}/calendar/?view=timeGridWeek&date={later}")
        page.wait_for_selector('[data-calendar][data-calendar-ready="1"]')
        event = page.locator(f'.fc-event[data-activity-id="{following_id}"]')
        event.wait_for()
        assert "ООО «Вектор»" in event.inner_text() and "15:30" in event.inner_text()
        column = page.locator(f'.fc-timegrid-col[data-date="{later}"]')
        assert column.locator(f'.fc-event[data-activity-id="{following_id}"]').count() == 1
        assert page.problems == []
