"""The real job engine for tests: a database of its own (committed for real, as workers see it),
an app whose huey is the SQLite file or Redis (a queue name of its own), and workers started as
`flask jobs worker` subprocesses that a test may kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from flask import Flask

from erp_crm.config import normalize_database_url
from tests.conftest import PG_URL, make_test_app

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = "redis://127.0.0.1:6379/11"


def redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:  # noqa: BLE001
        return False
    return True


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """A URL of an empty database (a SQLite file; a PostgreSQL schema); Live migrates it."""
    if backend == "postgresql":
        schema = f"jobs_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in PG_URL else "?"
        url = normalize_database_url(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
    else:
        url = "sqlite:///" + str(folder / "live.sqlite3")
    try:
        yield url
    finally:
        if backend == "postgresql":
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Live:
    """The test's side of the engine (its app) and the workers' environment."""

    def __init__(
        self,
        url: str,
        storage: str,
        folder: Path,
        *,
        probe_every: int = 3600,
        migrate: bool = True,
        **settings: object,
    ):
        self.folder = folder
        self.name = f"test_{uuid.uuid4().hex[:10]}"
        self.probe = folder / "probe.txt"
        self.probe.touch()
        self.settings = {
            "JOBS_TICK_SECONDS": 1,
            "JOBS_SWEEP_SECONDS": 1,
            "JOBS_STALL_SECONDS": 10,  # long enough for a first batch on a busy machine
            "JOBS_RESEND_SECONDS": 2,
            **settings,
        }
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "ERP_INSTANCE_PATH": str(folder / "instance"),
            "ERP_STORAGE_PATH": str(folder / "instance" / "storage"),
            "ERP_JOBS_NAME": self.name,
            "ERP_JOBS_MODULES": "tests.jobs_probe",
            "PROBE_FILE": str(self.probe),
            "PROBE_EVERY": str(probe_every),
            "ERP_JOBS_TICK_SECONDS": str(self.settings["JOBS_TICK_SECONDS"]),
            "ERP_JOBS_SWEEP_SECONDS": str(self.settings["JOBS_SWEEP_SECONDS"]),
            "ERP_JOBS_STALL_SECONDS": str(self.settings["JOBS_STALL_SECONDS"]),
            "ERP_JOBS_RESEND_SECONDS": str(self.settings["JOBS_RESEND_SECONDS"]),
            "ERP_HOLDS_RELEASE_SECONDS": "3600",
            "ERP_REMINDERS_SECONDS": "3600",
            "ACCOUNTING_SYNC_SECONDS": "3600",
            "ERP_BACKUP_SECONDS": "864000",
        }
        self.env.pop("ERP_JOBS_IMMEDIATE", None)
        if storage == "redis":
            self.env["REDIS_URL"] = REDIS_URL
        else:
            self.env.pop("REDIS_URL", None)
            self.env["ERP_JOBS_SQLITE"] = str(folder / "jobs.sqlite3")
        os.environ["PROBE_FILE"] = str(self.probe)
        self.app: Flask = make_test_app(
            url,
            folder / "instance",
            JOBS_IMMEDIATE=False,
            JOBS_NAME=self.name,
            JOBS_MODULES="tests.jobs_probe",
            REDIS_URL=REDIS_URL if storage == "redis" else "",
            JOBS_SQLITE_PATH=str(folder / "jobs.sqlite3"),
            **self.settings,
        )
        if migrate:
            with self.app.app_context():
                flask_migrate.upgrade()  # the seeds too (pipelines, budget articles)
        self.workers: list[subprocess.Popen[bytes]] = []

    @property
    def huey(self):  # noqa: ANN201
        return self.app.extensions["jobs"].huey

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        self.huey.storage.flush_all()
        self.app.extensions["erp_db"].engine.dispose()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("worker-*.log"))
        )

    def events(self) -> str:
        return "\n".join(line for line in self.logs().splitlines() if "periodic job" not in line)

    def probe_lines(self) -> list[str]:
        return self.probe.read_text().split("\n")[:-1]


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 60,
    what: str = "",
    live: Live | None = None,
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(
        f"timed out waiting for {what}"
        + (f"\n--- worker logs ---\n{live.events()[-8000:]}" if live else "")
    )
