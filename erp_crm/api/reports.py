"""API: the sales reports as JSON, with the same filters and access rules as the pages.

Money and m² are JSON strings (no kopeck lost); percentages are strings with one decimal or null
when there is nothing to divide by.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.projects.models import Project
from erp_crm.reports import access, sales
from erp_crm.reports.filters import ReportFilter

TAG = "reports"
MAX_RECORDS = 1000

FILTERS = [
    {
        "name": "date_from",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "date_to",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "format": "date"},
    },
    *[
        {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}}
        for name in ("project_id", "pipeline_id", "manager_id", "group_id")
    ],
]
_VALUE = {"type": ["string", "integer", "number", "null"]}
ROW = {
    "type": "object",
    "properties": {
        "user_id": {"type": ["integer", "null"]},
        "name": {"type": "string"},
        "figures": {"type": "object", "additionalProperties": _VALUE},
    },
}
FILTER = {"type": "object", "additionalProperties": {"type": ["string", "integer"]}}
TEAM = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "filter": FILTER,
        "rows": {"type": "array", "items": ROW},
        "total": ROW,
        "definitions": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
PERSONAL = {
    "type": "object",
    "properties": {
        "filter": FILTER,
        "manager": ROW,
        "by_type": {"type": "array", "items": {"type": "object"}},
        "postponements": {"type": "array", "items": {"type": "object"}},
        "definitions": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _row(row: sales.Row) -> dict[str, Any]:
    return {"user_id": row.user_id, "name": row.name, "figures": row.as_dict()}


def _team(report: sales.TeamReport) -> Response:
    return jsonify(
        title=report.title,
        filter=report.filter.args(),
        rows=[_row(r) for r in report.rows],
        total=_row(report.total),
        definitions=sales.DEFINITIONS,
    )


@api_route(
    "/reports/manager",
    "GET",
    summary="Персональный отчёт менеджера (без manager_id — свой)",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=FILTERS,
    response_schema=PERSONAL,
)
def manager_report() -> Response:
    user = api_user()
    f = ReportFilter.from_args(request.args)
    manager_id = f.manager_id or user.id
    if not access.can_see_manager(user, manager_id):
        raise PermissionDenied(access.DENIED)
    manager = db.session.get(User, manager_id)
    if manager is None:
        raise NotFound("Менеджер не найден.")
    report = sales.personal_report(db.session, manager, f)
    return jsonify(
        filter=report.filter.args(),
        manager=_row(report.row),
        by_type=[
            {
                "type_id": t.type_id,
                "name": t.name,
                **t.counts,
                "effectiveness_pct": None if t.effectiveness is None else str(t.effectiveness),
            }
            for t in report.by_type
        ],
        postponements=[
            {
                "client_id": p.client_id,
                "client": p.client,
                "project_id": p.project_id,
                "project": p.project,
                "postponed": p.postponed,
            }
            for p in report.pairs
        ],
        definitions=sales.DEFINITIONS,
    )


@api_route(
    "/reports/department",
    "GET",
    summary="Отчёт отдела продаж: строка на менеджера и итог (сумма строк)",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=FILTERS,
    response_schema=TEAM,
)
def department_report() -> Response:
    if not access.can_see_department(api_user()):
        raise PermissionDenied(access.DENIED)
    return _team(sales.department_report(db.session, ReportFilter.from_args(request.args)))


@api_route(
    "/reports/projects/<int:project_id>",
    "GET",
    summary="Отчёт группы менеджеров проекта",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=FILTERS,
    response_schema=TEAM,
)
def project_group_report(project_id: int) -> Response:
    project = db.session.get(Project, project_id)
    if project is None:
        raise NotFound("Проект не найден.")
    if not access.can_see_project(db.session, api_user(), project):
        raise PermissionDenied(access.DENIED)
    f = ReportFilter.from_args(request.args)
    return _team(sales.project_group_report(db.session, project, f))


@api_route(
    "/reports/records",
    "GET",
    summary="Записи за показателем отчёта (контакты, сделки или оценки), до 1000",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=[
        {
            "name": "figure",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": list(sales.FIGURES)},
        },
        *FILTERS,
        {"name": "client_id", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "type_id", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    response_schema={
        "type": "object",
        "properties": {
            "figure": {"type": "string"},
            "kind": {"type": "string", "enum": ["activity", "deal", "rating"]},
            "total": {"type": "integer"},
            "ids": {"type": "array", "items": {"type": "integer"}},
        },
    },
)
def report_records() -> Response:
    figure = request.args.get("figure", "")
    if figure not in sales.FIGURES:
        raise ValidationError(fields={"figure": "Такого показателя в отчётах нет."})
    f = access.scoped(db.session, api_user(), ReportFilter.from_args(request.args))
    query = sales.records_query(f, figure).limit(MAX_RECORDS)
    ids = [r.id for r in db.session.scalars(query)]
    return jsonify(
        figure=figure,
        kind=sales.FIGURES[figure].kind,
        total=sales.count_records(db.session, f, figure),
        ids=ids,
    )


@api_route(
    "/reports/funnel",
    "GET",
    summary="Воронка проекта по журналу переходов, прогноз, причины отказов, м²",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=[
        {"name": "project_id", "in": "query", "required": True, "schema": {"type": "integer"}},
        {"name": "pipeline_id", "in": "query", "required": True, "schema": {"type": "integer"}},
        *[q for q in FILTERS if q["name"] not in ("project_id", "pipeline_id")],
    ],
    response_schema={"type": "object"},
)
def funnel_report() -> Response:
    from erp_crm.deals.models import Pipeline
    from erp_crm.reports import funnel

    f = ReportFilter.from_args(request.args)
    project = db.session.get(Project, f.project_id) if f.project_id else None
    pipeline = db.session.get(Pipeline, f.pipeline_id) if f.pipeline_id else None
    if project is None or pipeline is None:
        raise ValidationError(
            fields={"project_id": "Укажите проект и воронку (project_id, pipeline_id)."}
        )
    f = access.scoped(db.session, api_user(), f)
    report = funnel.funnel(db.session, project, pipeline, f)

    def s(value: Any) -> Any:
        return None if value is None else str(value)

    return jsonify(
        filter=report.filter.args(),
        stages=[
            {
                "stage_id": r.stage.id,
                "name": r.stage.name,
                "percent": r.stage.percent,
                "reached": r.reached,
                "current": r.current,
                "lost_here": r.lost_here,
                "conversion_pct": s(r.conversion),
                "drop_off": r.drop_off,
                "median_days": s(r.median_days),
            }
            for r in report.stages
        ],
        deals=report.deals,
        won=report.won,
        lost=report.lost,
        open=report.open,
        avg_sale_days=s(report.avg_sale_days),
        velocity=s(report.velocity),
        lost_reasons=[
            {**r, "area_m2": s(r["area_m2"]), "amount": s(r["amount"])} for r in report.lost_reasons
        ],
        lost_amount=s(report.lost_amount),
        stuck_deal_ids=[d.id for d in report.stuck],
        area={k: s(v) for k, v in report.area.items()},
        forecast=[
            {k: s(v) if k != "deals" and k != "month" else v for k, v in m.items()}
            for m in report.forecast
        ],
        definitions=funnel.DEFINITIONS,
    )
