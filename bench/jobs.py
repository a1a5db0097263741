"""The job engine benchmark: latency from the commit of a job request to its start (p95, on the
SQLite-file queue and on Redis), and a 100 000-row client import run through the job on
PostgreSQL (from the commit of the request to the import's end).

A worker is `flask jobs worker --workers 2` in a subprocess, on a database of its own (a fresh
PostgreSQL schema with the migrations). Latency: `--jobs` no-op jobs requested one by one,
`--gap` seconds apart (an idle worker, the worst case for the SQLite queue's polling); each
one's start (`job_requests.started_at`, set by the worker when it takes the request) minus its
commit. Targets: p95 ≤ 1 s; the import ≤ 60 s.

`python -m bench.jobs --help`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from bench.clients import postgres_problem, say
from bench.schemas import drop_schema, schema_url
from erp_crm.jobs import JobContext, handler

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
TARGET_P95_S = 1.0
TARGET_IMPORT_S = 60.0


@handler("bench.noop", title="Замер: пустое задание")
def _noop(ctx: JobContext) -> None:
    return None


class _Setup:
    def __init__(self, storage: str, folder: Path):
        import flask_migrate

        from erp_crm import create_app
        from erp_crm.config import Config

        self.schema = f"bench_jobs_{uuid.uuid4().hex[:8]}"
        url = schema_url(self.schema, fresh=True)
        name = f"bench_{uuid.uuid4().hex[:8]}"
        settings = {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-" + "x" * 32,
            "ERP_INSTANCE_PATH": str(folder / "instance"),
            "ERP_STORAGE_PATH": str(folder / "instance" / "storage"),
            "ERP_JOBS_NAME": name,
            "ERP_JOBS_MODULES": "bench.jobs",
            "ERP_JOBS_SQLITE": str(folder / "jobs.sqlite3"),
            "ACCOUNTING_SYNC_SECONDS": "86400",
            "ERP_BACKUP_SECONDS": "864000",
        }
        self.env = {**os.environ, **settings, "PYTHONPATH": str(ROOT)}
        self.env.pop("ERP_JOBS_IMMEDIATE", None)
        if storage == "redis":
            self.env["REDIS_URL"] = REDIS_URL
        else:
            self.env.pop("REDIS_URL", None)
        self.app = create_app(
            Config(
                DATABASE_URL=url,
                SECRET_KEY=settings["SECRET_KEY"],
                INSTANCE_PATH=folder / "instance",
                STORAGE_PATH=folder / "instance" / "storage",
                JOBS_NAME=name,
                JOBS_SQLITE_PATH=settings["ERP_JOBS_SQLITE"],
                REDIS_URL=REDIS_URL if storage == "redis" else "",
            )
        )
        with self.app.app_context():
            flask_migrate.upgrade()
        self.log = (folder / f"worker-{storage}.log").open("wb")
        self.worker = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(3)  # started, its first ticks done

    def close(self) -> None:
        self.worker.terminate()
        try:
            self.worker.wait(20)
        except subprocess.TimeoutExpired:
            self.worker.kill()
        self.log.close()
        self.app.extensions["jobs"].huey.storage.flush_all()
        self.app.extensions["erp_db"].engine.dispose()
        drop_schema(self.schema)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def latency(storage: str, jobs: int, gap: float) -> list[str]:
    from erp_crm.db import db
    from erp_crm.jobs import request_job
    from erp_crm.jobs.models import JobRequest

    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        setup = _Setup(storage, Path(tmp))
        try:
            committed: dict[int, dt.datetime] = {}
            with setup.app.app_context():
                for _ in range(jobs):
                    with db.job_session() as session:
                        job = request_job(session, "bench.noop", {}, actor=None)
                        job_id = job.id
                        # Timed from the commit's start: it includes the commit and the send.
                        committed[job_id] = dt.datetime.now(dt.UTC)
                        session.commit()  # the message goes now (after_commit)
                    time.sleep(gap)
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    with db.job_session() as session:
                        rows = session.query(JobRequest.id, JobRequest.started_at).all()
                    if all(started for _, started in rows):
                        break
                    time.sleep(0.2)
            waits = [
                max(0.0, (started - committed[job_id]).total_seconds())
                for job_id, started in rows
                if started is not None
            ]
        finally:
            setup.close()
    if len(waits) < jobs:
        return [f"jobs latency ({storage}): only {len(waits)} of {jobs} started — FAILED"]
    p50, p95 = _percentile(waits, 0.5), _percentile(waits, 0.95)
    verdict = "ok" if p95 <= TARGET_P95_S else "OVER TARGET"
    return [
        f"jobs latency, {storage} queue: {jobs} jobs {gap:g} s apart, commit → start "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms "
        f"(target p95 ≤ {TARGET_P95_S:g} s: {verdict})"
    ]


def _csv(rows: int) -> bytes:
    from stdnum.ru import inn as inn_checks

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Наименование", "ИНН", "Город", "Телефон", "E-mail"])
    for i in range(rows):
        base = f"5{i:08d}"
        inn = base + str(inn_checks.calc_company_check_digit(base))
        writer.writerow(
            [
                f"ООО «Замер {i}»",
                inn,
                "Самара",
                f"+7 846 {i % 1000:03d}-{i % 100:02d}-{i % 97:02d}",
                f"office{i}@example.ru",
            ]
        )
    return out.getvalue().encode("utf-8")


def import_through_the_job(rows: int) -> list[str]:
    from erp_crm.auth import services as auth_services
    from erp_crm.auth.models import User
    from erp_crm.clients import importing
    from erp_crm.clients.models import ImportJob
    from erp_crm.db import db, set_actor

    data = _csv(rows)
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        setup = _Setup("redis", Path(tmp))
        try:
            app = setup.app
            storage = Path(app.config["STORAGE_PATH"])
            with app.app_context():
                with db.job_session() as session:
                    set_actor(session, None)
                    analyst = auth_services.create_user(
                        session,
                        auth_services.UserData(
                            username="benchanalyst",
                            full_name="Аналитик",
                            role="analyst",
                            password="bench-password-2026",
                        ),
                        actor=None,
                    )
                    actor_id = analyst.id
                with db.job_session() as session:
                    actor = session.get(User, actor_id)
                    job = importing.create_job(
                        session, io.BytesIO(data), "bench.csv", storage=storage, actor=actor
                    )
                    found = importing.job_preview(job, storage)
                    importing.start_run(
                        session,
                        job,
                        importing.job_columns(job),
                        width=len(found.header),
                        dry_run=False,
                        actor=actor,
                    )
                    job_id = job.id
                started = time.perf_counter()
                while True:
                    with db.job_session() as session:
                        job = session.get(ImportJob, job_id)
                        status, done, created = job.status, job.processed_rows, job.created_count
                    if status in ("done", "failed"):
                        break
                    if time.perf_counter() - started > 600:
                        status = "timeout"
                        break
                    time.sleep(0.5)
                seconds = time.perf_counter() - started
        finally:
            setup.close()
    verdict = "ok" if status == "done" and seconds <= TARGET_IMPORT_S else "OVER TARGET"
    return [
        f"client import through the job, PostgreSQL + Redis queue: {rows} rows, {status}, "
        f"{done} processed, {created} created in {seconds:.1f} s "
        f"(target ≤ {TARGET_IMPORT_S:g} s: {verdict})"
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__)
    parser.add_argument("--jobs", type=int, default=100, help="jobs per latency run")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between two requests")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the import")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--skip-latency", action="store_true", help="only the import (for iterating on it)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    problem = postgres_problem()
    if problem:
        say(f"PostgreSQL is not reachable ({problem}): the jobs bench needs it.")
        return 2
    lines: list[str] = []
    if not options.skip_latency:
        lines += latency("sqlite_file", options.jobs, options.gap)
        lines += latency("redis", options.jobs, options.gap)
    if not options.skip_import:
        lines += import_through_the_job(options.rows)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "jobs.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
