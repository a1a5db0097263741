"""The huey instance of an app, its three tasks and its consumer.

Storage from the config: RedisHuey when REDIS_URL is set (several machines share one queue),
else SqliteHuey on a file under instance/ (no service to run for development); in tests
(JOBS_IMMEDIATE) huey's immediate mode runs a task at once in the caller's thread.

The tasks only carry ids into an app context; everything else is in the database:
- `jobs.run_request(id)` runs a JobRequest (services.execute);
- `jobs.tick` (huey's periodic task, every JOBS_TICK_SECONDS in our consumer) plans the periods
  of every registered periodic job up to the next tick, scheduling `jobs.run_period(name, slot)`
  at each period's start;
- `jobs.run_period(name, slot)` runs a period once: the `job_period_runs` row is the lock, so
  two consumers' schedulers asking for the same period run it once.
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path
from typing import Any

from flask import Flask
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer, Scheduler

from erp_crm.jobs.registry import PERIODIC

log = logging.getLogger(__name__)


def make_huey(config: Any) -> Huey:
    """The huey of a config: immediate (tests), Redis (REDIS_URL) or the SQLite file."""
    name = config.get("JOBS_NAME") or "erp_crm"
    if config.get("JOBS_IMMEDIATE"):
        return MemoryHuey(name, immediate=True, results=False)
    url = config.get("REDIS_URL")
    if url:
        return RedisHuey(name, url=url, results=False)
    path = Path(config.get("JOBS_SQLITE_PATH") or Path(config["INSTANCE_PATH"]) / "jobs.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False, timeout=30)


class JobsEngine:
    """`app.extensions["jobs"]`: the huey instance and the way in (enqueue, plan, consumer)."""

    def __init__(self, app: Flask):
        from erp_crm.jobs import services

        for module in filter(
            None, (m.strip() for m in str(app.config.get("JOBS_MODULES") or "").split(","))
        ):
            importlib.import_module(module)  # registers its handlers / periodic jobs
        self.app = app
        self.huey = huey = make_huey(app.config)

        @huey.task(name="jobs.run_request")
        def run_request(request_id: int) -> None:
            with app.app_context():
                services.execute(request_id)

        @huey.task(name="jobs.run_period")
        def run_period(name: str, slot: int) -> None:
            with app.app_context():
                services.run_period(name, slot)

        @huey.periodic_task(crontab(), name="jobs.tick")
        def tick() -> None:
            self.plan_periods()

        self.run_request = run_request
        self.run_period = run_period
        self.tick = tick

    @property
    def storage_name(self) -> str:
        if isinstance(self.huey, RedisHuey):
            return "Redis"
        if isinstance(self.huey, SqliteHuey):
            return f"SQLite ({self.huey.storage.filename})"
        return "в процессе (тесты)"

    def enqueue(self, request_id: int) -> None:
        self.run_request(request_id)

    def plan_periods(self, now: float | None = None) -> list[tuple[str, int, float]]:
        """Schedule every period starting before the next tick: (name, slot, delay) planned.

        The current period (begun at or before now) goes at once; a period already run is
        skipped by run_period's claim, so planning twice (two consumers, two ticks) is harmless.
        """
        now = time.time() if now is None else now
        horizon = now + int(self.app.config.get("JOBS_TICK_SECONDS") or 60)
        planned = []
        for job in list(PERIODIC.values()):
            every = job.seconds(self.app.config)
            slot = int(now // every)
            while slot * every < horizon:
                delay = max(0.0, slot * every - now)
                if delay:
                    self.run_period.schedule(args=(job.name, slot), delay=delay)
                else:
                    self.run_period(job.name, slot)
                planned.append((job.name, slot, delay))
                slot += 1
        return planned

    def consumer(self, *, workers: int = 2) -> Consumer:
        """A huey consumer whose scheduler ticks every JOBS_TICK_SECONDS (huey's is 60)."""
        seconds = int(self.app.config.get("JOBS_TICK_SECONDS") or 60)

        class TickScheduler(Scheduler):
            periodic_task_seconds = seconds

        class AppConsumer(Consumer):
            scheduler_class = TickScheduler

        return AppConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=True,
            scheduler_interval=1,
            check_worker_health=True,
            # An idle worker polls the SQLite queue ever more slowly (huey: up to 10 s); capped,
            # a job starts within this delay. Redis waits on a blocking pop instead.
            max_delay=float(self.app.config.get("JOBS_POLL_MAX_SECONDS") or 0.5),
        )


def engine(app: Flask | None = None) -> JobsEngine:
    from flask import current_app

    return (app or current_app).extensions["jobs"]
