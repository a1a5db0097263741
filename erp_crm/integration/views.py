"""The exchange log (every message, its status and error; retry for dead ones) and settings."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.integration import jobs, outbox, services
from erp_crm.integration.models import ExchangeEvent, InboundMessage, OutboxMessage

bp = Blueprint("exchange", __name__, url_prefix="/exchange")

OUTBOX_STATUS_LABELS = {
    "pending": "В очереди",
    "sent": "Отправлено",
    "dead": "Ошибка",
    "invalid": "Не передаётся",
}
KIND_LABELS = {"counterparty": "Контрагент", "document": "Документ", "budget": "Бюджет"}


@bp.route("/")
@require_permission(Perm.EXCHANGE_VIEW)
def index() -> str:
    args = request.args
    status = args.get("status") or ""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status in OUTBOX_STATUS_LABELS:
        query = query.where(OutboxMessage.status == status)
    page = paginate(db.session, query, page=parse_page(args.get("page")), per_page=50)
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    st = services.state(db.session)
    return render_template(
        "exchange/index.html",
        page=page,
        status=status,
        counts=counts,
        state=st,
        events=db.session.scalars(
            select(ExchangeEvent).order_by(ExchangeEvent.id.desc()).limit(30)
        ).all(),
        inbound=db.session.scalars(
            select(InboundMessage).order_by(InboundMessage.id.desc()).limit(15)
        ).all(),
        status_labels=OUTBOX_STATUS_LABELS,
        kind_labels=KIND_LABELS,
        can_manage=has_permission(current_user, Perm.EXCHANGE_MANAGE),
        exchange_job=jobs.last_pass(db.session),
        job_labels=jobs.STATUS_LABELS,
        job_summary=jobs.summary_of,
    )


@bp.route("/messages/<int:message_id>/retry", methods=["POST"])
@require_permission(Perm.EXCHANGE_MANAGE)
def retry(message_id: int) -> Response:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("Сообщение не найдено.")
    outbox.retry_dead(db.session, message, actor=current_user)
    flash("Сообщение снова в очереди: уйдёт при следующем обмене.", "success")
    return redirect(url_for("exchange.index"))


@bp.route("/retry-dead", methods=["POST"])
@require_permission(Perm.EXCHANGE_MANAGE)
def retry_all() -> Response:
    count = outbox.retry_all_dead(db.session, actor=current_user)
    flash(f"Снова в очереди: {count}.", "success")
    return redirect(url_for("exchange.index"))


def _adapter() -> dict | None:
    return current_app.extensions.get("accounting")


@bp.route("/sync", methods=["POST"])
@require_permission(Perm.EXCHANGE_MANAGE)
def sync_now() -> Response:
    """Request one exchange pass as a job; the page shows its progress."""
    try:
        jobs.request_exchange(db.session, actor=current_user)
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "warning")
        return redirect(url_for("exchange.index"))
    db.session.commit()  # the request goes to the worker now
    flash("Обмен с 1С запущен: ход и итог видны на этой странице.", "success")
    return redirect(url_for("exchange.index"))


@bp.route("/sync/<int:request_id>/progress")
@require_permission(Perm.EXCHANGE_VIEW)
def sync_progress(request_id: int) -> str:
    """The pass's status fragment the page polls with htmx while it goes."""
    job = jobs.get_pass(db.session, request_id)
    if job is None:
        raise NotFound("Обмен не найден.")
    return render_template(
        "exchange/_sync_progress.html",
        exchange_job=job,
        job_labels=jobs.STATUS_LABELS,
        job_summary=jobs.summary_of,
    )


@bp.route("/settings", methods=["GET", "POST"])
@require_permission(Perm.EXCHANGE_MANAGE)
def settings() -> Response | tuple[str, int]:
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            services.save_settings(
                db.session,
                url=request.form.get("url", ""),
                username=request.form.get("username", ""),
                password=request.form.get("password") or None,
                actor=current_user,
            )
        except ValidationError as err:
            errors, status = err.fields, 422
            db.session.rollback()
        else:
            flash("Настройки обмена сохранены.", "success")
            return redirect(url_for("exchange.settings"))
    conn = services.connection(db.session)
    st = services.state(db.session)
    return render_template(
        "exchange/settings.html",
        conn=conn,
        state=st,
        errors=errors,
        has_password=bool(conn.password),
        form=request.form if errors else None,
    ), status


@bp.route("/settings/test", methods=["POST"])
@require_permission(Perm.EXCHANGE_MANAGE)
def test_connection() -> Response:
    adapter = _adapter()
    if adapter is None:
        raise ValidationError("Модуль обмена с 1С не установлен.")
    db.session.commit()
    try:
        message = adapter["ping"](current_app._get_current_object())  # type: ignore[attr-defined]
    except adapter["error"] as err:
        services.log(db.session, "Ping", False, str(err))
        flash(f"Нет связи с 1С: {err}", "danger")
    else:
        services.log(db.session, "Ping", True, message)
        flash(message, "success")
    return redirect(url_for("exchange.settings"))
