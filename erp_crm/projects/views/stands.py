"""Stand pages on the projects blueprint: the list, create/edit, import, the hall plan (page and
PDF). The stand page with reserve / release is booking: deals/views/booking.py.

Every page that shows stand statuses first frees expired holds (stands.release_expired), so what
is shown and what the database says agree; the status shown is the effective one anyway.
"""

from __future__ import annotations

import datetime as dt

from flask import Response as FlaskResponse
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from documents.render_html import render_pdf
from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, form_status
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.projects import access, hallplan, importer, services, stands
from erp_crm.projects import stand_services as ss
from erp_crm.projects.forms import StandForm, StandImportForm
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_STATUS_LABELS,
    STAND_TYPE_LABELS,
    Project,
    Stand,
)
from erp_crm.projects.views.common import bp, hall_choices
from erp_crm.ui import LOCAL_TZ

STANDS_PER_PAGE = 100


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _stand_url(stand_id: int) -> str:
    return url_for("projects.stand_show", stand_id=stand_id)


# --- list, create, edit -------------------------------------------------------------------------


@bp.route("/<int:project_id>/stands")
@require_permission(Perm.PROJECTS_VIEW)
def stands_index(project_id: int) -> str:
    project = services.get_project(db.session, project_id)
    stands.release_expired(db.session)
    try:
        hall_id = int(request.args.get("hall_id") or 0) or None
    except ValueError:
        hall_id = None
    status = request.args.get("status") or None
    number = request.args.get("number") or None
    page = paginate(
        db.session,
        ss.stand_query(project.id, hall_id=hall_id, status=status, number=number),
        page=parse_page(request.args.get("page")),
        per_page=STANDS_PER_PAGE,
    )
    return render_template(
        "projects/stands.html",
        project=project,
        page=page,
        hall_id=hall_id,
        status=status,
        number=number or "",
        effective=stands.effective_status,
        statuses=STAND_STATUS_LABELS,
        types=STAND_TYPE_LABELS,
        positions=STAND_POSITION_LABELS,
        can_manage=access.can_manage_projects(current_user),
    )


def _stand_form(project: Project, stand: Stand | None = None) -> StandForm:
    form = StandForm(obj=stand)
    form.hall_id.choices = hall_choices(project)
    if request.method == "GET" and stand is not None:
        form.hall_id.data = str(stand.hall_id)
        for name in ("area_m2", "x_m", "y_m", "width_m", "depth_m"):
            form[name].data = str(getattr(stand, name))
    elif request.method == "GET" and request.args.get("hall_id"):
        form.hall_id.data = request.args["hall_id"]
    return form


def _stand_data(form: StandForm) -> ss.StandData:
    return ss.StandData(
        hall_id=form.hall_id.data,
        number=form.number.data,
        area_m2=form.area_m2.data,
        stand_type=form.stand_type.data,
        position=form.position.data,
        x_m=form.x_m.data,
        y_m=form.y_m.data,
        width_m=form.width_m.data,
        depth_m=form.depth_m.data,
    )


@bp.route("/<int:project_id>/stands/new", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def stand_create(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    form = _stand_form(project)
    if not project.halls:
        flash("Сначала добавьте в проект зал.", "warning")
        return redirect(url_for("projects.hall_create", project_id=project.id))
    if form.validate_on_submit():
        try:
            stand = ss.create_stand(db.session, project, _stand_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Стенд № {stand.number} добавлен.", "success")
            return redirect(url_for("projects.stand_show", stand_id=stand.id))
    return render_template(
        "projects/stand_form.html", form=form, project=project, stand=None
    ), form_status(form)


@bp.route("/stands/<int:stand_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def stand_edit(stand_id: int) -> Response | tuple[str, int]:
    stand = ss.get_stand(db.session, stand_id)
    form = _stand_form(stand.project, stand)
    if form.validate_on_submit():
        try:
            ss.update_stand(db.session, stand, _stand_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Стенд сохранён.", "success")
            return redirect(url_for("projects.stand_show", stand_id=stand.id))
    return render_template(
        "projects/stand_form.html", form=form, project=stand.project, stand=stand
    ), form_status(form)


@bp.route("/stands/<int:stand_id>/active", methods=["POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def stand_toggle(stand_id: int) -> Response:
    stand = ss.get_stand(db.session, stand_id)
    stand = ss.set_stand_active(db.session, stand, not stand.is_active, actor=current_user)
    flash(
        f"Стенд № {stand.number} снова в продаже."
        if stand.is_active
        else f"Стенд № {stand.number} снят с продажи.",
        "info",
    )
    return redirect(url_for("projects.stand_show", stand_id=stand.id))


@bp.route("/<int:project_id>/stands/import", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def stand_import(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    form = StandImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = importer.import_stands(
                db.session,
                project,
                upload.filename or "",
                upload.read(importer.MAX_BYTES + 1),
                actor=current_user,
                dry_run=bool(form.dry_run.data),
            )
        except ValidationError as err:
            apply_errors(form, err)
    return render_template(
        "projects/stand_import.html",
        form=form,
        project=project,
        report=report,
        columns=importer.COLUMNS,
    ), form_status(form)


# --- the hall plan ------------------------------------------------------------------------------


@bp.route("/<int:project_id>/plan")
@require_permission(Perm.PROJECTS_VIEW)
def plan(project_id: int) -> str:
    project = services.get_project(db.session, project_id)
    stands.release_expired(db.session)
    halls = hallplan.project_plan(db.session, project)
    return render_template(
        "projects/plan.html",
        project=project,
        halls=halls,
        svgs={h.hall.id: hallplan.hall_svg(h, stand_url=_stand_url) for h in halls},
        colours=hallplan.COLOURS,
        statuses=STAND_STATUS_LABELS,
    )


@bp.route("/<int:project_id>/plan.pdf")
@require_permission(Perm.PROJECTS_VIEW)
def plan_pdf(project_id: int) -> FlaskResponse:
    project = services.get_project(db.session, project_id)
    stands.release_expired(db.session)
    halls = hallplan.project_plan(db.session, project)
    html = render_template(
        "projects/plan_pdf.html",
        project=project,
        halls=halls,
        svgs={
            h.hall.id: hallplan.hall_svg(
                h,
                stand_url=lambda sid: url_for("projects.stand_show", stand_id=sid, _external=True),
                size=hallplan.print_size(h),
                responsive=False,
            )
            for h in halls
        },
        colours=hallplan.COLOURS,
        statuses=STAND_STATUS_LABELS,
        printed_at=dt.datetime.now(dt.UTC),
    )
    response = FlaskResponse(render_pdf(html), mimetype="application/pdf")
    filename = f"plan-{project.code}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
