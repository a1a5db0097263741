"""Sales plans and plan-vs-actual pages."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.projects import access, plans, services

bp = Blueprint("plans", __name__, url_prefix="/plans")


@bp.route("/")
@require_permission(Perm.PROJECTS_VIEW)
def index() -> str:
    projects = services.list_projects(db.session)
    return render_template(
        "projects/plans_index.html",
        projects=projects,
        summary=plans.projects_summary(db.session, projects),
        can_plan=access.can_manage_plans(current_user),
    )


@bp.route("/<int:project_id>")
@require_permission(Perm.PROJECTS_VIEW)
def report(project_id: int) -> str:
    project = services.get_project(db.session, project_id)
    return render_template(
        "projects/plan_report.html",
        project=project,
        report=plans.plan_vs_actual(db.session, project),
        month_key=plans.month_key,
        can_plan=access.can_manage_plans(current_user),
    )


def _months(project) -> list:
    """The grid's months: ?start=YYYY-MM&end=YYYY-MM, or a year up to the opening."""
    start = plans.parse_month(request.values.get("start"))
    end = plans.parse_month(request.values.get("end"))
    if start and end and start <= end:
        return plans.months_between(start, end)
    return plans.default_months(db.session, project)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PLANS_MANAGE)
def edit(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    months = _months(project)
    owners = plans.plan_owners(db.session, project)
    stored = plans.plan_values(db.session, project.id)
    values: dict[str, str] = {}
    for owner in owners:
        for month in months:
            area, amount = stored.get((owner.user_id, month), (None, None))
            values[plans.cell_field("area", owner.key, month)] = "" if area is None else str(area)
            values[plans.cell_field("amount", owner.key, month)] = (
                "" if amount is None else str(amount)
            )
    errors: dict[str, str] = {}
    message = None
    if request.method == "POST":  # the CSRF token is checked by CSRFProtect for every POST
        cells = []
        for owner in owners:
            for month in months:
                area_name = plans.cell_field("area", owner.key, month)
                amount_name = plans.cell_field("amount", owner.key, month)
                if area_name not in request.form and amount_name not in request.form:
                    continue
                values[area_name] = request.form.get(area_name, "")
                values[amount_name] = request.form.get(amount_name, "")
                cells.append(
                    plans.PlanCell(owner.user_id, month, values[area_name], values[amount_name])
                )
        try:
            changed = plans.save_plan(db.session, project, cells, actor=current_user)
        except ValidationError as err:
            errors, message = err.fields, err.message
        else:
            flash(f"План сохранён (изменено ячеек: {changed}).", "success")
            return redirect(
                url_for(
                    "plans.edit",
                    project_id=project.id,
                    start=plans.month_key(months[0]),
                    end=plans.month_key(months[-1]),
                )
            )
    return render_template(
        "projects/plan_edit.html",
        project=project,
        months=months,
        owners=owners,
        values=values,
        errors=errors,
        message=message,
        cell_field=plans.cell_field,
        month_key=plans.month_key,
        can_plan=access.can_manage_plans(current_user),
    ), (422 if errors else 200)
