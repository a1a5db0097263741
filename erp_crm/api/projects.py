"""API: exhibition projects, their stands, and stand holds (same services and rules as the pages).

Decimal values (areas, metres, money) are JSON strings, so no kopeck or centimetre is lost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import booking
from erp_crm.projects import services, stands
from erp_crm.projects import stand_services as ss
from erp_crm.projects.models import ProjectStatus, Stand, StandPosition, StandStatus, StandType

TAG = "projects"
_STR = {"type": ["string", "null"]}
_DATE = {"type": ["string", "null"], "format": "date"}
_DECIMAL = {"type": "string", "description": 'число с двумя знаками, например "18.00"'}
_DECIMAL_IN = {"type": ["string", "number"]}

PROJECT_FIELDS = {
    "name": {"type": "string"},
    "code": {"type": "string"},
    "venue": _STR,
    "city": _STR,
    "build_up_date": _DATE,
    "opening_date": {"type": "string", "format": "date"},
    "closing_date": {"type": "string", "format": "date"},
    "dismantling_date": _DATE,
    "status": {"type": "string", "enum": [s.value for s in ProjectStatus]},
    "description": _STR,
    "project_manager_id": {"type": ["integer", "null"]},
    "member_ids": {"type": "array", "items": {"type": "integer"}},
}
HALL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "width_m": _DECIMAL,
        "depth_m": _DECIMAL,
    },
}
PROJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        **PROJECT_FIELDS,
        "registration_fee": _DECIMAL,
        "default_vat_rate": {"type": "string"},
        "registration_vat_mode": {
            "type": "string",
            "enum": ["included", "on_top"],
            "description": "included — сбор с НДС («НДС в т.ч.»); on_top — без НДС, НДС сверху",
        },
        "halls": {"type": "array", "items": HALL},
    },
}
STAND_FIELDS = {
    "hall_id": {"type": "integer"},
    "number": {"type": "string"},
    "area_m2": {**_DECIMAL_IN, "description": "по умолчанию — ширина × глубина"},
    "stand_type": {"type": "string", "enum": [t.value for t in StandType]},
    "position": {"type": "string", "enum": [p.value for p in StandPosition]},
    "x_m": _DECIMAL_IN,
    "y_m": _DECIMAL_IN,
    "width_m": _DECIMAL_IN,
    "depth_m": _DECIMAL_IN,
}
STAND = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "hall_id": {"type": "integer"},
        "hall": {"type": "string"},
        "number": {"type": "string"},
        "area_m2": _DECIMAL,
        "stand_type": {"type": "string"},
        "position": {"type": "string"},
        "x_m": _DECIMAL,
        "y_m": _DECIMAL,
        "width_m": _DECIMAL,
        "depth_m": _DECIMAL,
        "status": {
            "type": "string",
            "enum": [s.value for s in StandStatus],
            "description": "действующий статус: истёкшая бронь — free",
        },
        "deal_id": {"type": ["integer", "null"]},
        "reserved_until": {"type": ["string", "null"], "format": "date-time"},
        "is_active": {"type": "boolean"},
    },
}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def project_dict(project) -> dict:
    return {
        "id": project.id,
        "name": project.name,
        "code": project.code,
        "venue": project.venue,
        "city": project.city,
        "build_up_date": _d(project.build_up_date),
        "opening_date": _d(project.opening_date),
        "closing_date": _d(project.closing_date),
        "dismantling_date": _d(project.dismantling_date),
        "status": project.status,
        "description": project.description,
        "project_manager_id": project.project_manager_id,
        "member_ids": sorted(m.user_id for m in project.members),
        "registration_fee": _s(project.registration_fee),
        "default_vat_rate": project.default_vat_rate,
        "registration_vat_mode": project.registration_vat_mode,
        "halls": [
            {"id": h.id, "name": h.name, "width_m": _s(h.width_m), "depth_m": _s(h.depth_m)}
            for h in project.halls
        ],
    }


def stand_dict(stand: Stand) -> dict:
    status = stands.effective_status(stand)
    return {
        "id": stand.id,
        "project_id": stand.project_id,
        "hall_id": stand.hall_id,
        "hall": stand.hall.name,
        "number": stand.number,
        "area_m2": _s(stand.area_m2),
        "stand_type": stand.stand_type,
        "position": stand.position,
        "x_m": _s(stand.x_m),
        "y_m": _s(stand.y_m),
        "width_m": _s(stand.width_m),
        "depth_m": _s(stand.depth_m),
        "status": status,
        "deal_id": stands.effective_deal_id(stand),
        "reserved_until": _d(stand.reserved_until) if status == "reserved" else None,
        "is_active": stand.is_active,
    }


@api_route(
    "/projects",
    "GET",
    summary="Выставочные проекты",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    query=[{"name": "status", "in": "query", "required": False, "schema": {"type": "string"}}],
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": PROJECT}},
    },
)
def list_projects() -> Response:
    projects = services.list_projects(db.session, status=request.args.get("status") or None)
    return jsonify(items=[project_dict(p) for p in projects])


@api_route(
    "/projects",
    "POST",
    summary="Создать выставочный проект",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["name", "code", "opening_date", "closing_date"],
        "properties": PROJECT_FIELDS,
    },
    response_schema=PROJECT,
    status=201,
)
def create_project() -> tuple[Response, int]:
    data = services.ProjectData.from_mapping(json_body())
    project = services.create_project(db.session, data, actor=api_user())
    return jsonify(project_dict(project)), 201


@api_route(
    "/projects/<int:project_id>",
    "GET",
    summary="Выставочный проект",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema=PROJECT,
)
def get_project(project_id: int) -> Response:
    return jsonify(project_dict(services.get_project(db.session, project_id)))


@api_route(
    "/projects/<int:project_id>",
    "PATCH",
    summary="Изменить выставочный проект (поля, которых нет в запросе, не меняются)",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={"type": "object", "properties": PROJECT_FIELDS},
    response_schema=PROJECT,
)
def update_project(project_id: int) -> Response:
    project = services.get_project(db.session, project_id)
    data = services.ProjectData.from_model(project).merged_with(json_body())
    services.update_project(db.session, project, data, actor=api_user())
    return jsonify(project_dict(project))


@api_route(
    "/projects/<int:project_id>/stands",
    "GET",
    summary="Стенды проекта с действующим статусом",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    query=[
        {"name": "hall_id", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "status", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "number", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "per_page", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": STAND},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    },
)
def list_stands(project_id: int) -> Response:
    project = services.get_project(db.session, project_id)
    hall_id = request.args.get("hall_id", type=int)
    per_page = min(max(parse_page(request.args.get("per_page") or 500), 1), 1000)
    page = paginate(
        db.session,
        ss.stand_query(
            project.id,
            hall_id=hall_id,
            status=request.args.get("status") or None,
            number=request.args.get("number") or None,
        ),
        page=parse_page(request.args.get("page")),
        per_page=per_page,
    )
    return jsonify(
        items=[stand_dict(s) for s in page.items],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@api_route(
    "/projects/<int:project_id>/stands",
    "POST",
    summary="Добавить стенд",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["hall_id", "number", "x_m", "y_m", "width_m", "depth_m"],
        "properties": STAND_FIELDS,
    },
    response_schema=STAND,
    status=201,
)
def create_stand(project_id: int) -> tuple[Response, int]:
    project = services.get_project(db.session, project_id)
    stand = ss.create_stand(
        db.session, project, ss.StandData.from_mapping(json_body()), actor=api_user()
    )
    return jsonify(stand_dict(stand)), 201


@api_route(
    "/stands/<int:stand_id>",
    "GET",
    summary="Стенд с действующим статусом",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema=STAND,
)
def get_stand(stand_id: int) -> Response:
    return jsonify(stand_dict(ss.get_stand(db.session, stand_id)))


@api_route(
    "/stands/<int:stand_id>",
    "PATCH",
    summary="Изменить стенд (у занятого — не зал, площадь, тип и расположение); "
    "is_active: false — снять свободный стенд с продажи",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={
        "type": "object",
        "properties": {**STAND_FIELDS, "is_active": {"type": "boolean"}},
    },
    response_schema=STAND,
)
def update_stand(stand_id: int) -> Response:
    stand = ss.get_stand(db.session, stand_id)
    body = json_body()
    changes = {k: val for k, val in body.items() if k in STAND_FIELDS}
    if changes:
        data = ss.StandData.from_model(stand).merged_with(changes)
        stand = ss.update_stand(db.session, stand, data, actor=api_user())
    if "is_active" in body and body["is_active"] != stand.is_active:
        stand = ss.set_stand_active(db.session, stand, body["is_active"], actor=api_user())
    return jsonify(stand_dict(stand))


@api_route(
    "/stands/<int:stand_id>/reserve",
    "POST",
    summary="Забронировать стенд для сделки (409, если стенд занят)",
    tag=TAG,
    perm=Perm.DEALS_WORK,
    request_schema={
        "type": "object",
        "required": ["deal_id"],
        "properties": {
            "deal_id": {"type": "integer"},
            "until": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "конец брони, ISO 8601 с часовым поясом; по умолчанию +7 дней",
            },
        },
    },
    response_schema=STAND,
)
def reserve_stand(stand_id: int) -> Response:
    body = json_body()
    stand = ss.get_stand(db.session, stand_id)
    stand = booking.reserve_for_deal(
        db.session,
        stand.id,
        body.get("deal_id"),
        until=ss.parse_until(body.get("until")),
        actor=api_user(),
    )
    return jsonify(stand_dict(stand))


@api_route(
    "/stands/<int:stand_id>/release",
    "POST",
    summary="Снять бронь стенда (проданный стенд освобождается проигрышем сделки)",
    tag=TAG,
    perm=Perm.DEALS_WORK,
    response_schema=STAND,
)
def release_stand(stand_id: int) -> Response:
    stand = booking.release_by(db.session, stand_id, actor=api_user())
    return jsonify(stand_dict(stand))
