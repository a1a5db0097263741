"""Admin pages for pipelines, stages and lost reasons."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, form_status, form_values
from erp_crm.db import db
from erp_crm.deals.models import Pipeline, Stage
from erp_crm.deals.pipelines import services
from erp_crm.deals.pipelines.forms import PipelineForm, RenameForm, StageEditForm
from erp_crm.errors import ValidationError

bp = Blueprint("pipelines", __name__, url_prefix="/admin/pipelines")


def _index(status: int = 200, **given: Any) -> tuple[str, int]:
    """The one admin page; a refused form comes back in `given` with its errors."""
    return render_template(
        "deals/pipelines.html",
        pipelines=services.pipelines(db.session),
        counts=services.deals_per_stage(db.session),
        reasons=services.lost_reasons(db.session),
        triggers=services.TRIGGERS,
        pipeline_form=given.get("pipeline_form") or PipelineForm(formdata=None),
        reason_form=given.get("reason_form") or RenameForm(formdata=None, prefix="reason"),
        row_error=given.get("row_error"),  # (kind, id, message) of a refused inline rename
    ), status


def _refused(**given: Any) -> tuple[str, int]:
    db.session.rollback()
    return _index(422, **given)


def _back() -> Response:
    return redirect(url_for("pipelines.index"))


@bp.route("/")
@require_permission(Perm.PIPELINES_MANAGE)
def index() -> tuple[str, int]:
    return _index()


# --- pipelines ----------------------------------------------------------------------------------


@bp.route("/new", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def create_pipeline() -> Response | tuple[str, int]:
    form = PipelineForm()
    if form.validate_on_submit():
        try:
            pipeline = services.create_pipeline(
                db.session, form.name.data, form.code.data, actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Воронка «{pipeline.name}» создана: добавьте в неё этапы.", "success")
            return _back()
    return _refused(pipeline_form=form)


@bp.route("/<int:pipeline_id>/rename", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def rename_pipeline(pipeline_id: int) -> Response | tuple[str, int]:
    pipeline = services.get_pipeline(db.session, pipeline_id)
    form = RenameForm()
    try:
        if not form.validate_on_submit():
            raise ValidationError(fields={"name": "Укажите название."})
        services.rename_pipeline(db.session, pipeline, form.name.data, actor=current_user)
    except ValidationError as err:
        return _refused(row_error=("pipeline", pipeline_id, err.fields.get("name", err.message)))
    flash("Воронка переименована.", "success")
    return _back()


@bp.route("/<int:pipeline_id>/toggle", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def toggle_pipeline(pipeline_id: int) -> Response:
    pipeline = services.get_pipeline(db.session, pipeline_id)
    services.set_pipeline_active(db.session, pipeline, not pipeline.is_active, actor=current_user)
    flash(f"Воронка «{pipeline.name}» {'включена' if pipeline.is_active else 'отключена'}.", "info")
    return _back()


# --- stages -------------------------------------------------------------------------------------


def _stage_page(
    form: StageEditForm, pipeline: Pipeline, stage: Stage | None, status: int
) -> tuple[str, int]:
    return render_template(
        "deals/stage_form.html", form=form, pipeline=pipeline, stage=stage
    ), status


def _save_stage(pipeline: Pipeline, stage: Stage | None) -> Response | tuple[str, int]:
    if stage is None:
        form = StageEditForm()
        if request.method == "GET":
            form.position.data = str(len(pipeline.stages) + 1)
    else:
        form = StageEditForm(obj=stage)
        if request.method == "GET":
            ordered = sorted(pipeline.stages, key=lambda s: (s.position, s.id))
            form.position.data = str(ordered.index(stage) + 1)
            form.percent.data = str(stage.percent)
            form.trigger.data = stage.trigger or ""
    if form.validate_on_submit():
        data = services.StageData.from_mapping(form_values(form))
        try:
            if stage is None:
                saved = services.add_stage(db.session, pipeline, data, actor=current_user)
            else:
                saved = services.update_stage(db.session, stage, data, actor=current_user)
        except ValidationError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            flash(f"Этап «{saved.name}» сохранён.", "success")
            return _back()
    status = form_status(form)
    return _stage_page(form, pipeline, stage, status)


@bp.route("/<int:pipeline_id>/stages/new", methods=["GET", "POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def add_stage(pipeline_id: int) -> Response | tuple[str, int]:
    return _save_stage(services.get_pipeline(db.session, pipeline_id), None)


@bp.route("/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def edit_stage(stage_id: int) -> Response | tuple[str, int]:
    stage = services.get_stage(db.session, stage_id)
    return _save_stage(stage.pipeline, stage)


@bp.route("/stages/<int:stage_id>/move/<any(up, down):direction>", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def move_stage(stage_id: int, direction: str) -> Response:
    stage = services.get_stage(db.session, stage_id)
    services.move_stage(db.session, stage, direction, actor=current_user)
    return _back()


@bp.route("/stages/<int:stage_id>/toggle", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def toggle_stage(stage_id: int) -> Response:
    stage = services.get_stage(db.session, stage_id)
    services.set_stage_active(db.session, stage, not stage.is_active, actor=current_user)
    flash(f"Этап «{stage.name}» {'включён' if stage.is_active else 'отключён'}.", "info")
    return _back()


# --- lost reasons -------------------------------------------------------------------------------


@bp.route("/lost-reasons", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def add_reason() -> Response | tuple[str, int]:
    form = RenameForm(prefix="reason")
    if form.validate_on_submit():
        try:
            reason = services.add_lost_reason(db.session, form.name.data, actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Причина «{reason.name}» добавлена.", "success")
            return _back()
    return _refused(reason_form=form)


@bp.route("/lost-reasons/<int:reason_id>/rename", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def rename_reason(reason_id: int) -> Response | tuple[str, int]:
    reason = services.get_reason(db.session, reason_id)
    form = RenameForm()
    try:
        if not form.validate_on_submit():
            raise ValidationError(fields={"name": "Укажите название."})
        services.rename_lost_reason(db.session, reason, form.name.data, actor=current_user)
    except ValidationError as err:
        return _refused(row_error=("reason", reason_id, err.fields.get("name", err.message)))
    flash("Причина переименована.", "success")
    return _back()


@bp.route("/lost-reasons/<int:reason_id>/toggle", methods=["POST"])
@require_permission(Perm.PIPELINES_MANAGE)
def toggle_reason(reason_id: int) -> Response:
    reason = services.get_reason(db.session, reason_id)
    services.set_lost_reason_active(db.session, reason, not reason.is_active, actor=current_user)
    flash(f"Причина «{reason.name}» {'включена' if reason.is_active else 'отключена'}.", "info")
    return _back()
