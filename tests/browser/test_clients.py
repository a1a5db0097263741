"""Handing a leaver's clients over, in a real Chromium: the leaver picked as «Чьих клиентов
передать» is not offered among the recipients, and the hand-over lands with the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erp_crm.clients.models import Client
from erp_crm.db import db
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.deals import make_client

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        head = seed_user(session, "cl_br_head", "Руководитель ОП", "head_of_sales")
        leaver = seed_user(session, "cl_br_leaver", "Уходящий Менеджер", "sales_manager")
        heir = seed_user(session, "cl_br_heir", "Новый Менеджер", "sales_manager")
        client = make_client(session, head, name="ООО «Наследство»")
        client.curator_id = leaver.id
        session.flush()
        return {"leaver": leaver.id, "heir": heir.id, "client": client.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("clients"), _seed) as served:
        yield served


def test_the_leaver_is_not_offered_as_a_recipient_of_their_own_clients(live):
    base_url, app, data = live
    leaver, heir = str(data["leaver"]), str(data["heir"])
    with logged_in_page(base_url, "cl_br_head") as page:
        page.on("dialog", lambda dialog: dialog.accept())  # «Передать всех клиентов …?»
        page.goto(f"{base_url}/clients/reassign")
        page.select_option("#from_user_id", leaver)
        recipient = page.locator(f'#to_user_ids option[value="{leaver}"]')
        assert recipient.is_disabled()
        assert not page.locator(f'#to_user_ids option[value="{heir}"]').is_disabled()
        page.select_option("#to_user_ids", [heir])
        page.get_by_role("button", name="Передать", exact=True).click()
        page.wait_for_selector(".alert-success")
        assert "Передано клиентов: 1" in page.locator(".alert-success").inner_text()
        assert page.problems == []
    with app.app_context():
        assert db.session.get(Client, data["client"]).curator_id == data["heir"]
