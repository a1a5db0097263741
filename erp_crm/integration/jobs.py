"""«Обменяться сейчас»: one exchange pass with 1C as a job of the job engine (erp_crm/jobs),
requested by the log page's button instead of running inside the web request.

The request is sent after the page's transaction commits; the worker runs the pass through the
accounting adapter (`app.extensions["accounting"]`, installed by accounting_sync: erp_crm never
imports it) and the page polls the request's status. While a pass requested so is queued or
running, or the periodic pass (`accounting.exchange`) is running, another one is refused with a
Russian message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.db import db, utcnow
from erp_crm.errors import Conflict, DomainError, PermissionDenied, ValidationError
from erp_crm.jobs import JobContext, handler, request_job
from erp_crm.jobs.models import JobRequest, PeriodRun

EXCHANGE_JOB = "integration.exchange_now"
PERIODIC_EXCHANGE = "accounting.exchange"  # accounting_sync's periodic pass
ACTIVE = ("queued", "running")
# A periodic pass marked running longer than this lost its worker: it no longer blocks the button.
PERIODIC_STALE_AFTER = dt.timedelta(minutes=30)
# The page shows the last requested pass while it goes and for this long after it ended.
SHOWN_FOR = dt.timedelta(hours=12)

ALREADY_RUNNING = "Обмен с 1С уже идёт: дождитесь его окончания — ход виден на этой странице."
NOT_INSTALLED = "Модуль обмена с 1С не установлен."

STATUS_LABELS = {
    "queued": "в очереди",
    "running": "идёт",
    "done": "выполнен",
    "failed": "не выполнен",
    "cancelled": "отменён",
}


def _adapter() -> dict[str, Any] | None:
    return current_app.extensions.get("accounting")


def running_pass(session: Session) -> JobRequest | None:
    """The requested pass that is queued or running, if any."""
    return session.scalar(
        select(JobRequest)
        .where(JobRequest.name == EXCHANGE_JOB, JobRequest.status.in_(ACTIVE))
        .order_by(JobRequest.id.desc())
        .limit(1)
    )


def periodic_running(session: Session) -> bool:
    since = utcnow() - PERIODIC_STALE_AFTER
    return (
        session.scalar(
            select(PeriodRun.slot)
            .where(
                PeriodRun.name == PERIODIC_EXCHANGE,
                PeriodRun.status == "running",
                PeriodRun.started_at >= since,
            )
            .limit(1)
        )
        is not None
    )


def request_exchange(session: Session, *, actor: User) -> JobRequest:
    """Ask for one exchange pass now (sent to the worker when the caller commits)."""
    if not has_permission(actor, Perm.EXCHANGE_MANAGE):
        raise PermissionDenied()
    if _adapter() is None:
        raise ValidationError(NOT_INSTALLED)
    if running_pass(session) is not None or periodic_running(session):
        raise Conflict(ALREADY_RUNNING)
    return request_job(session, EXCHANGE_JOB, {}, actor=actor, title="Обмен с 1С по кнопке")


def last_pass(session: Session) -> JobRequest | None:
    """What the page shows: the pass going now, else the last one that ended recently."""
    found = running_pass(session)
    if found is not None:
        return found
    found = session.scalar(
        select(JobRequest)
        .where(JobRequest.name == EXCHANGE_JOB)
        .order_by(JobRequest.id.desc())
        .limit(1)
    )
    if found is None:
        return None
    ended = found.finished_at or found.created_at
    return found if ended is None or utcnow() - ended <= SHOWN_FOR else None


def get_pass(session: Session, request_id: int) -> JobRequest | None:
    job = session.get(JobRequest, request_id)
    return job if job is not None and job.name == EXCHANGE_JOB else None


def summary_of(job: JobRequest) -> str | None:
    return (job.payload or {}).get("summary")


@handler(EXCHANGE_JOB, title="Обмен с 1С по кнопке", stall_seconds=900)
def _exchange_now(ctx: JobContext) -> None:
    """One pass; the summary is kept on the request, 1C's errors fail it with the same words
    the page showed when the pass ran in the request."""
    adapter = _adapter()
    if adapter is None:
        raise DomainError(NOT_INSTALLED)
    ctx.beat(done=0, total=None)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        summary, errors = adapter["sync"](app)
    except adapter["error"] as err:
        raise DomainError(f"Обмен не выполнен: {err}") from err
    with db.job_session(write=True) as session:
        job = session.get(JobRequest, ctx.request_id)
        payload = {**((job.payload if job is not None else None) or {}), "summary": summary}
        session.execute(
            update(JobRequest)
            .where(JobRequest.id == ctx.request_id)
            .values(payload=payload)
            .execution_options(synchronize_session=False)
        )
    if errors:
        raise DomainError(
            ("Обмен с ошибками: " + "; ".join(dict.fromkeys(errors)) + f". Итог: {summary}.")[:2000]
        )
