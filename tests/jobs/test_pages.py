"""The job engine inside the app (immediate mode): requests after the commit, the lease, the
sweeper, periodic claims, and the operations page with retry and cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from erp_crm.jobs import JobContext, handler, request_job, services
from erp_crm.jobs.models import JobRequest, PeriodRun
from erp_crm.jobs.registry import PERIODIC, periodic

RUNS: list[dict] = []


@handler("test.record", title="Тест: запись")
def _record(ctx: JobContext) -> None:
    RUNS.append(dict(ctx.payload))
    if ctx.payload.get("fail"):
        raise RuntimeError("сломалось")


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def test_a_request_runs_after_the_commit_and_never_after_a_rollback(app, db_session):
    with app.app_context():
        request_job(db_session, "test.record", {"n": 1}, actor=None)
        assert RUNS == []  # not before the commit
        db_session.rollback()
        assert RUNS == []
        job = request_job(db_session, "test.record", {"n": 2}, actor=None)
        db_session.commit()
    assert RUNS == [{"n": 2}]
    db_session.refresh(job)
    assert (job.status, job.attempts, job.error) == ("done", 1, None)


def test_a_failed_job_keeps_its_error_and_a_retry_runs_it_again(app, db_session, make_user):
    admin = make_user("admin", username="jobsadmin")
    with app.app_context():
        job = request_job(db_session, "test.record", {"fail": True}, actor=admin)
        db_session.commit()
        db_session.refresh(job)
        assert job.status == "failed" and "сломалось" in job.error
        services.retry(db_session, job, actor=admin)
        db_session.commit()
    db_session.refresh(job)
    assert (job.status, job.attempts, len(RUNS)) == ("failed", 2, 2)


def test_a_beat_of_a_superseded_or_cancelled_runner_stops_it(app, db_session, make_user):
    admin = make_user("admin", username="jobsadmin")
    job = JobRequest(name="test.record", status="running", attempts=2, heartbeat_at=None)
    db_session.add(job)
    db_session.flush()
    old = JobContext(request_id=job.id, attempt=1, payload={}, actor_id=None)
    with pytest.raises(services.Superseded):
        old.beat(db_session, done=5)
    current = JobContext(request_id=job.id, attempt=2, payload={}, actor_id=None)
    current.beat(db_session, done=5, total=10)
    db_session.refresh(job)
    assert (job.progress_done, job.progress_total) == (5, 10)
    services.cancel(db_session, job, actor=admin)
    with pytest.raises(services.Cancelled):
        current.beat(db_session, done=6)


def test_the_sweeper_requeues_a_stalled_run_and_resends_a_lost_request(app, db_session):
    now = dt.datetime.now(dt.UTC)
    stalled = JobRequest(
        name="test.record",
        payload={"n": "stalled"},
        status="running",
        attempts=1,
        heartbeat_at=now - dt.timedelta(hours=1),
    )
    lost = JobRequest(
        name="test.record",
        payload={"n": "lost"},
        status="queued",
        created_at=now - dt.timedelta(hours=1),
    )
    fresh = JobRequest(name="test.record", payload={"n": "fresh"}, status="queued", created_at=now)
    db_session.add_all([stalled, lost, fresh])
    db_session.commit()
    with app.app_context():
        result = services.sweep(now=now)
    assert result == {"requeued": 1, "resent": 2}
    assert sorted(r["n"] for r in RUNS) == ["lost", "stalled"]
    for row in (stalled, lost):
        db_session.refresh(row)
        assert row.status == "done"
    db_session.refresh(stalled)
    assert stalled.attempts == 2


def test_a_period_runs_once_whoever_asks(app, db_session):
    calls = []
    periodic("test.periodic", every=60, title="Тест")(lambda: calls.append(1))
    try:
        with app.app_context():
            slot = int(dt.datetime.now(dt.UTC).timestamp() // 60)
            assert services.run_period("test.periodic", slot) == "done"
            assert services.run_period("test.periodic", slot) == "taken"
            assert services.run_period("test.periodic", slot - 5) == "late"
        assert calls == [1]
        rows = db_session.scalars(select(PeriodRun).where(PeriodRun.name == "test.periodic"))
        assert [(r.slot, r.status) for r in rows] == [(slot, "done")]
    finally:
        PERIODIC.pop("test.periodic", None)


def test_planning_schedules_each_period_until_the_next_tick(app):
    engine = app.extensions["jobs"]
    planned = [p for p in engine.plan_periods(now=1_000_000.0) if p[0] == "activities.reminders"]
    # Every minute (REMINDERS_SECONDS), ticks a minute apart, 40 s into a period: the current
    # period at once, the next one when it begins.
    assert planned == [("activities.reminders", 16666, 0.0), ("activities.reminders", 16667, 20.0)]


def test_the_operations_page_shows_failures_and_retries_and_cancels(client, db_session, make_user):
    make_user("admin", username="opsadmin")
    failed = JobRequest(
        name="test.record",
        title="Сломанное",
        status="failed",
        error="Ошибка: нет связи",
        payload={"n": "retried"},
    )
    queued = JobRequest(name="test.record", title="Ждущее", status="queued")
    db_session.add_all([failed, queued])
    db_session.commit()
    client.login("opsadmin")
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "Сломанное" in page and "Ошибка: нет связи" in page and "Ждущее" in page
    assert "accounting.exchange" in page and "Напоминания о контактах" in page  # periodic
    no_token = client.post(f"/admin/jobs/{failed.id}/retry")
    assert no_token.status_code == 400
    assert client.submit(f"/admin/jobs/{failed.id}/retry").status_code == 302
    db_session.refresh(failed)
    assert failed.status == "done" and RUNS == [{"n": "retried"}]
    assert client.submit(f"/admin/jobs/{queued.id}/cancel").status_code == 302
    db_session.refresh(queued)
    assert queued.status == "cancelled" and queued.error.startswith("Отменено")
    again = client.submit(
        f"/admin/jobs/{queued.id}/cancel", headers={"Referer": "http://localhost/admin/jobs/"}
    )
    assert again.status_code == 302  # refused with a message, nothing changed
    db_session.refresh(queued)
    assert queued.status == "cancelled"


CANCELLED: list[dict] = []


@handler("test.cancellable", title="Тест: отменяемое", on_cancel=lambda s, p: CANCELLED.append(p))
def _cancellable(ctx: JobContext) -> None:
    RUNS.append(dict(ctx.payload))


def test_cancelling_tells_the_area_and_the_request_never_starts(app, db_session, make_user):
    admin = make_user("admin", username="jobsadmin")
    job = JobRequest(name="test.cancellable", payload={"import_job_id": 7}, status="queued")
    db_session.add(job)
    db_session.flush()
    services.cancel(db_session, job, actor=admin)
    db_session.commit()
    assert CANCELLED[-1] == {"import_job_id": 7}
    with app.app_context():
        assert services.execute(job.id) == "skipped"
    assert RUNS == []


def test_periods_read_in_words():
    from erp_crm.jobs.views import period_text

    assert [period_text(s) for s in (15, 60, 300, 3600, 7200, 86400)] == [
        "каждые 15 с",
        "каждую минуту",
        "каждые 5 мин",
        "каждый час",
        "каждые 2 ч",
        "раз в сутки",
    ]
