"""Import of client files and export of client lists (pages)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients import exporter, importing
from erp_crm.clients.models import ImportJob
from erp_crm.clients.search import ClientFilter
from erp_crm.clients.transfer_forms import ImportUploadForm, MappingForm, mapping_form
from erp_crm.core.forms import apply_errors, form_status
from erp_crm.core.pagination import Page, parse_page
from erp_crm.db import db, writes_on_get
from erp_crm.errors import ValidationError

bp = Blueprint("client_transfer", __name__, url_prefix="/clients")

REPORT_PAGE_SIZE = 100


def _storage() -> Path:
    return Path(current_app.config["STORAGE_PATH"])


def _job(job_id: int) -> ImportJob:
    job = importing.get_job(db.session, job_id)
    ensure(importing.can_access_job(current_user, job))
    return job


@bp.route("/import", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_IMPORT)
def import_upload() -> Response | tuple[str, int]:
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            job = importing.create_job(
                db.session,
                upload.stream,
                upload.filename or "",
                storage=_storage(),
                note=form.note.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Файл загружен. Проверьте, какие поля в каких столбцах.", "success")
            return redirect(url_for(".import_mapping", job_id=job.id))
    status = form_status(form)
    jobs = importing.recent_jobs(db.session, actor=current_user)
    return render_template("clients/import_upload.html", form=form, jobs=jobs), status


def _start(form: MappingForm, job: ImportJob, width: int) -> Response | None:
    if not (form.dry_run.data or form.run.data):
        form.form_errors.append("Нажмите «Проверить (пробный прогон)» или «Импортировать».")
        return None
    dry_run = not form.run.data
    try:
        importing.start_run(
            db.session, job, form.mapping(), width=width, dry_run=dry_run, actor=current_user
        )
    except ValidationError as err:
        apply_errors(form, err)
        return None
    flash("Пробный прогон запущен." if dry_run else "Импорт запущен.", "info")
    return redirect(url_for(".import_mapping", job_id=job.id))


@bp.route("/import/<int:job_id>", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_IMPORT)
def import_mapping(job_id: int) -> Response | tuple[str, int]:
    job = _job(job_id)
    found = importing.job_preview(job, _storage())
    form = mapping_form(found.header, importing.job_columns(job) or found.suggested)
    if form.validate_on_submit() and (done := _start(form, job, len(found.header))):
        return done
    status = form_status(form)
    return render_template(
        "clients/import_mapping.html",
        job=job,
        preview=found,
        form=form,
        in_progress=importing.is_in_progress(job),
        stalled=importing.is_stalled(job),
    ), status


@bp.route("/import/<int:job_id>/progress")
@require_permission(Perm.CLIENTS_IMPORT)
def import_progress(job_id: int) -> str:
    """The progress fragment the mapping page polls with htmx while a run is going."""
    job = _job(job_id)
    return render_template(
        "clients/import_progress.html",
        job=job,
        in_progress=importing.is_in_progress(job),
        stalled=importing.is_stalled(job),
    )


@bp.route("/import/<int:job_id>/report")
@require_permission(Perm.CLIENTS_IMPORT)
def import_report(job_id: int) -> str:
    job = _job(job_id)
    rejected_only = request.args.get("only") == "rejected"
    rows = [r for r in job.report or [] if not rejected_only or r.get("action") == "reject"]
    page = parse_page(request.args.get("page"))
    pages = max(1, -(-len(rows) // REPORT_PAGE_SIZE))
    page = min(page, pages)
    start = (page - 1) * REPORT_PAGE_SIZE
    listing = Page(
        items=rows[start : start + REPORT_PAGE_SIZE],
        page=page,
        per_page=REPORT_PAGE_SIZE,
        total=len(rows),
    )
    return render_template(
        "clients/import_report.html",
        job=job,
        listing=listing,
        rejected_only=rejected_only,
        in_progress=importing.is_in_progress(job),
        stalled=importing.is_stalled(job),
        error_label=importing.error_label,
        detail_rows=importing.REPORT_DETAIL_ROWS,
    )


def _export(fmt: str) -> Response:
    flt = ClientFilter.from_args(request.args)
    out, _count = exporter.export_clients(db.session, flt, fmt=fmt, actor=current_user)
    stamp = dt.date.today().isoformat()
    return send_file(
        out,
        mimetype=exporter.FORMATS[fmt],
        as_attachment=True,
        download_name=f"Контрагенты {stamp}.{fmt}",
        max_age=0,
    )


@bp.route("/export.xlsx")
@require_permission(Perm.CLIENTS_EXPORT)
@writes_on_get  # the export is audited
def export_xlsx() -> Response:
    return _export("xlsx")


@bp.route("/export.csv")
@require_permission(Perm.CLIENTS_EXPORT)
@writes_on_get  # the export is audited
def export_csv() -> Response:
    return _export("csv")


@bp.app_template_filter("import_status")
def _import_status(job: ImportJob) -> str:
    if importing.is_in_progress(job):
        return "идёт проверка файла…" if job.status == "dry_run" else "идёт…"
    return {
        "uploaded": "загружен, ждёт сопоставления",
        "dry_run": "проверен, ничего не сохранено",
        "done": "завершён",
        "failed": "ошибка",
    }.get(job.status, job.status)
