"""The activities API: the clients' ratings of the manager, the project and the company."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from erp_crm.activities import results, services
from erp_crm.activities.models import Rating
from erp_crm.api.activities import arg_int
from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client
from erp_crm.db import db
from erp_crm.deals.models import Deal
from erp_crm.errors import ValidationError

_INT = {"type": ["integer", "null"]}
_STR = {"type": ["string", "null"]}
RATING = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "deal_id": _INT,
        "activity_id": _INT,
        "manager_id": _INT,
        "manager_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "project_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "company_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "comment": _STR,
        "recorded_at": {"type": "string", "format": "date-time"},
    },
}
RATING_REQUEST = {
    "type": "object",
    "required": ["manager_score", "project_score", "company_score"],
    "description": "Оценка клиентом: по сделке (deal_id) или по контрагенту (client_id).",
    "properties": {
        "client_id": _INT,
        "deal_id": _INT,
        "manager_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "project_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "company_score": {"type": "integer", "minimum": 1, "maximum": 5},
        "comment": _STR,
    },
}


def rating_dict(rating: Rating) -> dict[str, Any]:
    return {
        "id": rating.id,
        "client_id": rating.client_id,
        "deal_id": rating.deal_id,
        "activity_id": rating.activity_id,
        "manager_id": rating.manager_id,
        "manager_score": rating.manager_score,
        "project_score": rating.project_score,
        "company_score": rating.company_score,
        "comment": rating.comment,
        "recorded_at": rating.recorded_at.isoformat(),
    }


@api_route(
    "/ratings",
    "GET",
    summary="Оценки клиентов (фильтры client_id, deal_id)",
    tag="activities",
    query=[
        {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}}
        for name in ("client_id", "deal_id")
    ],
    response_schema={"type": "object", "properties": {"items": {"type": "array", "items": RATING}}},
)
def list_ratings() -> Response:
    found = results.ratings_of(
        db.session, client_id=arg_int("client_id"), deal_id=arg_int("deal_id")
    )
    return jsonify(items=[rating_dict(r) for r in found])


@api_route(
    "/ratings",
    "POST",
    summary="Записать оценку клиентом (менеджер, проект, компания — 1…5)",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema=RATING_REQUEST,
    response_schema=RATING,
    status=201,
)
def rate() -> tuple[Response, int]:
    body = json_body()
    errors: dict[str, str] = {}
    deal_id = services.parse_int(body.get("deal_id"), "deal_id", errors)
    client_id = services.parse_int(body.get("client_id"), "client_id", errors)
    if errors:
        raise ValidationError(fields=errors)
    deal = db.session.get(Deal, deal_id) if deal_id is not None else None
    if deal_id is not None and deal is None:
        raise ValidationError(fields={"deal_id": "Сделка не найдена."})
    client = (
        deal.client
        if deal is not None
        else (db.session.get(Client, client_id) if client_id is not None else None)
    )
    if client is None:
        raise ValidationError(fields={"client_id": "Укажите сделку или контрагента."})
    data = results.RatingData.from_mapping(body)
    rating = results.rate(db.session, client, data, actor=api_user(), deal=deal)
    return jsonify(rating_dict(rating)), 201
