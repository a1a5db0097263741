"""The catalogs of contacts: types, reasons, the next step of each result (head of sales)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm.activities import catalogs as catalogs_services
from erp_crm.activities.forms import (
    CancelForm,
    ReasonForm,
    RuleForm,
    TypeForm,
)
from erp_crm.activities.models import (
    RESULT_LABELS,
    ActivityReason,
    ActivityType,
    ResultRule,
)
from erp_crm.activities.views.common import bp, int_arg
from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors
from erp_crm.db import db
from erp_crm.deals.models import Stage
from erp_crm.errors import ValidationError

# --- catalogs -----------------------------------------------------------------------------------


def _catalogs_page(type_form=None, reason_form=None, status: int = 200):
    stages = db.session.scalars(
        select(Stage).where(Stage.is_active.is_(True)).order_by(Stage.pipeline_id, Stage.position)
    ).all()
    rules = {r.result_kind: r for r in db.session.scalars(select(ResultRule))}
    return render_template(
        "activities/catalogs.html",
        types=db.session.scalars(select(ActivityType).order_by(ActivityType.position)).all(),
        reasons=db.session.scalars(
            select(ActivityReason).order_by(ActivityReason.kind, ActivityReason.name)
        ).all(),
        rules=rules,
        stages=stages,
        results=RESULT_LABELS,
        type_form=type_form or TypeForm(formdata=None),
        reason_form=reason_form or ReasonForm(formdata=None),
    ), status


@bp.route("/catalogs")
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalogs():
    return _catalogs_page()


@bp.route("/catalogs/types", methods=["POST"])
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalog_type_add():
    form = TypeForm()
    if form.validate_on_submit():
        try:
            kind = catalogs_services.add_type(
                db.session, form.name.data, form.default_minutes.data or 15, actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Тип «{kind.name}» добавлен.", "success")
            return redirect(url_for("activities.catalogs"))
    return _catalogs_page(type_form=form, status=422)


@bp.route("/catalogs/types/<int:type_id>/toggle", methods=["POST"])
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalog_type_toggle(type_id: int) -> Response:
    if not CancelForm().validate_on_submit():
        abort(400)
    kind = db.session.get(ActivityType, type_id) or abort(404)
    catalogs_services.toggle_type(db.session, kind, actor=current_user)
    return redirect(url_for("activities.catalogs"))


@bp.route("/catalogs/reasons", methods=["POST"])
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalog_reason_add():
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            reason = catalogs_services.add_reason(
                db.session, form.kind.data, form.name.data, actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Причина «{reason.name}» добавлена.", "success")
            return redirect(url_for("activities.catalogs"))
    return _catalogs_page(reason_form=form, status=422)


@bp.route("/catalogs/reasons/<int:reason_id>/toggle", methods=["POST"])
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalog_reason_toggle(reason_id: int) -> Response:
    if not CancelForm().validate_on_submit():
        abort(400)
    reason = db.session.get(ActivityReason, reason_id) or abort(404)
    catalogs_services.toggle_reason(db.session, reason, actor=current_user)
    return redirect(url_for("activities.catalogs"))


@bp.route("/catalogs/rules/<result_kind>", methods=["POST"])
@require_permission(Perm.ACTIVITY_CATALOGS_MANAGE)
def catalog_rule_set(result_kind: str) -> Response:
    form = RuleForm()
    if not form.validate_on_submit():
        flash(next(iter(form.follow_up_days.errors), "Проверьте значения."), "danger")
        return redirect(url_for("activities.catalogs"))
    catalogs_services.set_rule(
        db.session,
        result_kind,
        form.follow_up_days.data,
        int_arg(form.stage_id.data),
        actor=current_user,
    )
    flash(f"Следующий шаг для «{RESULT_LABELS.get(result_kind, result_kind)}» сохранён.", "success")
    return redirect(url_for("activities.catalogs"))
