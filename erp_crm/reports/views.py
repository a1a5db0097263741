"""The sales reports' pages: the manager's, the department's, the project group's, their
drill-down lists and XLSX exports. Every page reads the same filters (reports/filters.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from erp_crm.activities.models import RESULT_LABELS, STATUS_LABELS
from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import ClientGroup
from erp_crm.core.pagination import parse_page
from erp_crm.db import db
from erp_crm.deals.models import Pipeline
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.projects.models import Project
from erp_crm.reports import access, export, sales
from erp_crm.reports.filters import ReportFilter
from erp_crm.reports.records import records_page

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_global("may_see_manager")
def may_see_manager(manager_id: int) -> bool:
    """Whether the current user may open that manager's personal report (a project manager
    sees the group's rows, not each manager's report)."""
    return access.can_see_manager(current_user, manager_id)


@bp.app_template_global("drill_url")
def drill_url(figure: str, f: ReportFilter, **extra: Any) -> str:
    """The drill-down link of a figure: built by hand on the route's path (a report page has
    hundreds of them; url_for for each cost most of the page's time)."""
    from urllib.parse import urlencode

    base = getattr(g, "_records_url", None)
    if base is None:
        base = g._records_url = url_for("reports.records")
        g._drill_args = {}
    key = (f, tuple(sorted(extra.items())))
    encoded = g._drill_args.get(key)
    if encoded is None:
        encoded = g._drill_args[key] = urlencode(f.args(**extra))
    return f"{base}?figure={figure}&{encoded}"  # figure keys are plain identifiers


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 50  # the drill-down's page; the pager reaches the rest


def read_filter() -> tuple[ReportFilter, dict[str, str]]:
    """The page's filter; a malformed period is reported and the default period used."""
    try:
        return ReportFilter.from_args(request.args), {}
    except ValidationError as err:
        return ReportFilter.from_args({**request.args, "date_from": "", "date_to": ""}), err.fields


def _choices(project_ids: list[int] | None = None) -> dict[str, Any]:
    projects = select(Project).order_by(Project.opening_date.desc(), Project.name)
    if project_ids is not None:
        projects = projects.where(Project.id.in_(project_ids))
    groups = (
        select(ClientGroup)
        .where(
            ClientGroup.is_active.is_(True),
            or_(ClientGroup.owner_id.is_(None), ClientGroup.owner_id == current_user.id),
        )
        .order_by(ClientGroup.name)
    )
    return {
        "projects": list(db.session.scalars(projects)),
        "pipelines": list(db.session.scalars(select(Pipeline).order_by(Pipeline.position))),
        "groups": list(db.session.scalars(groups)),
        "managers": sorted(sales.sellers(db.session), key=lambda u: u.full_name)
        if access.sees_everything(current_user)
        else [],
    }


def _render(template: str, status: int, **context: Any) -> tuple[str, int]:
    return render_template(
        template,
        definitions=sales.DEFINITIONS,
        figures=sales.FIGURES,
        status_labels=STATUS_LABELS,
        result_labels=RESULT_LABELS,
        **context,
    ), status


@bp.route("/")
def index() -> str:
    led = access.led_projects(db.session, current_user)
    projects = []
    if access.sees_everything(current_user):
        projects = list(db.session.scalars(select(Project).order_by(Project.opening_date.desc())))
    elif led:
        projects = list(db.session.scalars(select(Project).where(Project.id.in_(led))))
    return render_template(
        "reports/index.html",
        sees_everything=access.sees_everything(current_user),
        is_seller=access.is_seller(current_user),
        projects=projects,
    )


def _manager_report() -> tuple[sales.PersonalReport, dict[str, str]]:
    f, errors = read_filter()
    manager_id = f.manager_id or current_user.id
    if not access.can_see_manager(current_user, manager_id):
        raise PermissionDenied(access.DENIED)
    user = db.session.get(User, manager_id)
    if user is None:
        abort(404)
    return sales.personal_report(db.session, user, f), errors


@bp.route("/manager")
def manager() -> tuple[str, int]:
    report, errors = _manager_report()
    return _render(
        "reports/manager.html",
        422 if errors else 200,
        report=report,
        f=report.filter,
        errors=errors,
        choices=_choices(),
        export_url=url_for("reports.manager_xlsx", **report.filter.args()),
        pdf_url=url_for("reports.manager_pdf", **report.filter.args()),
    )


@bp.route("/manager.xlsx")
def manager_xlsx() -> Response:
    report, _errors = _manager_report()
    return _xlsx(export.personal_xlsx(report), f"manager-{report.user.id}.xlsx")


def _department() -> tuple[sales.TeamReport, dict[str, str]]:
    if not access.can_see_department(current_user):
        raise PermissionDenied(access.DENIED)
    f, errors = read_filter()
    return sales.department_report(db.session, f), errors


@bp.route("/department")
def department() -> tuple[str, int]:
    report, errors = _department()
    return _render(
        "reports/team.html",
        422 if errors else 200,
        report=report,
        f=report.filter,
        errors=errors,
        choices=_choices(),
        form_url=url_for("reports.department"),
        export_url=url_for("reports.department_xlsx", **report.filter.args()),
        pdf_url=url_for("reports.department_pdf", **report.filter.args()),
    )


@bp.route("/department.xlsx")
def department_xlsx() -> Response:
    report, _errors = _department()
    return _xlsx(export.team_xlsx(report), "department.xlsx")


def _project(project_id: int) -> tuple[sales.TeamReport, dict[str, str]]:
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    if not access.can_see_project(db.session, current_user, project):
        raise PermissionDenied(access.DENIED)
    f, errors = read_filter()
    return sales.project_group_report(db.session, project, f), errors


@bp.route("/project/<int:project_id>")
def project(project_id: int) -> tuple[str, int]:
    report, errors = _project(project_id)
    return _render(
        "reports/team.html",
        422 if errors else 200,
        report=report,
        f=report.filter,
        errors=errors,
        choices=_choices(None if access.sees_everything(current_user) else [project_id]),
        form_url=url_for("reports.project", project_id=project_id),
        export_url=url_for("reports.project_xlsx", **report.filter.args()),
        pdf_url=url_for("reports.project_pdf", **report.filter.args()),
    )


@bp.route("/project/<int:project_id>.xlsx")
def project_xlsx(project_id: int) -> Response:
    report, _errors = _project(project_id)
    return _xlsx(export.team_xlsx(report), f"project-{project_id}.xlsx")


@bp.route("/records")
def records() -> tuple[str, int]:
    figure = request.args.get("figure", "")
    if figure not in sales.FIGURES:
        abort(404)
    f, errors = read_filter()
    f = access.scoped(db.session, current_user, f)
    fig = sales.FIGURES[figure]
    page = records_page(
        db.session, f, figure, page=parse_page(request.args.get("page")), per_page=PER_PAGE
    )
    return _render(
        "reports/records.html",
        422 if errors else 200,
        figure=fig,
        page=page,
        rows=page.items,
        total=page.total,
        f=f,
        errors=errors,
    )


def _xlsx(content: bytes, name: str) -> Response:
    import io

    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name)


def _funnel_context() -> dict[str, Any]:
    from erp_crm.reports import funnel as funnel_report

    f, errors = read_filter()
    led = (
        None
        if access.sees_everything(current_user)
        else access.led_projects(db.session, current_user)
    )
    if led is not None and not access.is_seller(current_user) and not led:
        raise PermissionDenied(access.DENIED)
    choices = _choices(led if led is not None and not access.is_seller(current_user) else None)
    project = db.session.get(Project, f.project_id) if f.project_id else None
    if project is None and choices["projects"]:
        project = choices["projects"][0]
    pipeline = db.session.get(Pipeline, f.pipeline_id) if f.pipeline_id else None
    if pipeline is None and choices["pipelines"]:
        pipeline = choices["pipelines"][0]
    context: dict[str, Any] = {"choices": choices, "errors": errors, "report": None}
    if project is None or pipeline is None:
        context["f"] = f
        return context
    f = access.scoped(db.session, current_user, f.with_(project_id=project.id))
    f = f.with_(pipeline_id=pipeline.id)
    report = funnel_report.funnel(db.session, project, pipeline, f)
    context.update(
        f=report.filter,
        report=report,
        leads=funnel_report.leads_by_source(db.session, report.filter),
        tasks=funnel_report.tasks_by_person(db.session, report.filter, _today()),
        funnel_definitions=funnel_report.DEFINITIONS,
    )
    return context


def _today():
    import datetime as dt

    from erp_crm.reports.filters import MOSCOW

    return dt.datetime.now(MOSCOW).date()


@bp.route("/funnel")
def funnel() -> tuple[str, int]:
    context = _funnel_context()
    return _render("reports/funnel.html", 422 if context["errors"] else 200, **context)


@bp.route("/market")
@require_permission(Perm.CLIENTS_VIEW)
def market() -> str:
    from erp_crm.reports import market as market_report

    f, _errors = read_filter()
    projects = list(db.session.scalars(select(Project).order_by(Project.opening_date.desc())))
    return render_template(
        "reports/market.html",
        report=market_report.market(db.session, f.group_id),
        f=f,
        choices={**_choices(), "projects": projects},
    )


@bp.route("/rebook/<int:project_id>")
@require_permission(Perm.CLIENTS_VIEW)
def rebook(project_id: int) -> str:
    from erp_crm.reports import market as market_report

    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    from erp_crm.reports.filters import parse_id

    previous_id = parse_id(request.args.get("previous_id"))
    previous = db.session.get(Project, previous_id) if previous_id else None
    if previous is None or previous.id == project.id:
        previous = market_report.previous_edition(db.session, project)
    others = list(
        db.session.scalars(
            select(Project).where(Project.id != project.id).order_by(Project.opening_date.desc())
        )
    )
    return render_template(
        "reports/rebook.html",
        project=project,
        previous=previous,
        others=others,
        report=market_report.rebook(db.session, project, previous) if previous else None,
        definition=market_report.REBOOK_DEFINITION,
    )


def _pdf(template: str, name: str, **context: Any) -> Response:
    import io

    from documents.render_html import render_pdf
    from erp_crm.db import utcnow

    html = render_template(
        template,
        columns=export.TEAM_COLUMNS,
        pct_columns={6, 18, 19},
        definitions=sales.DEFINITIONS,
        generated=utcnow(),
        **context,
    )
    return send_file(
        io.BytesIO(render_pdf(html)),
        mimetype="application/pdf",
        as_attachment=False,
        download_name=name,
    )


@bp.route("/department.pdf")
def department_pdf() -> Response:
    report, _errors = _department()
    return _pdf("reports/print_team.html", "department.pdf", report=report)


@bp.route("/project/<int:project_id>.pdf")
def project_pdf(project_id: int) -> Response:
    report, _errors = _project(project_id)
    return _pdf("reports/print_team.html", f"project-{project_id}.pdf", report=report)


@bp.route("/manager.pdf")
def manager_pdf() -> Response:
    report, _errors = _manager_report()
    return _pdf("reports/print_manager.html", f"manager-{report.user.id}.pdf", report=report)


@bp.route("/funnel.xlsx")
def funnel_xlsx() -> Response:
    context = _funnel_context()
    if context["report"] is None:
        abort(404)
    content = export.funnel_xlsx(context["report"], context["leads"], context["tasks"])
    return _xlsx(content, f"funnel-{context['report'].project.id}.xlsx")
