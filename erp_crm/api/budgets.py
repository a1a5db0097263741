"""API: project budgets — the articles, a project's versions, a draft's lines, approval, and the
actuals reported by accounting; the same services as the budget pages (budgets.services), so a
draft is the only version that changes and an approval is queued for accounting.

Amounts are JSON strings in answers; months are «YYYY-MM». Reading needs budgets.view, changes
budgets.manage (the project manager and the admin).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.budgets import articles as catalog
from erp_crm.budgets import services
from erp_crm.budgets.models import BudgetArticle, BudgetVersion, VersionStatus
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.projects import plans
from erp_crm.projects import services as projects

TAG = "budgets"
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")
_MONTH_SCHEMA = {"type": "string", "description": "месяц «YYYY-MM» (или первое число «YYYY-MM-01»)"}
_AMOUNT = {"type": "string", "description": 'сумма с двумя знаками, например "15000.00"'}
ARTICLE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "name": {"type": "string"},
        "direction": {"type": "string", "enum": ["income", "expense"]},
        "is_active": {"type": "boolean"},
    },
}
CELL = {
    "type": "object",
    "properties": {
        "article_id": {"type": "integer"},
        "article_code": {"type": "string"},
        "month": {"type": "string"},
        "amount": _AMOUNT,
    },
}
VERSION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "number": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in VersionStatus]},
        "comment": {"type": ["string", "null"]},
        "based_on_id": {"type": ["integer", "null"]},
        "approved_at": {"type": ["string", "null"], "format": "date-time"},
        "superseded_at": {"type": ["string", "null"], "format": "date-time"},
        "exchange_status": {
            "type": ["string", "null"],
            "description": "отправка в бухгалтерию: pending, sent, dead (у черновика — null)",
        },
    },
}
VERSION_CARD = {
    "type": "object",
    "properties": {
        **VERSION["properties"],
        "lines": {"type": "array", "items": CELL, "description": "ненулевые ячейки"},
        "total_income": _AMOUNT,
        "total_expense": _AMOUNT,
    },
}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def version_dict(version: BudgetVersion) -> dict:
    return {
        "id": version.id,
        "project_id": version.project_id,
        "number": version.number,
        "status": version.status,
        "comment": version.comment,
        "based_on_id": version.based_on_id,
        "approved_at": _iso(version.approved_at),
        "superseded_at": _iso(version.superseded_at),
        "exchange_status": services.exchange_status(db.session, version),
    }


def _cells(amounts: dict, articles: dict[int, BudgetArticle]) -> list[dict]:
    return [
        {
            "article_id": article_id,
            "article_code": articles[article_id].code,
            "month": plans.month_key(month),
            "amount": str(amount),
        }
        for (article_id, month), amount in sorted(
            amounts.items(), key=lambda kv: (articles[kv[0][0]].code, kv[0][1])
        )
    ]


def _articles() -> dict[int, BudgetArticle]:
    return {a.id: a for a in catalog.list_articles(db.session)}


def version_card(version: BudgetVersion) -> dict:
    articles = _articles()
    amounts = services.version_amounts(db.session, version)
    totals = {"income": services.ZERO, "expense": services.ZERO}
    for (article_id, _), amount in amounts.items():
        totals[articles[article_id].direction] += amount
    return {
        **version_dict(version),
        "lines": _cells(amounts, articles),
        "total_income": str(totals["income"]),
        "total_expense": str(totals["expense"]),
    }


@api_route(
    "/budget-articles",
    "GET",
    summary="Статьи бюджета (доходы и расходы)",
    tag=TAG,
    perm=Perm.BUDGETS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": ARTICLE}},
    },
)
def list_budget_articles() -> Response:
    return jsonify(
        items=[
            {
                "id": a.id,
                "code": a.code,
                "name": a.name,
                "direction": a.direction,
                "is_active": a.is_active,
            }
            for a in catalog.list_articles(db.session)
        ]
    )


@api_route(
    "/projects/<int:project_id>/budget-versions",
    "GET",
    summary="Версии бюджета проекта, новые первыми",
    tag=TAG,
    perm=Perm.BUDGETS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": VERSION}},
    },
)
def list_budget_versions(project_id: int) -> Response:
    project = projects.get_project(db.session, project_id)
    return jsonify(items=[version_dict(v) for v in services.list_versions(db.session, project)])


@api_route(
    "/projects/<int:project_id>/budget-versions",
    "POST",
    summary="Новый черновик бюджета (копия последней версии, если copy_latest; "
    "второй черновик — 409)",
    tag=TAG,
    perm=Perm.BUDGETS_MANAGE,
    request_schema={
        "type": "object",
        "properties": {
            "copy_latest": {"type": "boolean", "default": True},
            "comment": {"type": ["string", "null"]},
        },
    },
    labels={"copy_latest": "Копировать последнюю версию", "comment": "Комментарий"},
    response_schema=VERSION_CARD,
    status=201,
)
def create_budget_version(project_id: int) -> tuple[Response, int]:
    project = projects.get_project(db.session, project_id)
    body = json_body()
    version = services.create_version(
        db.session,
        project,
        actor=api_user(),
        copy_latest=body.get("copy_latest", True) is not False,
        comment=body.get("comment"),
    )
    return jsonify(version_card(version)), 201


@api_route(
    "/budget-versions/<int:version_id>",
    "GET",
    summary="Версия бюджета с её ячейками",
    tag=TAG,
    perm=Perm.BUDGETS_VIEW,
    response_schema=VERSION_CARD,
)
def get_budget_version(version_id: int) -> Response:
    return jsonify(version_card(services.get_version(db.session, version_id)))


def _month(value: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    match = _MONTH.match(value.strip()) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        errors[field] = "Месяц — «ГГГГ-ММ», например 2027-03."
        return None
    return dt.date(int(match[1]), int(match[2]), 1)


@api_route(
    "/budget-versions/<int:version_id>/lines",
    "PUT",
    summary="Сохранить ячейки черновика (пусто или 0 — удалить ячейку; не названные "
    "ячейки не меняются; утверждённая версия — 409)",
    tag=TAG,
    perm=Perm.BUDGETS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["lines"],
        "properties": {
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["article_id", "month", "amount"],
                    "properties": {
                        "article_id": {"type": "integer"},
                        "month": _MONTH_SCHEMA,
                        "amount": {"type": ["string", "number", "null"]},
                    },
                },
            }
        },
    },
    labels={"lines": "Ячейки"},
    response_schema={
        "type": "object",
        "properties": {**VERSION_CARD["properties"], "changed": {"type": "integer"}},
    },
)
def save_budget_lines(version_id: int) -> Response:
    version = services.get_version(db.session, version_id)
    body = json_body()
    errors: dict[str, str] = {}
    cells = []
    for index, row in enumerate(body.get("lines") or []):
        prefix = f"lines[{index}]"
        if not isinstance(row, dict):
            errors[prefix] = "Ячейка — JSON-объект с article_id, month и amount."
            continue
        if not isinstance(row.get("article_id"), int) or isinstance(row.get("article_id"), bool):
            errors[f"{prefix}.article_id"] = "Укажите статью бюджета (article_id)."
            continue
        month = _month(row.get("month"), f"{prefix}.month", errors)
        if month is not None:
            cells.append(services.BudgetCell(row["article_id"], month, row.get("amount")))
    if errors:
        raise ValidationError(fields=errors)
    changed = services.save_lines(db.session, version, cells, actor=api_user())
    return jsonify({**version_card(version), "changed": changed})


@api_route(
    "/budget-versions/<int:version_id>/approve",
    "POST",
    summary="Утвердить черновик: прежняя утверждённая версия заменяется, версия уходит в "
    "бухгалтерию",
    tag=TAG,
    perm=Perm.BUDGETS_MANAGE,
    response_schema=VERSION_CARD,
)
def approve_budget_version(version_id: int) -> Response:
    version = services.get_version(db.session, version_id)
    services.approve_version(db.session, version, actor=api_user())
    return jsonify(version_card(version))


@api_route(
    "/budget-versions/<int:version_id>",
    "DELETE",
    summary="Удалить черновик (утверждённые и заменённые версии остаются — 409)",
    tag=TAG,
    perm=Perm.BUDGETS_MANAGE,
    response_schema={"type": "object", "properties": {"deleted": {"type": "integer"}}},
)
def delete_budget_version(version_id: int) -> Response:
    version = services.get_version(db.session, version_id)
    services.delete_draft(db.session, version, actor=api_user())
    return jsonify(deleted=version_id)


@api_route(
    "/projects/<int:project_id>/budget-actuals",
    "GET",
    summary="Факт по статьям и месяцам, как его сообщила бухгалтерия",
    tag=TAG,
    perm=Perm.BUDGETS_VIEW,
    response_schema={"type": "object", "properties": {"items": {"type": "array", "items": CELL}}},
)
def list_budget_actuals(project_id: int) -> Response:
    project = projects.get_project(db.session, project_id)
    return jsonify(items=_cells(services.actual_amounts(db.session, project), _articles()))
