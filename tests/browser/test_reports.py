"""The department report in a real Chromium: a figure is a link, and clicking it lands on the
records behind it (here Anna's one lost deal)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from erp_crm.db import db
from erp_crm.deals import services as deals
from erp_crm.deals.models import LostReason
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client, make_project

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        head = seed_user(session, "rep_br_head", "Руководитель ОП", "head_of_sales")
        anna = seed_user(session, "rep_br_anna", "Анна Петрова", "sales_manager")
        project = make_project(session)
        client = make_client(session, head, name="ООО «Отказник»")
        deal = deals.create_deal(
            session,
            deals.DealData(client_id=client.id, project_id=project.id, manager_id=anna.id),
            actor=head,
        )
        reason = session.scalar(select(LostReason).where(LostReason.name == "Нет бюджета"))
        deals.mark_lost(session, deal, reason.id, "нет денег", actor=head)
        return {"anna": anna.id, "deal": deal.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("reports"), _seed) as served:
        yield served


def test_clicking_a_figure_of_the_department_report_opens_its_records(live):
    base_url, _app, data = live
    with logged_in_page(base_url, "rep_br_head") as page:
        page.goto(f"{base_url}/reports/department")
        row = page.locator(f'#team-report tr[data-manager="{data["anna"]}"]')
        link = row.locator('a[data-figure="lost"]')
        assert link.inner_text() == "1"
        link.click()
        page.wait_for_url("**/reports/records?*figure=lost*")
        assert page.locator("#records-total").inner_text() == "1"
        rows = page.locator("#records tbody tr")
        assert rows.count() == 1
        assert rows.first.get_attribute("data-record") == str(data["deal"])
        assert "ООО «Отказник»" in rows.first.inner_text()
        assert page.problems == []


def test_the_funnel_draws_its_chart_beside_the_table(live):
    base_url, _app, _data = live
    with logged_in_page(base_url, "rep_br_head") as page:
        page.goto(f"{base_url}/reports/funnel")
        page.wait_for_selector('canvas[data-chart-ready="1"]')
        assert page.locator("#funnel-table tbody tr").count() == 9  # the sales pipeline's stages
        assert page.locator("#funnel-deals").inner_text() == "1"
        assert page.problems == []
