"""API: duplicate candidates and merging."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import BadRequest, api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.clients import dedupe, services
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError

PAIR = {
    "type": "object",
    "properties": {
        "client_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}
PAIRS = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": PAIR},
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}
MERGE_REQUEST = {
    "type": "object",
    "required": ["duplicate_id"],
    "properties": {"duplicate_id": {"type": "integer"}},
}
SURVIVOR = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "inn": {"type": ["string", "null"]},
        "kpp": {"type": ["string", "null"]},
        "merged_ids": {"type": "array", "items": {"type": "integer"}},
        "moved": {
            "type": "object",
            "properties": {
                "contact_ids": {"type": "array", "items": {"type": "integer"}},
                "group_ids": {"type": "array", "items": {"type": "integer"}},
                "participation_ids": {"type": "array", "items": {"type": "integer"}},
                "filled": {"type": "object"},
                "records": {
                    "type": "object",
                    "description": "Other records moved to the survivor, by table and column: "
                    '{"deals.client_id": [5, 58], "documents.client_id": [1, 2]}',
                    "additionalProperties": {"type": "array"},
                },
            },
        },
    },
}


def _query_int(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Параметр {name} — целое число.") from None
    if value < low or (high is not None and value > high):
        bounds = f"от {low} до {high}" if high is not None else f"не меньше {low}"
        raise BadRequest(f"Параметр {name}: {bounds}.")
    return value


@api_route(
    "/clients/duplicates",
    "GET",
    summary="Возможные дубли контрагентов (пары со сходством и причинами)",
    tag="clients",
    perm=Perm.CLIENTS_MERGE,
    response_schema=PAIRS,
    query=[
        {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0}},
        {
            "name": "min_score",
            "in": "query",
            "schema": {"type": "integer", "default": dedupe.DEFAULT_MIN_SCORE},
        },
    ],
)
def client_duplicates_list() -> Response:
    result = dedupe.candidate_pairs(
        db.session,
        limit=_query_int("limit", 50, 1, 500),
        offset=_query_int("offset", 0, 0, None),
        min_score=_query_int("min_score", dedupe.DEFAULT_MIN_SCORE, 0, 100),
    )
    return jsonify(
        items=[
            {"client_ids": list(p.client_ids), "score": p.score, "reasons": p.reasons}
            for p in result.items
        ],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


@api_route(
    "/clients/<int:client_id>/merge",
    "POST",
    summary="Объединить дубль с контрагентом (контрагент из пути остаётся)",
    tag="clients",
    perm=Perm.CLIENTS_MERGE,
    request_schema=MERGE_REQUEST,
    response_schema=SURVIVOR,
)
def client_duplicates_merge(client_id: int) -> Response:
    survivor = services.get_client(db.session, client_id)
    raw = json_body().get("duplicate_id")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationError(fields={"duplicate_id": "Укажите номер дубля — целое число."})
    try:
        duplicate = services.get_client(db.session, raw)
    except NotFound:
        raise ValidationError(fields={"duplicate_id": f"Контрагент № {raw} не найден."}) from None
    result = dedupe.merge_clients(db.session, survivor, duplicate, actor=api_user())
    return jsonify(
        id=survivor.id,
        name=survivor.name,
        inn=survivor.inn,
        kpp=survivor.kpp,
        merged_ids=dedupe.merged_ids(db.session, survivor),
        moved={
            "contact_ids": result.contact_ids,
            "group_ids": result.group_ids,
            "participation_ids": result.participation_ids,
            "filled": result.filled,
            "records": result.moved,
        },
    )
