"""The operations page in a real Chromium: the admin cancels a queued job (after the page's
confirmation — dismissing it changes nothing) and retries a failed one, whose new error shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from erp_crm.db import db
from erp_crm.jobs.models import JobRequest
from tests.browser.live import live_app, logged_in_page, seed_user

pytestmark = pytest.mark.browser


def _seed(app) -> dict:
    with app.app_context(), db.job_session() as session:
        seed_user(session, "ops_admin", "Сидоров Пётр Ильич", "admin")
        queued = JobRequest(
            name="clients.import",
            title="Импорт «Ждёт»",
            status="queued",
            payload={"import_job_id": 999999, "actor_id": 1, "dry_run": False},
        )
        failed = JobRequest(
            name="browser.unknown", title="Сломанное задание", status="failed", error="Ошибка связи"
        )
        session.add_all([queued, failed])
        session.flush()
        return {"queued": queued.id, "failed": failed.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object, dict]]:
    with live_app(tmp_path_factory.mktemp("jobs"), _seed) as served:
        yield served


def _status(app, request_id: int) -> tuple[str, str | None]:
    with app.app_context(), db.job_session() as session:
        job = session.get(JobRequest, request_id)
        return job.status, job.error


def test_the_admin_cancels_a_queued_job_and_retries_a_failed_one(live):
    base_url, app, data = live
    with logged_in_page(base_url, "ops_admin") as page:
        page.goto(f"{base_url}/admin/jobs/")
        row = page.locator(f"#job-{data['queued']}")
        assert "Импорт «Ждёт»" in row.inner_text()
        page.once("dialog", lambda dialog: dialog.dismiss())
        row.get_by_role("button", name="Отменить").click()
        page.wait_for_timeout(300)
        assert _status(app, data["queued"])[0] == "queued"  # dismissed: nothing sent

        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Отменить").click()
        page.wait_for_selector(f"text=Задание № {data['queued']} отменено.")
        status, error = _status(app, data["queued"])
        assert status == "cancelled" and error.startswith("Отменено пользователем")

        page.locator(f"#job-{data['failed']}").get_by_role("button", name="Повторить").click()
        page.wait_for_selector(f"text=Задание № {data['failed']} снова в очереди.")
        # Tests run jobs at once: this one's handler is unknown, so it fails again, visibly.
        status, error = _status(app, data["failed"])
        assert status == "failed" and "Неизвестное задание" in error
        assert "Неизвестное задание «browser.unknown»" in page.content()
