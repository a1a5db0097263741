"""The activities API: contacts with filters, planning, completing with the formalized result,
cancelling; the catalogs. Requests forwarded to colleagues are activities_tasks.py, the clients'
ratings activities_ratings.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm.activities import access, results, services
from erp_crm.activities.models import (
    RESULT_LABELS,
    Activity,
    ActivityReason,
    ActivityType,
    Status,
)
from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db, utcnow
from erp_crm.errors import NotFound, PermissionDenied, ValidationError

_INT = {"type": ["integer", "null"]}
_STR = {"type": ["string", "null"]}
ACTIVITY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "type_id": {"type": "integer"},
        "type": {"type": "string"},
        "goal": {"type": "string"},
        "client_id": {"type": "integer"},
        "client": {"type": "string"},
        "contact_id": _INT,
        "deal_id": _INT,
        "project_id": _INT,
        "responsible_id": {"type": "integer"},
        "starts_at": {"type": "string", "format": "date-time"},
        "duration_minutes": {"type": "integer"},
        "reminders": {"type": "array", "items": {"type": "integer"}},
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "overdue": {"type": "boolean"},
        "result_kind": {"type": ["string", "null"], "enum": [*RESULT_LABELS, None]},
        "result_text": _STR,
        "next_activity_id": _INT,
    },
}
PLAN_REQUEST = {
    "type": "object",
    "required": ["type_id", "goal", "client_id", "starts_at"],
    "description": "starts_at без часового пояса — по часам ответственного (Europe/Moscow…).",
    "properties": {
        "type_id": {"type": "integer"},
        "goal": {"type": "string", "maxLength": 500},
        "client_id": {"type": "integer"},
        "contact_id": _INT,
        "deal_id": _INT,
        "project_id": _INT,
        "responsible_id": _INT,
        "starts_at": {"type": "string", "format": "date-time"},
        "duration_minutes": _INT,
        "reminders": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    },
}
RESULT_REQUEST = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": list(RESULT_LABELS)},
        "text": _STR,
        "reason_id": {**_INT, "description": "перенос, отказ от посещения"},
        "lost_reason_id": {**_INT, "description": "отказ от участия"},
        "postponed_to": {"type": ["string", "null"], "format": "date-time"},
        "deal_id": {**_INT, "description": "продажа"},
        "visitors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["full_name"],
                "properties": {"full_name": {"type": "string"}, "position": _STR, "contact": _STR},
            },
        },
        "rating": {
            "type": ["object", "null"],
            "properties": {
                "manager_score": {"type": "integer", "minimum": 1, "maximum": 5},
                "project_score": {"type": "integer", "minimum": 1, "maximum": 5},
                "company_score": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": _STR,
            },
        },
    },
}
_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    for name, kind in [
        ("responsible_id", "integer"),
        ("client_id", "integer"),
        ("deal_id", "integer"),
        ("project_id", "integer"),
        ("status", "string"),
        ("overdue", "boolean"),
        ("from", "string"),
        ("to", "string"),
        ("page", "integer"),
        ("per_page", "integer"),
    ]
]


def activity_dict(activity: Activity, now: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "id": activity.id,
        "type_id": activity.type_id,
        "type": activity.type.name,
        "goal": activity.goal,
        "client_id": activity.client_id,
        "client": activity.client.name,
        "contact_id": activity.contact_id,
        "deal_id": activity.deal_id,
        "project_id": activity.project_id,
        "responsible_id": activity.responsible_id,
        "starts_at": activity.starts_at.isoformat(),
        "duration_minutes": activity.duration_minutes,
        "reminders": list(activity.reminders or []),
        "status": activity.status,
        "overdue": activity.is_overdue(now),
        "result_kind": activity.result_kind,
        "result_text": activity.result_text,
        "next_activity_id": activity.next_activity_id,
    }


def _get(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise NotFound("Контакт не найден.")
    return activity


def arg_int(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise ValidationError(fields={name: "Ожидается номер записи."})
    return int(raw)


def _arg_moment(name: str) -> dt.datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(fields={name: "Дата и время в формате ISO 8601."}) from None
    return services.to_utc(moment, api_user())


@api_route(
    "/activities",
    "GET",
    summary="Контакты: фильтры (ответственный, клиент, сделка, проект, статус, просрочен, период)",
    tag="activities",
    perm=Perm.ACTIVITIES_VIEW,
    query=_FILTERS,
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ACTIVITY},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    },
)
def list_activities() -> Response:
    now = utcnow()
    query = select(Activity).order_by(Activity.starts_at, Activity.id)
    for name in ("responsible_id", "client_id", "deal_id", "project_id"):
        value = arg_int(name)
        if value is not None:
            query = query.where(getattr(Activity, name) == value)
    status = request.args.get("status")
    if status:
        if status not in {s.value for s in Status}:
            raise ValidationError(fields={"status": "planned, done или cancelled."})
        query = query.where(Activity.status == status)
    if request.args.get("overdue") in ("1", "true"):
        query = query.where(Activity.status == Status.PLANNED.value, Activity.starts_at < now)
    start, end = _arg_moment("from"), _arg_moment("to")
    if start:
        query = query.where(Activity.starts_at >= start)
    if end:
        query = query.where(Activity.starts_at < end)
    per_page = min(max(parse_page(request.args.get("per_page") or 50), 1), 500)
    page = paginate(db.session, query, page=parse_page(request.args.get("page")), per_page=per_page)
    return jsonify(
        items=[activity_dict(a, now) for a in page.items],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@api_route(
    "/activities",
    "POST",
    summary="Запланировать контакт",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema=PLAN_REQUEST,
    response_schema=ACTIVITY,
    status=201,
)
def plan_activity() -> tuple[Response, int]:
    data = services.ActivityData.from_mapping(json_body())
    activity = services.plan(db.session, data, actor=api_user())
    return jsonify(activity_dict(activity)), 201


@api_route(
    "/activities/<int:activity_id>",
    "GET",
    summary="Контакт",
    tag="activities",
    perm=Perm.ACTIVITIES_VIEW,
    response_schema=ACTIVITY,
)
def get_activity(activity_id: int) -> Response:
    return jsonify(activity_dict(_get(activity_id)))


@api_route(
    "/activities/<int:activity_id>",
    "PATCH",
    summary="Изменить план контакта (запланированного); неуказанные поля не меняются",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema={**PLAN_REQUEST, "required": []},
    response_schema=ACTIVITY,
)
def update_activity(activity_id: int) -> Response:
    activity = _get(activity_id)
    body = json_body()
    current = {
        "type_id": activity.type_id,
        "goal": activity.goal,
        "client_id": activity.client_id,
        "contact_id": activity.contact_id,
        "deal_id": activity.deal_id,
        "project_id": activity.project_id,
        "responsible_id": activity.responsible_id,
        "starts_at": activity.starts_at,
        "duration_minutes": activity.duration_minutes,
        "reminders": activity.reminders or [],
    }
    data = services.ActivityData.from_mapping({**current, **body})
    services.update_plan(db.session, activity, data, actor=api_user())
    return jsonify(activity_dict(activity))


@api_route(
    "/activities/<int:activity_id>/complete",
    "POST",
    summary="Выполнить контакт с формализованным результатом (и его последствием)",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema=RESULT_REQUEST,
    response_schema={
        "type": "object",
        "properties": {"activity": ACTIVITY, "next_activity": {"type": ["object", "null"]}},
    },
)
def complete_activity(activity_id: int) -> Response:
    activity = _get(activity_id)
    if not access.can_work_activity(api_user(), activity):
        raise PermissionDenied("Контакт ведёт другой менеджер.")
    result = results.ResultData.from_mapping(json_body())
    following = results.complete(db.session, activity, result, actor=api_user())
    return jsonify(
        activity=activity_dict(activity),
        next_activity=activity_dict(following) if following else None,
    )


@api_route(
    "/activities/<int:activity_id>/cancel",
    "POST",
    summary="Отменить запланированный контакт",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema={"type": "object", "properties": {"note": _STR}},
    response_schema=ACTIVITY,
)
def cancel_activity(activity_id: int) -> Response:
    activity = _get(activity_id)
    # the body is optional; one that is not a JSON object is a 400 (json_body), not a 500
    body = json_body() if request.get_json(silent=True) is not None else {}
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise ValidationError(fields={"note": "Комментарий — строка текста."})
    services.cancel(db.session, activity, actor=api_user(), note=note)
    return jsonify(activity_dict(activity))


@api_route(
    "/activity-types",
    "GET",
    summary="Справочники контактов: типы, причины переноса и отказа от посещения, результаты",
    tag="activities",
    perm=Perm.ACTIVITIES_VIEW,
)
def activity_catalogs() -> Response:
    return jsonify(
        types=[
            {"id": t.id, "code": t.code, "name": t.name, "default_minutes": t.default_minutes}
            for t in services.active_types(db.session)
        ],
        reasons=[
            {"id": r.id, "kind": r.kind, "name": r.name}
            for r in db.session.scalars(
                select(ActivityReason).where(ActivityReason.is_active.is_(True))
            )
        ],
        results=[{"kind": k, "name": v} for k, v in RESULT_LABELS.items()],
        inactive_types=[
            t.id
            for t in db.session.scalars(
                select(ActivityType).where(ActivityType.is_active.is_(False))
            )
        ],
    )
