"""The operations page of the job engine (admin): the queue, running and failed jobs with their
errors, periodic jobs and their last runs; retry and cancel."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.jobs import services
from erp_crm.jobs.models import STATUS_LABELS

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.app_template_filter("period_text")
def period_text(seconds: int) -> str:
    """A periodic job's period in words: «каждые 15 с», «каждую минуту», «раз в сутки»."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return "раз в сутки" if days == 1 else f"раз в {days} сут."
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "каждый час" if hours == 1 else f"каждые {hours} ч"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "каждую минуту" if minutes == 1 else f"каждые {minutes} мин"
    return f"каждые {seconds} с"


def _queue_size() -> int | None:
    """Messages waiting in huey's storage; None when it cannot be reached (shown as such)."""
    try:
        return int(current_app.extensions["jobs"].huey.pending_count())
    except Exception:  # noqa: BLE001 - the page still shows the database's side
        return None


@bp.route("/")
@require_permission(Perm.JOBS_MANAGE)
def index() -> str:
    session = db.session
    return render_template(
        "jobs/index.html",
        counts=services.counts(session),
        queue_size=_queue_size(),
        storage=current_app.extensions["jobs"].storage_name,
        running=services.requests_by_status(session, ("running",)),
        queued=services.requests_by_status(session, ("queued",)),
        failed=services.requests_by_status(session, ("failed",), limit=50),
        finished=services.requests_by_status(session, ("done", "cancelled"), limit=30),
        periodic=services.periodic_overview(session),
        labels=STATUS_LABELS,
    )


@bp.route("/<int:request_id>/retry", methods=["POST"])
@require_permission(Perm.JOBS_MANAGE)
def retry(request_id: int) -> Response:
    job = services.get_request(db.session, request_id)
    services.retry(db.session, job, actor=current_user)
    flash(f"Задание № {job.id} снова в очереди.", "success")
    return redirect(url_for("jobs.index"))


@bp.route("/<int:request_id>/cancel", methods=["POST"])
@require_permission(Perm.JOBS_MANAGE)
def cancel(request_id: int) -> Response:
    job = services.get_request(db.session, request_id)
    services.cancel(db.session, job, actor=current_user)
    flash(f"Задание № {job.id} отменено.", "success")
    return redirect(url_for("jobs.index"))
