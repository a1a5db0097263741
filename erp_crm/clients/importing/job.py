"""Import jobs, the pages' way to import: an uploaded file stored with its preview, the mapping
confirmed, then a dry run or the run as a job of the job engine (the `clients.import` handler,
erp_crm/jobs), its progress kept on the import job.

The runner (`run_job`) commits each batch in its own `db.job_session()` together with the job's
progress (counts and report), so a run interrupted anywhere — its worker killed — resumes after
the last committed batch with the counts it had: the result is that of an uninterrupted run.
While a batch is written, the next one is read, parsed and its phones and e-mails checked in a
thread of the worker (_ReadAhead).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, defer

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, Role, has_permission
from erp_crm.clients.importing.engine import Engine, Summary, batches
from erp_crm.clients.importing.mapping import check_mapping, suggest_mapping
from erp_crm.clients.importing.reading import Preview, check_suffix, open_table, preview
from erp_crm.clients.importing.rows import ParsedRow
from erp_crm.clients.models import ImportJob
from erp_crm.db import db, set_actor, take_write_lock, utcnow
from erp_crm.errors import Conflict, DomainError, NotFound, PermissionDenied
from erp_crm.jobs import JobContext, Stop, handler, request_job

log = logging.getLogger(__name__)

STALL_AFTER = dt.timedelta(minutes=10)  # a run without progress this long may be started again

# SQLite's page cache while a batch is written, in KiB. Its default (2 MB: 500 pages) is less
# than what one batch touches in a large base's indexes (~3 000 pages: names, ИНН, phones and
# e-mails are random keys), so pages are dropped and read again from row to row. Measured with
# 100 000 rows into a base of 100 000: 76 → 68 s.
SQLITE_BATCH_CACHE_KIB = 64 * 1024

# PostgreSQL: the tables a batch's lookups read (matching by ИНН, code and name; the contacts of
# the clients found), analyzed by the run itself each time it has doubled what the statistics
# last counted. An import filling an empty or small base otherwise leaves the planner with the
# statistics of a small table until autovacuum comes (a minute or more, later on a busy server):
# every batch's `inn IN (...)` was a sequential scan comparing each row with the batch's 500
# values (a prepared statement's generic plan does not hash the list), growing with the base:
# 66-100 ms a batch at 20 000 clients, 300 ms at 20 000 when measured alone.
ANALYZED_TABLES = ("clients", "contact_persons", "contact_channels")


@contextmanager
def _page_cache_for_writes(session: Session, *, enabled: bool = True) -> Iterator[None]:
    """On SQLite, a larger page cache for the block, the connection's own size restored after it
    (before the commit: the pooled connection goes back as it was, and pages beyond the old size
    are freed once the commit has written them). Nothing elsewhere."""
    if not enabled or session.get_bind().dialect.name != "sqlite":
        yield
        return
    # A PRAGMA is the connection's own setting: sent to it directly, outside SQLAlchemy's
    # transaction handling (the restore below must work whatever state the session is in).
    driver = session.connection().connection.driver_connection
    assert driver is not None
    previous = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = -{SQLITE_BATCH_CACHE_KIB}")
    try:
        yield
    finally:
        try:
            driver.execute(f"PRAGMA cache_size = {previous}")
        except sqlite3.Error:  # a broken connection is discarded by the pool anyway
            log.warning("client import: could not restore SQLite's cache_size", exc_info=True)


class _ReadAhead:
    """(batch, engine.prepare(batch)) for every batch, the next one read and prepared in a
    thread while the current one is written.

    Reading, parsing and checking phones and e-mails (phonenumbers, email-validator) is a third
    of an import's CPU and needs no database; writing a batch spends much of its time waiting
    for the database (PostgreSQL's COPY, SQLite's commit) with the GIL released. The next batch
    is started (start_next) when the current one reaches such a wait, so the thread works in it
    instead of taking the GIL from the writer's Python work. One batch ahead at most, so memory
    stays one batch more; an error of the reader (a corrupt sheet) reaches the caller when it
    asks for that batch, as it would have without the thread.
    """

    def __init__(self, engine: Engine, batches: Iterator[list[tuple[int, list[str | None]]]]):
        self.engine = engine
        self.batches = batches
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="client-import-read")
        self.future: Future[Any] | None = None

    def start_next(self) -> None:
        if self.future is None:
            self.future = self.executor.submit(self._read)

    def _read(self) -> tuple[list[tuple[int, list[str | None]]], list[ParsedRow]] | None:
        batch = next(self.batches, None)
        return None if batch is None else (batch, self.engine.prepare(batch))

    def __iter__(self) -> Iterator[tuple[list[tuple[int, list[str | None]]], list[ParsedRow]]]:
        while True:
            self.start_next()
            assert self.future is not None
            item = self.future.result()
            self.future = None
            if item is None:
                return
            yield item

    def close(self) -> None:
        # Waits for a batch being read: the file must not be closed under the thread.
        self.executor.shutdown(wait=True, cancel_futures=True)


def can_access_job(user: User, job: ImportJob) -> bool:
    """An import job is seen by its creator and by administrators."""
    if not has_permission(user, Perm.CLIENTS_IMPORT):
        return False
    return job.created_by_id == user.id or user.role == Role.ADMIN.value


def get_job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("Импорт не найден.")
    return job


def recent_jobs(session: Session, *, actor: User, limit: int = 20) -> list[ImportJob]:
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if actor.role != Role.ADMIN.value:
        query = query.where(ImportJob.created_by_id == actor.id)
    return list(session.scalars(query))


def job_path(job: ImportJob, storage: Path) -> Path:
    return storage / job.stored_path


def job_preview(job: ImportJob, storage: Path) -> Preview:
    """The preview kept with the job at upload (a big XLSX takes seconds to open), else read."""
    kept = (job.mapping or {}).get("preview")
    if not kept:
        return preview(job_path(job, storage), job.filename)
    return Preview(
        header=kept["header"],
        rows=kept["rows"],
        suggested=suggest_mapping(kept["header"]),
        total=kept.get("total"),
        source=kept.get("source", ""),
    )


def job_columns(job: ImportJob) -> dict[int, str]:
    columns = (job.mapping or {}).get("columns") or {}
    return {int(k): v for k, v in columns.items() if v}


def is_in_progress(job: ImportJob) -> bool:
    return job.status in ("dry_run", "running") and job.finished_at is None


def is_stalled(job: ImportJob) -> bool:
    """In progress, but no batch done for STALL_AFTER: its worker died (e.g. a server restart)."""
    if not is_in_progress(job):
        return False
    beat = (job.mapping or {}).get("heartbeat")
    try:
        last = dt.datetime.fromisoformat(beat) if beat else job.created_at
    except ValueError:
        last = job.created_at
    return utcnow() - last > STALL_AFTER


def _beat(job: ImportJob) -> None:
    job.mapping = {**(job.mapping or {}), "heartbeat": utcnow().isoformat()}


def create_job(
    session: Session,
    upload: IO[bytes],
    filename: str,
    *,
    storage: Path,
    note: str | None = None,
    actor: User,
) -> ImportJob:
    """Store an uploaded file under a random name and open an import job for it.

    A file that cannot be read is refused (ValidationError) and nothing is kept.
    """
    if not has_permission(actor, Perm.CLIENTS_IMPORT):
        raise PermissionDenied()
    display = (Path((filename or "").replace("\\", "/")).name or "файл").strip()[:255]
    suffix = Path(display).suffix.lower()
    check_suffix(suffix)
    folder = storage / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"{secrets.token_hex(16)}{suffix}"
    try:
        with stored.open("wb") as out:
            shutil.copyfileobj(upload, out, 1 << 20)
        found = preview(stored, display)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    job = ImportJob(
        created_by_id=actor.id,
        filename=display,
        stored_path=str(stored.relative_to(storage)),
        status="uploaded",
        mapping={
            "columns": {str(i): key for i, key in found.suggested.items()},
            "note": (note or "").strip()[:500] or None,
            "preview": {
                "header": [h[:200] for h in found.header],
                "rows": [[c[:200] for c in row] for row in found.rows],
                "total": found.total,
                "source": found.source,
            },
        },
        total_rows=found.total or 0,
    )
    session.add(job)
    session.flush()
    return job


def start_run(
    session: Session,
    job: ImportJob,
    mapping: dict[int, str],
    *,
    width: int,
    dry_run: bool,
    actor: User,
) -> None:
    """Save the mapping, mark the job for a dry run or the import and request its run (sent to
    the job engine when the caller's transaction commits)."""
    if not has_permission(actor, Perm.CLIENTS_IMPORT) or not can_access_job(actor, job):
        raise PermissionDenied()
    if is_in_progress(job) and not is_stalled(job):
        raise Conflict("Файл уже обрабатывается: дождитесь окончания.")
    if job.status == "done":
        raise Conflict("Этот файл уже импортирован. Чтобы повторить импорт, загрузите файл снова.")
    clean = check_mapping(mapping, width)
    job.mapping = {**(job.mapping or {}), "columns": {str(i): k for i, k in clean.items()}}
    job.status = "dry_run" if dry_run else "running"
    job.processed_rows = job.created_count = job.updated_count = job.rejected_count = 0
    job.report = []
    job.error = None
    job.finished_at = None
    _beat(job)
    session.flush()
    request = request_job(
        session,
        "clients.import",
        {"import_job_id": job.id, "actor_id": actor.id, "dry_run": dry_run},
        actor=actor,
        title=f"{'Пробный прогон' if dry_run else 'Импорт'} клиентов: {job.filename}",
    )
    # The run belongs to this request: an older one of a stalled run, re-queued by the
    # sweeper meanwhile, finds another id here and does nothing.
    job.mapping = {**(job.mapping or {}), "request_id": request.id}


def _import_cancelled(session: Session, payload: dict[str, Any]) -> None:
    job = session.get(ImportJob, int(payload["import_job_id"]))
    if job is not None and is_in_progress(job):
        job.status = "failed"
        job.error = "Импорт отменён администратором. Повторный запуск не создаст дублей."
        job.finished_at = utcnow()


@handler("clients.import", title="Импорт клиентов", stall_seconds=600, on_cancel=_import_cancelled)
def _import_handler(ctx: JobContext) -> None:
    run_job(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        int(ctx.payload["import_job_id"]),
        int(ctx.payload["actor_id"]),
        ctx=ctx,
    )


def _store(job: ImportJob, summary: Summary, *, with_report: bool) -> None:
    job.processed_rows = summary.total
    job.created_count = summary.created
    job.updated_count = summary.updated
    job.rejected_count = summary.rejected
    if with_report:
        job.report = list(summary.rows)


def run_job(app: Flask, job_id: int, actor_id: int, *, ctx: JobContext | None = None) -> None:
    """The runner: its own app context, one job session (transaction) per batch. With `ctx` (the
    job engine's request) each batch also beats the request in its transaction, and a failure
    is raised again after it is recorded, so the request fails with it."""
    with app.app_context():
        _JobRun(job_id, actor_id, ctx).run()


class _JobRun:
    def __init__(self, job_id: int, actor_id: int, ctx: JobContext | None = None):
        self.job_id = job_id
        self.actor_id = actor_id
        self.ctx = ctx
        self.engine: Engine | None = None
        self.committed_rows = 0  # data rows whose batches are committed
        self.committed_upto = 0  # the file row number of the last of them
        self.stored_report_rows = -1  # len(job.report) as last committed by _batch
        self.ahead: _ReadAhead | None = None
        self.analyzed_rows: float | None = None  # clients the statistics count (PostgreSQL)
        self.created_at_analyze = 0  # rows the run had created when they were taken

    def run(self) -> None:
        try:
            self._run()
        except Stop:
            raise  # cancelled, or taken over by a new attempt: that one records the outcome
        except Exception as err:  # noqa: BLE001  (whatever happens, the job must say it failed)
            if not isinstance(err, DomainError):
                log.exception("client import job %s failed", self.job_id)
            self._fail(err)
            if self.ctx is not None:
                raise

    def _run(self) -> None:
        storage = Path(current_app.config["STORAGE_PATH"])
        with db.job_session() as session:
            take_write_lock(session)
            query = select(ImportJob).where(ImportJob.id == self.job_id).with_for_update()
            job = session.scalar(query)
            if job is not None and self.ctx is not None and job.status == "failed":
                # A retry of a failed run (the operations page): it goes on after the last
                # committed batch, as a resumed run does.
                job.status = "dry_run" if self.ctx.payload.get("dry_run") else "running"
                job.error = None
                job.finished_at = None
            if job is None or not is_in_progress(job):
                return  # the request that marked it was rolled back, or it already ran
            owner = (job.mapping or {}).get("request_id")
            if self.ctx is not None and owner is not None and owner != self.ctx.request_id:
                return  # the import was started again: a later request runs it
            dry_run = job.status == "dry_run"
            path, filename, columns = job_path(job, storage), job.filename, job_columns(job)
            # What earlier attempts committed (the counts and the report of the same batches):
            # a real run goes on after them; a dry run kept nothing, so it starts again.
            skip = 0 if dry_run else job.processed_rows
            resumed = Summary(
                total=job.processed_rows,
                created=job.created_count,
                updated=job.updated_count,
                rejected=job.rejected_count,
                rows=list(job.report or []),
            )
        self.engine = engine = Engine(columns, dry_run=dry_run)
        if skip:
            engine.summary = resumed
            self.committed_rows = resumed.total
            self.stored_report_rows = len(resumed.rows)
            self.committed_upto = max((r["row"] for r in resumed.rows), default=0)
        with open_table(path, filename) as table:
            total = table.total
            if total is None and table.kind == "csv":  # a quick pass; an XLSX's stays unknown
                with open_table(path, filename) as counting:
                    total = sum(1 for _ in counting.rows)
            with db.job_session(write=True) as session:
                engine.load_curators(session)
                get_job(session, self.job_id).total_rows = total or 0
            rows = table.rows
            if skip:
                rows = itertools.islice(rows, skip, None)
            ahead = _ReadAhead(engine, batches(rows))
            # The next batch is started where this one waits for the database longest: on
            # PostgreSQL in its writes (the server checks and indexes COPY's rows), on SQLite in
            # its commit (the pages go to the WAL, then the checkpoint). Started anywhere else,
            # the thread takes the GIL from the writer's Python work instead (measured with
            # 100 000 rows, the other place: 79 instead of 71 s on PostgreSQL, 84 instead of
            # 69 s on SQLite).
            if db.engine.dialect.name == "sqlite":
                self.ahead = ahead
            else:
                engine.before_write = ahead.start_next
            try:
                for batch, parsed in ahead:
                    self._batch(engine, batch, parsed)
            finally:
                engine.before_write = None
                self.ahead = None
                ahead.close()
        with db.job_session(write=True) as session:
            job = get_job(session, self.job_id)
            _store(job, engine.summary, with_report=True)
            job.total_rows = engine.summary.total
            job.finished_at = utcnow()
            job.status = "dry_run" if dry_run else "done"

    def _batch(self, engine: Engine, batch: list[Any], parsed: list[ParsedRow]) -> None:
        """One transaction: the rows of the batch and the job's progress (and report)."""
        with db.job_session() as session:
            if not engine.dry_run:
                take_write_lock(session)
            actor = session.get(User, self.actor_id)
            if actor is None or not has_permission(actor, Perm.CLIENTS_IMPORT):
                raise PermissionDenied("У пользователя, запустившего импорт, больше нет прав.")
            set_actor(session, actor)
            with _page_cache_for_writes(session, enabled=not engine.dry_run):
                engine.process_batch(session, batch, actor=actor, parsed=parsed)
            if engine.dry_run:
                session.rollback()  # nothing of the rows is kept, whatever happened
                take_write_lock(session)
            # The report is written with the batch whose rows it lists, so a resumed run
            # continues it exactly. Rows are only ever appended to it: as long as none were, the
            # stored one is the same list (after the first thousand rows of a clean file, every
            # batch), so it is not loaded and written again.
            rows = len(engine.summary.rows)
            with_report = rows != self.stored_report_rows
            job = session.get(ImportJob, self.job_id, options=[defer(ImportJob.report)])
            if job is None:
                raise NotFound("Импорт не найден.")
            _store(job, engine.summary, with_report=with_report)
            _beat(job)
            if self.ctx is not None:
                self.ctx.beat(session, done=engine.summary.total, total=job.total_rows or None)
            if self.ahead is not None:
                self.ahead.start_next()  # the next batch is read while this one commits
        self.committed_rows = engine.summary.total
        self.committed_upto = batch[-1][0]
        if with_report:
            self.stored_report_rows = rows
        if not engine.dry_run:
            self._analyze_if_grown(engine.summary.created)

    def _analyze_if_grown(self, created: int) -> None:
        """PostgreSQL: ANALYZE the lookups' tables once the run has created as many clients as
        the statistics counted (see ANALYZED_TABLES): log2 of the growth times in a run, each
        a sample of at most 30 000 rows of each table (tens of milliseconds)."""
        if db.engine.dialect.name != "postgresql":
            return
        if self.analyzed_rows is None:
            with db.job_session() as session:
                counted = session.scalar(
                    sql_text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                    {"t": "clients"},
                )
            self.analyzed_rows = max(float(counted or 0), 0.0)  # -1: never analyzed
            self.created_at_analyze = 0
        grown = created - self.created_at_analyze
        if grown < max(self.analyzed_rows, 1.0):
            return
        with db.job_session() as session:
            # Table names are the constants above. In a transaction (allowed for ANALYZE, not
            # VACUUM), so under the tests' outer transaction too.
            session.execute(sql_text(f"ANALYZE {', '.join(ANALYZED_TABLES)}"))
        self.analyzed_rows += grown
        self.created_at_analyze = created

    def _fail(self, err: Exception) -> None:
        engine = self.engine
        if isinstance(err, DomainError):
            message = err.message
        else:
            message = "Импорт прерван из-за внутренней ошибки."
        if engine is not None and not engine.dry_run and self.committed_rows:
            message += (
                f" Обработано и сохранено строк: {self.committed_rows}. Повторный запуск не "
                "создаст дублей: уже загруженные контрагенты будут обновлены."
            )
        try:
            with db.job_session(write=True) as session:
                job = get_job(session, self.job_id)
                if engine is not None:  # the counts are those of the last committed batch
                    job.report = [r for r in engine.summary.rows if r["row"] <= self.committed_upto]
                job.status = "failed"
                job.error = message
                job.finished_at = utcnow()
        except Exception:  # noqa: BLE001  (nothing more can be done; the log has it)
            log.exception("client import job %s: could not record the failure", self.job_id)
