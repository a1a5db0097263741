"""Batch printing: issue (where missing) and collect one kind of document for a whole project.

Runs as a job of the job engine (`documents.batch_print`, erp_crm/jobs) with its own sessions:
one short transaction per chunk of deals, their documents and the job's progress committed
together, so a failure on one deal (no ИНН, say) is reported and the rest go on, the page polls
the job's progress, and a run killed mid-way resumes after the last committed chunk — the
numbers stay gapless (a number is taken in the transaction that records its document) and no
deal gets a second document (an issued one is reused). The result is a ZIP and one combined PDF
written to the storage folder file by file: memory stays bounded by one document, not by the
batch.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

from flask import Flask, current_app
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.package import write_zip
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.db import db, utcnow
from erp_crm.deals.models import Deal, Outcome, Stage
from erp_crm.errors import Conflict, DomainError, PermissionDenied, ValidationError
from erp_crm.jobs import JobContext, Stop, handler, request_job
from erp_crm.projects.models import Project
from erp_crm.sales_documents import rendering, services
from erp_crm.sales_documents.models import DocumentFile, PrintJob
from erp_crm.sales_documents.schema import DocumentKind

log = logging.getLogger(__name__)
BATCH_KINDS = (
    DocumentKind.INVOICE,
    DocumentKind.CONTRACT,
    DocumentKind.APPLICATION,
    DocumentKind.CHECKLIST,
    DocumentKind.ACT,
)
STALE_AFTER = dt.timedelta(minutes=2)


def create_job(session: Session, project: Project, kind: str, *, actor: User) -> PrintJob:
    if not has_permission(actor, Perm.DOCUMENTS_MANAGE):
        raise PermissionDenied("Пакетную печать запускают бухгалтер или руководитель ОП.")
    if kind not in {k.value for k in BATCH_KINDS}:
        raise ValidationError("Выберите вид документа.", fields={"kind": "неизвестный"})
    running = session.scalar(
        select(PrintJob).where(
            PrintJob.project_id == project.id, PrintJob.status.in_(("queued", "running"))
        )
    )
    if running is not None and not is_stalled(running):
        raise Conflict("Пакетная печать по проекту уже идёт: дождитесь окончания.")
    deal_ids = list(session.scalars(eligible_deals(project.id).order_by(Deal.id)))
    if not deal_ids:
        raise Conflict(
            "В проекте нет сделок на этапах продажи (договор и дальше): печатать нечего."
        )
    job = PrintJob(
        project_id=project.id,
        kind=kind,
        created_by_id=actor.id,
        deal_ids=deal_ids,
        total=len(deal_ids),
        failed=[],
    )
    session.add(job)
    session.flush()
    request_job(
        session,
        "documents.batch_print",
        {"print_job_id": job.id},
        actor=actor,
        title=f"Пакетная печать: {project.name}",
    )
    return job


def eligible_deals(project_id: int):
    """Deals the batch prints for: sold ones (a sale stage: contract and on), not lost, priced.
    Earlier stages get their documents one by one from the deal card."""
    return (
        select(Deal.id)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(
            Deal.project_id == project_id,
            Deal.outcome != Outcome.LOST.value,
            Deal.amount > 0,
            Stage.is_sale.is_(True),
        )
    )


def is_stalled(job: PrintJob) -> bool:
    beat = job.heartbeat_at or job.created_at
    return job.status in ("queued", "running") and utcnow() - beat > STALE_AFTER


def result_paths(app: Flask, job_id: int) -> tuple[Path, Path]:
    folder = Path(app.config["STORAGE_PATH"]) / "print_jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job_id}.zip", folder / f"{job_id}.pdf"


def _print_cancelled(session: Session, payload: dict) -> None:
    job = session.get(PrintJob, int(payload["print_job_id"]))
    if job is not None and job.status in ("queued", "running"):
        job.status = "failed"
        job.error = "Печать отменена администратором; выставленные документы сохранены."
        job.finished_at = utcnow()


@handler(
    "documents.batch_print",
    title="Пакетная печать документов",
    stall_seconds=300,
    on_cancel=_print_cancelled,
)
def _print_handler(ctx: JobContext) -> None:
    run(current_app._get_current_object(), int(ctx.payload["print_job_id"]), ctx=ctx)  # type: ignore[attr-defined]


CHUNK = 8  # deals per transaction: rendered together on the render pool


def _issue_chunk(
    app: Flask, job_id: int, deal_ids: list[int], ctx: JobContext | None = None
) -> list[int]:
    """Issue the missing documents of some deals in one short transaction; their ids.

    A deal that cannot have the document (no ИНН, say) is reported and skipped inside a
    savepoint, which gives its number back; the files of the rest are rendered together.
    """
    with db.job_session(app, write=True) as session:
        job = session.get(PrintJob, job_id)
        actor = session.get(User, job.created_by_id)
        ids: list[int] = []
        pending = []
        failed = list(job.failed)
        for deal_id in deal_ids:
            existing = services.active_of_kind(session, deal_id, job.kind)
            if existing is not None:
                ids.append(existing.id)
                continue
            deal = session.get(Deal, deal_id)
            try:
                with session.begin_nested():
                    pending.append(services.prepare_issue(session, deal, job.kind, actor=actor))
            except DomainError as err:
                failed.append({"deal_id": deal_id, "error": str(err)})
        rendering.render_pending(pending)
        for item in pending:
            ids.append(services.finish_issue(session, item, actor=actor).id)
        job.failed = failed
        job.issued += len(pending)
        job.done += len(deal_ids)
        job.heartbeat_at = utcnow()
        if ctx is not None:
            ctx.beat(session, done=job.done, total=job.total)
        return ids


def run(app: Flask, job_id: int, *, ctx: JobContext | None = None) -> None:
    with app.app_context():
        try:
            _run(current_app._get_current_object(), job_id, ctx)  # type: ignore[attr-defined]
        except Stop:
            raise
        except Exception as err:  # noqa: BLE001 - the page must learn the job died
            log.exception("print job %s failed", job_id)
            message = (
                err.message
                if isinstance(err, DomainError)
                else "ошибка на сервере; запустите печать снова — выставленные документы не "
                "задвоятся"
            )
            with db.job_session(app, write=True) as session:
                job = session.get(PrintJob, job_id)
                job.status = "failed"
                job.error = f"Печать остановлена: {message}"
                job.finished_at = utcnow()
            if ctx is not None:
                raise


def _run(app: Flask, job_id: int, ctx: JobContext | None = None) -> None:
    with db.job_session(app, write=True) as session:
        job = session.get(PrintJob, job_id)
        if job is None or job.status == "done":
            return
        job.status, job.heartbeat_at, job.error, job.finished_at = "running", utcnow(), None, None
        deal_ids = list(job.deal_ids)
        # A resumed or retried run goes on after the committed chunks; their documents are
        # collected again below (issued ones only: the failed deals were skipped).
        first = job.done
        document_ids = [
            d.id
            for deal_id in deal_ids[:first]
            if (d := services.active_of_kind(session, deal_id, job.kind)) is not None
        ]
    for start in range(first, len(deal_ids), CHUNK):
        document_ids.extend(_issue_chunk(app, job_id, deal_ids[start : start + CHUNK], ctx))
    zip_path, pdf_path = result_paths(app, job_id)
    with db.job_session(app) as session:  # reads only: the files go to disk
        _write_results(session, document_ids, zip_path, pdf_path)
    with db.job_session(app, write=True) as session:
        job = session.get(PrintJob, job_id)
        job.status = "done"
        job.result_path = str(zip_path)
        job.finished_at = job.heartbeat_at = utcnow()


def _files(session: Session, document_ids: list[int], fmt: str):
    for document_id in document_ids:
        file = session.scalar(
            select(DocumentFile).where(
                DocumentFile.document_id == document_id, DocumentFile.format == fmt
            )
        )
        if file is not None:
            yield file
            session.expunge(file)  # keep the identity map (and memory) from growing


def _write_results(
    session: Session, document_ids: list[int], zip_path: Path, pdf_path: Path
) -> None:
    with zip_path.open("wb") as out:
        write_zip(out, ((f.filename, f.content) for f in _files(session, document_ids, "pdf")))
    writer = PdfWriter()
    for file in _files(session, document_ids, "pdf"):
        writer.append(PdfReader(io.BytesIO(file.content)))
    with pdf_path.open("wb") as out:
        writer.write(out)


def project_jobs(session: Session, project_id: int) -> list[PrintJob]:
    return list(
        session.scalars(
            select(PrintJob)
            .where(PrintJob.project_id == project_id)
            .order_by(PrintJob.id.desc())
            .limit(10)
        )
    )
