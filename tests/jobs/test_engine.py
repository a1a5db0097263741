"""The real job engine (huey) on both storages — the SQLite file and Redis — with workers run as
`flask jobs worker` subprocesses on a database of their own: killed workers, resumed jobs,
periodic jobs with two workers, rolled-back requests."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from sqlalchemy import func, select
from stdnum.ru import inn as inn_checks

from erp_crm.auth import services as auth_services
from erp_crm.clients import importing
from erp_crm.clients.models import Client, ImportJob
from erp_crm.db import db, set_actor
from erp_crm.jobs import request_job
from erp_crm.jobs.models import JobRequest, PeriodRun
from erp_crm.sales_documents import jobs as print_jobs
from erp_crm.sales_documents.models import Document, PrintJob
from tests.fixtures.jobs_live import Live, fresh_database, redis_reachable, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(params=["sqlite_file", "redis"])
def storage(request):
    if request.param == "redis" and not redis_reachable():
        pytest.skip("Redis on 127.0.0.1:6379 is unreachable")
    return request.param


@pytest.fixture
def live_factory(backend, storage, tmp_path):
    made: list[Live] = []
    contexts = []

    def make(**settings) -> Live:
        folder = tmp_path / f"live{len(made)}"
        folder.mkdir()
        ctx = fresh_database(backend, folder)
        url = ctx.__enter__()
        contexts.append(ctx)
        live = Live(url, storage, folder, **settings)
        made.append(live)
        return live

    yield make
    for live in made:
        live.stop()
    for ctx in contexts:
        ctx.__exit__(None, None, None)


def _user(live: Live, role: str = "admin", username: str = "jobsadmin"):
    with live.app.app_context(), db.job_session() as session:
        set_actor(session, None)
        user = auth_services.create_user(
            session,
            auth_services.UserData(
                username=username,
                full_name="Администратор Заданий",
                role=role,
                password="correct-horse-42",
            ),
            actor=None,
        )
        return user.id


def _inn(n: int) -> str:
    base = f"77{n:07d}"
    return base + str(inn_checks.calc_company_check_digit(base))


def _csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Наименование", "ИНН", "Город", "Телефон"])
    for i in range(rows):
        if i % 97 == 5:
            writer.writerow([f"ООО «Брак {i}»", "123", "Самара", ""])  # a wrong ИНН: rejected
        elif i % 50 == 7 and i > 100:
            writer.writerow([f"ООО «Фирма {i - 100}» повтор", _inn(i - 100), "Самара", ""])
        else:
            writer.writerow([f"ООО «Фирма {i}»", _inn(i), "Самара", f"+7 846 2{i:06d}"])
    return out.getvalue().encode("utf-8")


def _start_import(live: Live, data: bytes, actor_id: int) -> int:
    from erp_crm.auth.models import User

    with live.app.app_context(), db.job_session() as session:
        actor = session.get(User, actor_id)
        job = importing.create_job(
            session,
            io.BytesIO(data),
            "clients.csv",
            storage=live.app.config["STORAGE_PATH"],
            actor=actor,
        )
        found = importing.job_preview(job, live.app.config["STORAGE_PATH"])
        importing.start_run(
            session,
            job,
            importing.job_columns(job),
            width=len(found.header),
            dry_run=False,
            actor=actor,
        )
        return job.id


def _import_result(live: Live, job_id: int):
    with live.app.app_context(), db.job_session() as session:
        job = session.get(ImportJob, job_id)
        clients = sorted(
            session.execute(select(Client.name, Client.inn, Client.city)).all(), key=str
        )
        return (
            job.status,
            job.processed_rows,
            job.created_count,
            job.updated_count,
            job.rejected_count,
            [(r["row"], r["action"], r["errors"]) for r in job.report],
            clients,
        )


def _status(live: Live, model, row_id: int):
    with live.app.app_context(), db.job_session() as session:
        return session.get(model, row_id)


ROWS = 3000


def test_an_import_survives_killing_its_worker_and_ends_as_an_uninterrupted_run(live_factory):
    data = _csv(ROWS)
    # The uninterrupted run, on a database of its own.
    calm = live_factory()
    calm_actor = _user(calm)
    calm_job = _start_import(calm, data, calm_actor)
    calm.start_worker()
    wait_for(
        lambda: _status(calm, ImportJob, calm_job).status == "done",
        what="calm import",
        live=calm,
        timeout=240,
    )
    expected = _import_result(calm, calm_job)
    assert expected[1] == ROWS and expected[3] > 0 and expected[4] > 0

    live = live_factory()
    actor = _user(live)
    job_id = _start_import(live, data, actor)
    first = live.start_worker()
    wait_for(
        lambda: 0 < _status(live, ImportJob, job_id).processed_rows < ROWS - 600,
        what="the import half-way",
        timeout=180,
        live=live,
    )
    live.kill(first)
    killed_at = _status(live, ImportJob, job_id).processed_rows
    assert 0 < killed_at < ROWS
    live.start_worker()
    wait_for(
        lambda: _status(live, ImportJob, job_id).status == "done",
        what="resumed import",
        live=live,
        timeout=240,
    )
    assert _import_result(live, job_id) == expected
    # The request is closed just after the import's last transaction.
    wait_for(
        lambda: _status(live, JobRequest, 1).status != "running", what="request closed", live=live
    )
    request = _status(live, JobRequest, 1)
    assert (request.status, request.attempts, request.progress_done) == ("done", 2, ROWS)


def _print_world(live: Live, deals: int) -> int:
    from erp_crm.auth.models import User
    from erp_crm.organizations import services as org_services
    from tests.fixtures.deals import make_client, make_project
    from tests.fixtures.documents import make_deal, sell
    from tests.fixtures.organizations import VALID

    boss_id = _user(live, "head_of_sales", "printboss")
    with live.app.app_context(), db.job_session() as session:
        boss = session.get(User, boss_id)
        set_actor(session, boss)
        org_services.create_organization(
            session, org_services.OrganizationData(**VALID), actor=boss
        )
        project = make_project(session, code="LIVE", name="Живая-Экспо", stands=deals)
        for i in range(deals):
            client = make_client(session, boss, name=f"ООО «Участник {i}»", inn=_inn(500 + i))
            sell(
                session, make_deal(session, boss, project=project, client=client, stand_no=i), boss
            )
        job = print_jobs.create_job(session, project, "invoice", actor=boss)
        return job.id


def test_batch_printing_killed_mid_way_resumes_with_gapless_numbers(live_factory):
    deals = 40
    live = live_factory()
    job_id = _print_world(live, deals)
    first = live.start_worker()
    wait_for(
        lambda: 0 < _status(live, PrintJob, job_id).done < deals - 8,
        what="printing half-way",
        live=live,
    )
    live.kill(first)
    live.start_worker()
    wait_for(
        lambda: _status(live, PrintJob, job_id).status == "done",
        what="resumed printing",
        live=live,
        timeout=180,
    )
    with live.app.app_context(), db.job_session() as session:
        job = session.get(PrintJob, job_id)
        numbers = sorted(session.scalars(select(Document.seq).where(Document.kind == "invoice")))
        per_deal = session.execute(
            select(Document.deal_id, func.count()).group_by(Document.deal_id)
        ).all()
    assert (job.done, job.issued, job.failed) == (deals, deals, [])
    assert numbers == list(range(1, deals + 1))  # no gap, no repeat
    assert len(per_deal) == deals and {count for _, count in per_deal} == {1}


def test_a_periodic_job_runs_once_per_period_with_two_workers(live_factory):
    live = live_factory(probe_every=2)
    live.start_worker()
    live.start_worker()
    # Both workers up and planning (each says so for the periods it runs or finds taken).
    wait_for(
        lambda: live.logs().count("periodic job probe.tick") >= 8,
        what="both planning",
        live=live,
        timeout=120,
    )
    time.sleep(8)
    for worker in live.workers:
        worker.terminate()
        worker.wait(30)
    lines = [line for line in live.probe_lines() if line.startswith("tick")]
    with live.app.app_context(), db.job_session() as session:
        slots = list(session.scalars(select(PeriodRun.slot).where(PeriodRun.name == "probe.tick")))
    assert len(lines) >= 3
    assert len(lines) == len(set(slots)) == len(slots)  # one run per period, whoever asked
    logs = [path.read_text() for path in sorted(live.folder.glob("worker-*.log"))]
    # Both workers planned the periods; those one ran, the other found taken: the claim, not
    # luck, kept them apart. Every run a worker started is a line of the probe.
    assert len(logs) == 2 and all("periodic job probe.tick: period" in log for log in logs)
    assert sum(log.count("probe.tick: period") and log.count("already taken") for log in logs)
    runs = sum(len(re.findall(r"probe\.tick: period \d+ runs here", log)) for log in logs)
    assert runs == len(lines)


def test_a_job_requested_in_a_rolled_back_transaction_never_runs(live_factory):
    live = live_factory()
    live.start_worker()
    with live.app.app_context():
        session = db.state().new_session()
        request_job(session, "probe.write", {"marker": "rolled-back"}, actor=None)
        session.rollback()
        session.close()
        with db.job_session() as session:
            committed = request_job(session, "probe.write", {"marker": "committed"}, actor=None)
        committed_id = committed.id
    wait_for(
        lambda: _status(live, JobRequest, committed_id).status == "done",
        what="the committed job",
        live=live,
    )
    time.sleep(3)  # several sweeps of the worker meanwhile
    with live.app.app_context(), db.job_session() as session:
        requests = session.scalars(select(JobRequest.payload)).all()
    assert requests == [{"marker": "committed"}]
    ran = [line.split()[:2] for line in live.probe_lines() if line.startswith("job")]
    assert ran == [["job", "committed"]]
