"""An analyst in a real Chromium: filter the client list, take it «В рассылку», save the
selection, make a postal campaign and download its labels as one PDF."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pytest

from erp_crm.db import db
from tests.browser.live import live_app, logged_in_page, seed_user
from tests.fixtures.mailing import client_with_address

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        analyst = seed_user(session, "mail_an", "Белова Ольга Николаевна", "analyst")
        for i in range(30):
            client_with_address(session, analyst, f"ООО «Адресат-{i:02d}»", None)
        client_with_address(session, analyst, "ООО «Адресат-против»", None, consent=False)
        return {}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("mailing"), _seed) as served:
        yield served


def test_a_selection_from_the_client_list_becomes_a_labels_pdf(live, tmp_path: Path):
    base_url, _app, _data = live
    with logged_in_page(base_url, "mail_an") as page:
        page.goto(f"{base_url}/clients/?q=Адресат")
        page.locator("#to-mailing").click()
        page.wait_for_url("**/mailing/selections/new?*")
        page.fill("#name", "Адресаты")
        page.get_by_role("button", name="Сохранить выборку").click()
        page.wait_for_selector("#selection-counts")
        counts = page.inner_text("#selection-counts")
        assert "Войдут: 30" in counts and "Нет согласия на рассылку: 1" in counts
        page.get_by_role("button", name="Создать рассылку").click()
        page.wait_for_selector("#labels-form")
        page.select_option("#format_id", label="A4, 3 × 8 (70 × 36 мм)")
        with page.expect_download() as info:
            page.get_by_role("button", name="Наклейки (PDF)").click()
        target = tmp_path / "labels.pdf"
        info.value.save_as(target)
        assert page.problems == []
    with pdfplumber.open(io.BytesIO(target.read_bytes())) as pdf:
        assert len(pdf.pages) == 2  # 24 on the first sheet, 6 on the second
        first = pdf.pages[0].extract_text()
        second = pdf.pages[1].extract_text()
    assert sum(f"Адресат-{i:02d}»" in first for i in range(30)) == 24
    assert sum(f"Адресат-{i:02d}»" in second for i in range(30)) == 6
    assert "против" not in first + second
