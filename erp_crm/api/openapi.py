"""The OpenAPI 3.1 document, built from the `api_route` declarations."""

from __future__ import annotations

import re

from flask import jsonify
from werkzeug.wrappers import Response

from erp_crm.api.routing import OPERATIONS, Operation, api_route
from erp_crm.db import MAX_ID

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
_ERROR_STATUSES = {
    "400": "Некорректный запрос",
    "401": "Нет или неверный токен",
    "403": "Недостаточно прав",
    "404": "Не найдено",
    "409": "Конфликт",
    "422": "Ошибки в полях",
    "429": "Слишком много запросов",
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for conv, args, name in re.findall(_RULE_PART, rule):
        schema: dict = (
            {"type": "integer", "minimum": 0, "maximum": MAX_ID}  # RecordIdConverter: else 404
            if conv == "int"
            else {"type": "string"}
        )
        if conv == "any":  # <any(accept, done, return):action>
            schema["enum"] = [a.strip() for a in args.split(",")]
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(_RULE_PART, r"{\3}", rule), params


_RULE_PART = r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>"


def _operation(op: Operation) -> dict:
    _, params = _path(op.rule)
    doc: dict = {
        "operationId": op.endpoint.removeprefix("api."),
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params + op.query,
        "responses": {
            str(op.status): {
                "description": "OK",
                "content": {
                    "application/json": {"schema": op.response_schema or {"type": "object"}}
                },
            },
            **{
                code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                for code, text in _ERROR_STATUSES.items()
            },
        },
    }
    if op.public:
        doc["security"] = []
    if op.request_schema is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.request_schema}},
        }
    if op.multipart is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": op.multipart}},
        }
    return doc


def build_document() -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path, _ = _path(op.rule)
        paths.setdefault("/api/v1" + path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ERP-CRM выставочной компании — API",
            "version": "1",
            "description": "Токен: POST /api/v1/auth/token, затем заголовок Authorization: Bearer.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


@api_route("/openapi.json", "GET", summary="Этот документ OpenAPI", tag="meta", public=True)
def openapi_document() -> Response:
    return jsonify(build_document())
