"""Documents in a real Chromium: the deal card loads its documents panel (htmx), issues the
package in one click, and batch printing shows a progress bar that fills while the job runs.

Set up by tests/browser/live.py: the app on a free localhost port, its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erp_crm.db import db
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services
from erp_crm.organizations import services as org_services
from erp_crm.projects.models import Stand
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client, make_project
from tests.fixtures.organizations import VALID

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    from sqlalchemy import select

    with app.app_context(), db.job_session() as session:
        head = seed_user(session, "docs_head", "Соколова Анна Петровна", "head_of_sales")
        org_services.create_organization(
            session, org_services.OrganizationData(**VALID), actor=head
        )
        project = make_project(session, stands=6)
        stands = session.scalars(select(Stand).order_by(Stand.number)).all()
        deals = []
        for n, (name, inn) in enumerate(
            [
                ("ООО «Ромашка»", "7707083893"),
                ("АО «Вектор & Ко»", "7736207543"),
                ("ПАО «Север»", "7702070139"),
            ]
        ):
            deal = services.create_deal(
                session,
                services.DealData(
                    client_id=make_client(session, head, name=name, inn=inn).id,
                    project_id=project.id,
                ),
                actor=head,
            )
            deal_lines.add_stand_line(session, deal, stands[n], actor=head)
            if n:  # the other two are sold: batch printing takes them
                import datetime as dt

                sale = next(s for s in deal.pipeline.stages if s.is_sale)
                services.move_to_stage(
                    session,
                    deal,
                    sale,
                    actor=head,
                    next_contact_date=dt.date.today() + dt.timedelta(7),
                )
            deals.append(deal.id)
        return {"project": project.id, "deals": deals}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    with live_app(tmp_path_factory.mktemp("docs-browser"), _seed) as (base_url, _app, data):
        yield base_url, data


@pytest.fixture(scope="module")
def page(live):
    base_url, _data = live
    with logged_in_page(base_url, "docs_head", accept_downloads=True) as page:
        yield page


def test_the_deal_card_issues_the_package_in_one_click(live, page):
    base_url, data = live
    deal = data["deals"][0]
    page.goto(f"{base_url}/deals/{deal}")
    package = page.locator("#documents button", has_text="Выставить пакет")
    package.wait_for()  # the panel arrived through htmx
    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation lists the kinds
    package.click()
    page.wait_for_selector(".alert-success")
    assert "Выставлены" in page.locator(".alert-success").inner_text()
    rows = page.locator("#deal-documents tbody tr")
    rows.first.wait_for()
    text = page.locator("#deal-documents").inner_text()
    for title in ("Заявка на участие", "Договор", "Счёт на оплату"):
        assert title in text
    assert "Выставлен" in text
    pdf = page.request.get(f"{base_url}/documents/deal/{deal}/package.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    assert not page.problems, page.problems


def test_batch_printing_shows_its_progress_until_the_pdf_is_ready(live, page):
    base_url, data = live
    page.goto(f"{base_url}/documents/projects/{data['project']}")
    page.select_option("select[name=kind]", "invoice")
    page.once("dialog", lambda dialog: dialog.accept())  # «Выставить … по 2 сделкам?»
    page.click("button:has-text('Запустить')")
    job = page.locator(".print-job").first
    job.wait_for()
    page.wait_for_function(
        "() => document.querySelector('.print-job .progress-bar').textContent.trim() === '100%'"
    )
    link = page.locator(".print-job a", has_text="Один PDF")
    link.wait_for()
    assert "выставлено новых документов: 2" in page.locator(".print-job").first.inner_text()
    merged = page.request.get(base_url + link.get_attribute("href"))
    assert merged.status == 200 and merged.body()[:5] == b"%PDF-"
    assert not page.problems, page.problems
