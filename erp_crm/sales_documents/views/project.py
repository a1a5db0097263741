"""A project's documents: batch printing with a progress bar, participant manuals."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects.models import Project
from erp_crm.sales_documents import jobs, packages
from erp_crm.sales_documents.models import PrintJob, ProjectManual
from erp_crm.sales_documents.schema import KIND_LABELS, MANUAL_KINDS
from erp_crm.sales_documents.views.common import send_bytes

bp = Blueprint("project_documents", __name__, url_prefix="/documents/projects")


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound("Проект не найден.")
    return project


def _job(job_id: int) -> PrintJob:
    job = db.session.get(PrintJob, job_id)
    if job is None:
        raise NotFound("Задание печати не найдено.")
    return job


@bp.route("/<int:project_id>")
@require_permission(Perm.DOCUMENTS_VIEW)
def index(project_id: int) -> str:
    project = _project(project_id)
    manuals = {
        m.kind: m
        for m in db.session.query(ProjectManual).filter(ProjectManual.project_id == project.id)
    }
    return render_template(
        "documents/project.html",
        project=project,
        jobs=jobs.project_jobs(db.session, project.id),
        batch_kinds=[(k.value, KIND_LABELS[k]) for k in jobs.BATCH_KINDS],
        manual_kinds=MANUAL_KINDS,
        manuals=manuals,
        is_stalled=jobs.is_stalled,
        kind_labels=KIND_LABELS,
        eligible=db.session.scalar(
            select(func.count()).select_from(jobs.eligible_deals(project.id).subquery())
        ),
    )


@bp.route("/<int:project_id>/batch", methods=["POST"])
@require_permission(Perm.DOCUMENTS_MANAGE)
def batch(project_id: int) -> Response:
    project = _project(project_id)
    jobs.create_job(db.session, project, request.form.get("kind", ""), actor=current_user)
    return redirect(url_for("project_documents.index", project_id=project.id) + "#jobs")


@bp.route("/jobs/<int:job_id>/progress")
@require_permission(Perm.DOCUMENTS_VIEW)
def progress(job_id: int) -> str:
    return render_template(
        "documents/_print_job.html",
        job=_job(job_id),
        is_stalled=jobs.is_stalled,
        kind_labels=KIND_LABELS,
    )


@bp.route("/jobs/<int:job_id>/result.<fmt>")
@require_permission(Perm.DOCUMENTS_VIEW)
def result(job_id: int, fmt: str) -> Response:
    job = _job(job_id)
    if fmt not in ("zip", "pdf") or job.status != "done":
        abort(404)
    zip_path, pdf_path = jobs.result_paths(current_app, job.id)
    path = zip_path if fmt == "zip" else pdf_path
    if not path.is_file():
        abort(404)
    from flask import send_file

    return send_file(
        path,
        mimetype="application/zip" if fmt == "zip" else "application/pdf",
        as_attachment=True,
        download_name=f"print-job-{job.id}.{fmt}",
    )


@bp.route("/<int:project_id>/manuals", methods=["POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def upload_manual(project_id: int) -> Response:
    project = _project(project_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("Выберите PDF-файл руководства.")
    packages.upload_manual(
        db.session,
        project,
        request.form.get("kind", ""),
        upload.filename,
        upload.read(packages.MAX_MANUAL_BYTES + 1),
        actor=current_user,
    )
    flash("Руководство загружено: оно войдёт в пакеты документов проекта.", "success")
    return redirect(url_for("project_documents.index", project_id=project.id))


@bp.route("/<int:project_id>/manuals/<kind>")
@require_permission(Perm.DOCUMENTS_VIEW)
def manual(project_id: int, kind: str) -> Response:
    project = _project(project_id)
    if kind not in MANUAL_KINDS:
        abort(404)
    data = packages.manual_pdf(db.session, project, kind)
    return send_bytes(data, f"{MANUAL_KINDS[kind]}.pdf", "pdf", inline=True)
