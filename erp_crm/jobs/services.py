"""Job requests: asked for in the business transaction, sent to the engine after its commit,
run once under a lease, their progress and outcome kept in the database.

- `request_job(session, name, payload, actor=…)` adds the row; the message goes to huey only
  when the session's transaction commits (a rolled-back request never runs). If the process
  dies between the commit and the send, or the queue was unreachable, the sweeper
  (`sweep`, a periodic job) sends it again.
- `execute(id)` (the worker) takes the request — `queued → running`, attempts + 1 — in one
  conditional UPDATE, so a duplicate message does nothing; the handler reports progress with
  `ctx.beat(...)`, which also proves the lease: a request taken over (its worker was killed,
  the sweeper re-queued it after `stall_seconds` without a heartbeat) or cancelled stops its
  old runner at the next beat.
- Periodic jobs: `run_period(name, slot)` inserts the period's row first; whoever fails the
  insert does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.db import db, set_actor, utcnow
from erp_crm.errors import Conflict, DomainError, NotFound
from erp_crm.jobs.models import JobRequest, PeriodRun
from erp_crm.jobs.registry import HANDLERS, PERIODIC, periodic

log = logging.getLogger(__name__)

_PENDING = "jobs.pending_requests"


class Stop(Exception):
    """Raised by ctx.beat: the request is no longer this runner's (cancelled or taken over)."""


class Cancelled(Stop):
    pass


class Superseded(Stop):
    pass


@dataclass
class JobContext:
    request_id: int
    attempt: int
    payload: dict[str, Any]
    actor_id: int | None
    resumed: bool = False  # an earlier attempt of this request ran (and was interrupted/failed)
    extra: dict[str, Any] = field(default_factory=dict)

    def beat(
        self, session: Session | None = None, *, done: int | None = None, total: int | None = None
    ) -> None:
        """Heartbeat and progress, in `session`'s transaction when given (so the progress commits
        with the work it counts), else in a short one of its own. Raises Cancelled/Superseded."""
        if session is None:
            with db.job_session(write=True) as own:
                self._beat(own, done, total)
        else:
            self._beat(session, done, total)

    def _beat(self, session: Session, done: int | None, total: int | None) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow()}
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        result = session.execute(
            update(JobRequest)
            .where(
                JobRequest.id == self.request_id,
                JobRequest.attempts == self.attempt,
                JobRequest.status == "running",
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            status = session.scalar(
                select(JobRequest.status).where(JobRequest.id == self.request_id)
            )
            if status == "cancelled":
                raise Cancelled()
            raise Superseded()


# --- requesting --------------------------------------------------------------------------------


def request_job(
    session: Session,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    actor: User | None,
    title: str = "",
) -> JobRequest:
    """Ask for the job `name` in the caller's transaction; it is sent after the commit."""
    if name not in HANDLERS:
        raise ValueError(f"unknown job {name!r}")
    job = JobRequest(
        name=name,
        payload=dict(payload or {}),
        title=(title or HANDLERS[name].title)[:255],
        created_by_id=actor.id if actor is not None else None,
    )
    session.add(job)
    session.flush()
    _send_after_commit(session, job.id)
    return job


def _send_after_commit(session: Session, request_id: int) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    pending.append(request_id)


def _after_rollback(session: Session) -> None:
    # The rows are gone with the transaction: nothing to send.
    session.info.get(_PENDING, []).clear()


def _after_commit(session: Session) -> None:
    pending = session.info.get(_PENDING) or []
    ids, pending[:] = list(pending), []
    if not ids or not has_app_context():
        return
    jobs = current_app.extensions["jobs"]
    for request_id in ids:
        try:
            jobs.enqueue(request_id)
        except Exception:  # noqa: BLE001 - the queue is down: the sweeper sends it later
            log.warning("job request %s: not sent now, the sweeper will", request_id, exc_info=True)


# --- running -----------------------------------------------------------------------------------


def execute(request_id: int) -> str:
    """Run one request if it is still queued; its final status (or why nothing ran)."""
    now = utcnow()
    with db.job_session(write=True) as session:
        taken = session.execute(
            update(JobRequest)
            .where(JobRequest.id == request_id, JobRequest.status == "queued")
            .values(
                status="running",
                attempts=JobRequest.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            return "skipped"
        job = session.get(JobRequest, request_id)
        assert job is not None
        session.refresh(job)
        ctx = JobContext(
            request_id=job.id,
            attempt=job.attempts,
            payload=dict(job.payload or {}),
            actor_id=job.created_by_id,
            resumed=job.attempts > 1,
        )
        name = job.name
    handler = HANDLERS.get(name)
    if handler is None:
        return _finish(ctx, "failed", f"Неизвестное задание «{name}».")
    try:
        handler.func(ctx)
    except Stop:
        log.info(
            "job request %s attempt %s stopped (cancelled or taken over)", request_id, ctx.attempt
        )
        return "stopped"
    except DomainError as err:
        return _finish(ctx, "failed", err.message)
    except Exception as err:  # noqa: BLE001 - whatever happens, the request must say it failed
        log.exception("job request %s (%s) failed", request_id, name)
        return _finish(ctx, "failed", f"Внутренняя ошибка: {type(err).__name__}: {err}"[:2000])
    return _finish(ctx, "done", None)


def _finish(ctx: JobContext, status: str, error: str | None) -> str:
    with db.job_session(write=True) as session:
        session.execute(
            update(JobRequest)
            .where(
                JobRequest.id == ctx.request_id,
                JobRequest.attempts == ctx.attempt,
                JobRequest.status == "running",
            )
            .values(status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return status


def run_period(name: str, slot: int, *, now: dt.datetime | None = None) -> str:
    """Run the period `slot` of the periodic job `name` unless someone did (or it is over)."""
    job = PERIODIC.get(name)
    if job is None:
        return "unknown"
    every = job.seconds(current_app.config)
    now = now or utcnow()
    if now.timestamp() >= (slot + 1) * every + every:  # long over (the worker was down): skip
        return "late"
    with db.job_session(write=True) as session:
        taken = session.get(PeriodRun, (name, slot)) is not None
        if not taken:
            try:
                with session.begin_nested():
                    session.add(PeriodRun(name=name, slot=slot, status="running", started_at=now))
                    session.flush()
            except IntegrityError:
                taken = True
    if taken:
        log.info("periodic job %s: period %s already taken", name, slot)
        return "taken"
    log.info("periodic job %s: period %s runs here", name, slot)
    status, error = "done", None
    try:
        job.func()
    except DomainError as err:  # an expected refusal (1C unreachable): the page shows it
        log.warning("periodic job %s (slot %s) failed: %s", name, slot, err.message)
        status, error = "failed", err.message
    except Exception as err:  # noqa: BLE001 - recorded for the operations page; next period runs
        log.exception("periodic job %s (slot %s) failed", name, slot)
        status, error = "failed", f"{type(err).__name__}: {err}"
    with db.job_session(write=True) as session:
        session.execute(
            update(PeriodRun)
            .where(PeriodRun.name == name, PeriodRun.slot == slot)
            .values(status=status, error=(error or None) and error[:2000], finished_at=utcnow())
        )
    return status


# --- the sweeper -------------------------------------------------------------------------------


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send again requests left queued; re-queue running ones whose worker stopped beating;
    forget periodic runs older than a week."""
    now = now or utcnow()
    config = current_app.config
    resend_after = dt.timedelta(seconds=int(config.get("JOBS_RESEND_SECONDS") or 120))
    stall_override = int(config.get("JOBS_STALL_SECONDS") or 0)
    requeued: list[int] = []
    with db.job_session(write=True) as session:
        running = session.scalars(select(JobRequest).where(JobRequest.status == "running"))
        for job in running:
            handler = HANDLERS.get(job.name)
            stall = stall_override or (handler.stall_seconds if handler else 300)
            beat = job.heartbeat_at or job.started_at or job.created_at
            if now - beat > dt.timedelta(seconds=stall):
                job.status = "queued"
                job.error = "Обработчик перестал отвечать; задание поставлено в очередь снова."
                requeued.append(job.id)
                log.warning("sweeper: request %s (%s) stalled, queued again", job.id, job.name)
        waiting = list(
            session.scalars(
                select(JobRequest.id).where(
                    JobRequest.status == "queued",
                    or_(
                        JobRequest.enqueued_at.is_(None)
                        & (JobRequest.created_at < now - resend_after),
                        JobRequest.enqueued_at < now - resend_after,
                    ),
                )
            )
        )
        ids = sorted(set(waiting) | set(requeued))
        if ids:
            session.execute(
                update(JobRequest)
                .where(JobRequest.id.in_(ids))
                .values(enqueued_at=now)
                .execution_options(synchronize_session=False)
            )
        session.execute(
            PeriodRun.__table__.delete().where(PeriodRun.started_at < now - dt.timedelta(days=7))
        )
    jobs = current_app.extensions["jobs"]
    for request_id in ids:
        try:
            jobs.enqueue(request_id)
        except Exception:  # noqa: BLE001 - next sweep
            log.warning("sweeper: request %s not sent", request_id, exc_info=True)
    return {"requeued": len(requeued), "resent": len(ids)}


@periodic("jobs.sweep", every="JOBS_SWEEP_SECONDS", title="Проверка очереди заданий")
def _sweep_periodic() -> None:
    sweep()


# --- the operations page -----------------------------------------------------------------------


def get_request(session: Session, request_id: int) -> JobRequest:
    job = session.get(JobRequest, request_id)
    if job is None:
        raise NotFound("Задание не найдено.")
    return job


def retry(session: Session, job: JobRequest, *, actor: User) -> None:
    """A failed or cancelled request queued again (its job resumes where it stopped)."""
    if job.status not in ("failed", "cancelled"):
        raise Conflict("Повторить можно только задание с ошибкой или отменённое.")
    set_actor(session, actor)
    job.status = "queued"
    job.error = None
    job.finished_at = None
    session.flush()
    _send_after_commit(session, job.id)


def cancel(session: Session, job: JobRequest, *, actor: User) -> None:
    """A queued request never starts; a running one stops at its next heartbeat."""
    if job.status not in ("queued", "running"):
        raise Conflict("Отменить можно только задание в очереди или выполняющееся.")
    set_actor(session, actor)
    job.status = "cancelled"
    job.error = f"Отменено пользователем {actor.full_name or actor.username}."
    job.finished_at = utcnow()
    handler = HANDLERS.get(job.name)
    if handler is not None and handler.on_cancel is not None:
        handler.on_cancel(session, dict(job.payload or {}))
    session.flush()


def requests_by_status(
    session: Session, statuses: tuple[str, ...], *, limit: int = 100
) -> list[JobRequest]:
    return list(
        session.scalars(
            select(JobRequest)
            .where(JobRequest.status.in_(statuses))
            .order_by(JobRequest.id.desc())
            .limit(limit)
        )
    )


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(JobRequest.status, func.count()).group_by(JobRequest.status))
    return {status: count for status, count in rows}


def periodic_overview(session: Session) -> list[dict[str, Any]]:
    """Every periodic job with its period and its last run."""
    config = current_app.config
    result = []
    for job in sorted(PERIODIC.values(), key=lambda p: p.name):
        last = session.scalar(
            select(PeriodRun)
            .where(PeriodRun.name == job.name)
            .order_by(PeriodRun.slot.desc())
            .limit(1)
        )
        last_failed = session.scalar(
            select(PeriodRun)
            .where(PeriodRun.name == job.name, PeriodRun.status == "failed")
            .order_by(PeriodRun.slot.desc())
            .limit(1)
        )
        result.append(
            {
                "name": job.name,
                "title": job.title,
                "every": job.seconds(config),
                "last": last,
                "last_failed": last_failed,
            }
        )
    return result
