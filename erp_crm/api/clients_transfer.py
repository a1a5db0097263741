"""API: import of client files (synchronous; for big files use the import pages)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import BadRequest, api_route, api_user
from erp_crm.auth.permissions import Perm
from erp_crm.clients import importing
from erp_crm.db import db

_FIELDS = ", ".join(importing.FIELD_LABELS)

IMPORT_REQUEST = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV (UTF-8 с BOM или без, Windows-1251; разделитель «;», «,» или "
            "табуляция) или XLSX; в первой строке — заголовки столбцов.",
        },
        "mapping": {
            "type": "string",
            "description": "JSON-объект {заголовок столбца или его номер с 0: поле}; дополняет "
            "автоматическое сопоставление по заголовкам, пустое поле — не загружать столбец. "
            "Столбец, которого нет в файле, — ошибка 422, как на странице импорта. "
            f"Поля: {_FIELDS}.",
            "examples": ['{"Организация": "name", "3": "inn", "Комментарий": ""}'],
        },
        "dry_run": {
            "type": "string",
            "enum": ["true", "false"],
            "default": "true",
            "description": "true — только проверить и показать, что будет сделано.",
        },
    },
}
IMPORT_REPORT = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "total": {"type": "integer"},
        "created": {"type": "integer"},
        "updated": {"type": "integer"},
        "rejected": {"type": "integer"},
        "rows": {
            "type": "array",
            "description": f"Все отклонённые строки и созданные/обновлённые из первых "
            f"{importing.REPORT_DETAIL_ROWS} строк.",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer", "description": "Номер строки в файле"},
                    "action": {"type": "string", "enum": ["create", "update", "reject"]},
                    "client_id": {"type": ["integer", "null"]},
                    "name": {"type": ["string", "null"]},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
    },
}


def _dry_run(value: str | None) -> bool:
    if value is None or value.strip() == "":
        return True
    flag = value.strip().lower()
    if flag in ("true", "1", "yes", "on"):
        return True
    if flag in ("false", "0", "no", "off"):
        return False
    raise BadRequest("dry_run: true или false.")


def _mapping(value: str | None) -> dict | None:
    if not value or not value.strip():
        return None
    try:
        mapping = json.loads(value)
    except ValueError as err:
        raise BadRequest("mapping: ожидается JSON-объект {столбец: поле}.") from err
    if not isinstance(mapping, dict):
        raise BadRequest("mapping: ожидается JSON-объект {столбец: поле}.")
    return mapping


@api_route(
    "/clients/import",
    "POST",
    summary="Импорт контрагентов из файла CSV или XLSX (по умолчанию — пробный прогон)",
    tag="clients",
    perm=Perm.CLIENTS_IMPORT,
    multipart=IMPORT_REQUEST,
    response_schema=IMPORT_REPORT,
)
def import_clients() -> Response:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Приложите файл в поле file (multipart/form-data).")
    dry_run = _dry_run(request.form.get("dry_run"))
    mapping = _mapping(request.form.get("mapping"))
    handle, name = tempfile.mkstemp(prefix="client-import-", suffix=Path(upload.filename).suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            upload.save(out)
        report = importing.import_file(
            db.session,
            Path(name),
            upload.filename,
            overrides=mapping,
            dry_run=dry_run,
            actor=api_user(),
        )
    finally:
        Path(name).unlink(missing_ok=True)
    return jsonify(report)
