"""The job engine's own rows: a request for a job (written in the business transaction, so a
rolled-back transaction leaves none) and the claims of periodic jobs' periods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from erp_crm.db import Base, utcnow

STATUSES = ("queued", "running", "done", "failed", "cancelled")
STATUS_LABELS = {
    "queued": "в очереди",
    "running": "выполняется",
    "done": "выполнено",
    "failed": "ошибка",
    "cancelled": "отменено",
}


class JobRequest(Base):
    """One job asked for by a page, a command or another job.

    The row commits with the business change that asked for it; the engine's message is sent
    only after that commit (`services.request_job`), and the sweeper sends it again for a row
    left queued, so a committed request is never lost. `attempts` is the lease: a runner whose
    attempt is no longer the row's own (the request was taken over after it stalled) stops.
    """

    __tablename__ = "job_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'cancelled')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class PeriodRun(Base):
    """A periodic job's run for one period (slot = start of the period // its length in
    seconds). The primary key is the lock: whichever worker inserts the row runs the period, so
    a period runs once however many workers' schedulers asked for it."""

    __tablename__ = "job_period_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
    )

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
