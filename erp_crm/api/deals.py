"""API: deals — list, open, read with lines and totals, move/lose/discount/rename, add lines.

The same services and rules as the pages: a manager works only their own deals (403), a stand
taken by another deal is a 409, a refused field is a 422 with `fields`.
Money and areas are strings of Decimal ("140400.00"), never floats.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import current_app, jsonify, request
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from documents.money import rate_label
from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import access, next_steps, queries, services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals.models import Deal, DealLine, LineKind
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.projects.models import ServiceItem, Stand
from erp_crm.ui import LOCAL_TZ

_STR = {"type": "string"}
_STR_NULL = {"type": ["string", "null"]}
_INT_NULL = {"type": ["integer", "null"]}
_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal as a string"}

LINE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in LineKind]},
        "description": _STR,
        "stand_id": _INT_NULL,
        "service_item_id": _INT_NULL,
        "quantity": _MONEY,
        "unit": _STR,
        "unit_code": _STR,
        "unit_price": _MONEY,
        "surcharge": _MONEY,
        "base_amount": _MONEY,
        "discount": _MONEY,
        "amount": _MONEY,
        "vat_rate": {"type": ["string", "null"], "description": "percent; null — без НДС"},
        "vat_label": _STR,
        "vat_amount": _MONEY,
        "vat_mode": {
            "type": "string",
            "enum": ["included", "on_top"],
            "description": "included — цена с НДС («НДС в т.ч.»: unit_price, base_amount, "
            "discount с НДС); on_top — цена без НДС («НДС сверху»: они без НДС, "
            "vat_amount = net_amount × ставка, amount = net_amount + vat_amount). Копируется из "
            "прайс-листа при добавлении строки.",
        },
        "net_amount": {**_MONEY, "description": "сумма строки без НДС"},
        "area_m2": _MONEY,
    },
}
DEAL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": _STR_NULL,
        "client_id": {"type": "integer"},
        "client_name": _STR,
        "project_id": {"type": "integer"},
        "project_name": _STR,
        "manager_id": {"type": "integer"},
        "contact_id": _INT_NULL,
        "pipeline": _STR,
        "pipeline_id": {"type": "integer"},
        "stage_id": {"type": "integer"},
        "stage_name": _STR,
        "percent": {"type": "integer"},
        "outcome": {"type": "string", "enum": ["open", "won", "lost"]},
        "next_contact_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "The start of the deal's nearest planned contact (its next step); "
            "null for an open deal is «сделка без следующего шага».",
        },
        "pricing_date": {"type": "string", "format": "date"},
        "discount_kind": {"type": ["string", "null"], "enum": ["percent", "amount", None]},
        "discount_value": {"type": ["string", "null"]},
        "discount_reason": _STR_NULL,
        "lost_reason_id": _INT_NULL,
        "lost_comment": _STR_NULL,
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "amount": _MONEY,
        "vat_amount": _MONEY,
        "area_m2": _MONEY,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
DEAL_FULL = {
    "type": "object",
    "properties": {
        **DEAL["properties"],
        "lines": {"type": "array", "items": LINE},
        "totals": {
            "type": "object",
            "properties": {"amount": _MONEY, "vat_amount": _MONEY, "area_m2": _MONEY},
        },
    },
}
_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    for name, kind in [
        ("project_id", "integer"),
        ("pipeline", "string"),
        ("stage_id", "integer"),
        ("manager_id", "integer"),
        ("client_id", "integer"),
        ("outcome", "string"),
        ("q", "string"),
        ("page", "integer"),
        ("per_page", "integer"),
    ]
]
PATCH = {
    "type": "object",
    "description": "Any of the groups: a stage move; losing; the discount; title and contact.",
    "properties": {
        "stage_id": {"type": "integer"},
        "next_contact_date": {"type": ["string", "null"], "format": "date"},
        "note": _STR_NULL,
        "outcome": {"type": "string", "enum": ["lost"]},
        "lost_reason_id": {"type": "integer"},
        "lost_comment": _STR_NULL,
        "discount_kind": {"type": ["string", "null"], "enum": ["percent", "amount", None]},
        "discount_value": {"type": ["string", "number", "null"]},
        "discount_reason": _STR_NULL,
        "title": _STR,
        "contact_id": _INT_NULL,
    },
}
NEW_LINE = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": [k.value for k in LineKind]},
        "stand_id": {"type": "integer"},
        "hold_until": {
            "type": "string",
            "description": "date or date-time; a date holds to its end (Moscow time)",
        },
        "stand_type": {"type": "string", "enum": ["raw", "shell", "open"]},
        "area_m2": {"type": ["string", "number"]},
        "service_item_id": {"type": "integer"},
        "quantity": {"type": ["string", "number"]},
    },
}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def line_dict(line: DealLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "kind": line.kind,
        "description": line.description,
        "stand_id": line.stand_id,
        "service_item_id": line.service_item_id,
        "quantity": _s(line.quantity),
        "unit": line.unit,
        "unit_code": line.unit_code,
        "unit_price": _s(line.unit_price),
        "surcharge": _s(line.surcharge),
        "base_amount": _s(line.base_amount),
        "discount": _s(line.discount),
        "amount": _s(line.amount),
        "vat_rate": _s(line.vat_rate),
        "vat_label": rate_label(line.vat_rate),
        "vat_amount": _s(line.vat_amount),
        "vat_mode": line.vat_mode,
        "net_amount": _s(line.amount - line.vat_amount),
        "area_m2": _s(line.area_m2),
    }


def deal_dict(
    deal: Deal, *, full: bool = False, next_contacts: dict[int, dt.datetime] | None = None
) -> dict[str, Any]:
    if next_contacts is None:
        next_contacts = next_steps.next_contacts(db.session, [deal.id])
    ahead = next_contacts.get(deal.id)
    data: dict[str, Any] = {
        "id": deal.id,
        "title": deal.title,
        "client_id": deal.client_id,
        "client_name": deal.client.name,
        "project_id": deal.project_id,
        "project_name": deal.project.name,
        "manager_id": deal.manager_id,
        "contact_id": deal.contact_id,
        "pipeline": deal.pipeline.code,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "stage_name": deal.stage.name,
        "percent": deal.stage.percent,
        "outcome": deal.outcome,
        "next_contact_at": ahead.isoformat() if ahead else None,
        "pricing_date": deal.pricing_date.isoformat(),
        "discount_kind": deal.discount_kind,
        "discount_value": _s(deal.discount_value),
        "discount_reason": deal.discount_reason,
        "lost_reason_id": deal.lost_reason_id,
        "lost_comment": deal.lost_comment,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "amount": _s(deal.amount),
        "vat_amount": _s(deal.vat_amount),
        "area_m2": _s(deal.area_m2),
        "created_at": deal.created_at.isoformat() if deal.created_at else None,
        "updated_at": deal.updated_at.isoformat() if deal.updated_at else None,
    }
    if full:
        data["lines"] = [line_dict(line) for line in deal.lines]
        data["totals"] = {
            "amount": _s(deal.amount),
            "vat_amount": _s(deal.vat_amount),
            "area_m2": _s(deal.area_m2),
        }
    return data


def _workable(deal_id: int) -> Deal:
    deal = services.get_deal(db.session, deal_id)
    if not access.can_work_deal(api_user(), deal):
        raise PermissionDenied("Работать со сделкой может её менеджер или руководитель ОП.")
    return deal


def _row(model: type, value: Any, field: str, message: str) -> Any:
    try:
        row = db.session.get(model, int(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise ValidationError(fields={field: message})
    return row


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(fields={field: "Дата в формате ГГГГ-ММ-ДД."}) from None


def _moment(value: Any, field: str) -> dt.datetime | None:
    """A date-time (naive: Moscow time) or a date (to its end, Moscow time)."""
    if value in (None, ""):
        return None
    raw = str(value)
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL_TZ)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            fields={field: "Дата ГГГГ-ММ-ДД или дата и время ГГГГ-ММ-ДДTЧЧ:ММ."}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


# --- endpoints ----------------------------------------------------------------------------------


@api_route(
    "/deals",
    "GET",
    summary="Сделки: фильтры и страницы",
    tag="deals",
    perm=Perm.DEALS_VIEW,
    query=_FILTERS,
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": DEAL},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "sums": {
                "type": "object",
                "properties": {"amount": _MONEY, "area_m2": _MONEY},
            },
        },
    },
)
def list_deals() -> Response:
    flt = queries.DealFilter.from_args(request.args)
    query = queries.deal_query(flt)
    per_page = min(max(parse_page(request.args.get("per_page") or 50), 1), 500)
    page = paginate(
        db.session,
        query.options(
            selectinload(Deal.client),
            selectinload(Deal.project),
            selectinload(Deal.pipeline),
            selectinload(Deal.stage),
        ),
        page=parse_page(request.args.get("page")),
        per_page=per_page,
    )
    sums = queries.deal_sums(db.session, query)
    ahead = next_steps.next_contacts(db.session, [d.id for d in page.items])
    return jsonify(
        items=[deal_dict(d, next_contacts=ahead) for d in page.items],
        total=page.total,
        page=page.page,
        pages=page.pages,
        sums={"amount": str(sums.amount), "area_m2": str(sums.area_m2)},
    )


@api_route(
    "/deals",
    "POST",
    summary="Открыть сделку",
    tag="deals",
    perm=Perm.DEALS_WORK,
    request_schema={
        "type": "object",
        "required": ["client_id", "project_id"],
        "properties": {
            "client_id": {"type": "integer"},
            "project_id": {"type": "integer"},
            "contact_id": _INT_NULL,
            "title": _STR_NULL,
            "manager_id": _INT_NULL,
        },
    },
    response_schema=DEAL_FULL,
    status=201,
)
def create_deal() -> tuple[Response, int]:
    body = json_body()
    data = services.DealData.from_mapping(
        {k: body.get(k) for k in ("client_id", "project_id", "contact_id", "title", "manager_id")}
    )
    deal = services.create_deal(db.session, data, actor=api_user())
    current_app.logger.info("deal %s opened via API by %s", deal.id, api_user().username)
    return jsonify(deal_dict(deal, full=True)), 201


@api_route(
    "/deals/<int:deal_id>",
    "GET",
    summary="Сделка со строками и итогами",
    tag="deals",
    perm=Perm.DEALS_VIEW,
    response_schema=DEAL_FULL,
)
def get_deal(deal_id: int) -> Response:
    return jsonify(deal_dict(services.get_deal(db.session, deal_id), full=True))


@api_route(
    "/deals/<int:deal_id>",
    "PATCH",
    summary="Изменить сделку: этап, проигрыш, скидка, название и контакт",
    tag="deals",
    perm=Perm.DEALS_WORK,
    request_schema=PATCH,
    response_schema=DEAL_FULL,
)
def update_deal(deal_id: int) -> Response:
    deal = _workable(deal_id)
    body = json_body()
    actor = api_user()
    if "title" in body or "contact_id" in body:
        services.update_details(
            db.session,
            deal,
            title=body["title"] if "title" in body else deal.title,
            contact_id=body["contact_id"] if "contact_id" in body else deal.contact_id,
            actor=actor,
        )
    if "discount_kind" in body:
        deal_lines.set_discount(
            db.session,
            deal,
            body.get("discount_kind") or None,
            body.get("discount_value"),
            body.get("discount_reason"),
            actor=actor,
        )
    if "stage_id" in body:
        stage = services.get_stage(db.session, body["stage_id"])
        services.move_to_stage(
            db.session,
            deal,
            stage,
            actor=actor,
            note=body.get("note"),
            next_contact_date=_date(body.get("next_contact_date"), "next_contact_date"),
        )
    if "outcome" in body:
        if body["outcome"] != "lost":
            raise ValidationError(
                fields={
                    "outcome": 'Можно только проиграть сделку ("lost"); вернуть её в работу '
                    "или выиграть — переводом на этап (stage_id)."
                }
            )
        services.mark_lost(
            db.session, deal, body.get("lost_reason_id"), body.get("lost_comment"), actor=actor
        )
    return jsonify(deal_dict(deal, full=True))


@api_route(
    "/deals/<int:deal_id>/lines",
    "POST",
    summary="Добавить строку: стенд, площадь, услугу или регистрационный сбор",
    tag="deals",
    perm=Perm.DEALS_WORK,
    request_schema=NEW_LINE,
    response_schema=DEAL_FULL,
    status=201,
)
def add_deal_line(deal_id: int) -> tuple[Response, int]:
    deal = _workable(deal_id)
    body = json_body()
    actor = api_user()
    kind = body.get("kind")
    if kind == LineKind.STAND.value:
        stand = _row(Stand, body.get("stand_id"), "stand_id", "Стенд не найден.")
        try:
            deal_lines.add_stand_line(
                db.session,
                deal,
                stand,
                actor=actor,
                hold_until=_moment(body.get("hold_until"), "hold_until"),
            )
        except ValidationError as err:
            if "until" in err.fields:  # the stands service names it after its own argument
                err.fields["hold_until"] = err.fields.pop("until")
            raise
    elif kind == LineKind.SPACE.value:
        deal_lines.add_space_line(
            db.session,
            deal,
            stand_type=str(body.get("stand_type") or ""),
            area_m2=body.get("area_m2"),
            actor=actor,
        )
    elif kind == LineKind.SERVICE.value:
        item = _row(
            ServiceItem, body.get("service_item_id"), "service_item_id", "Услуга не найдена."
        )
        deal_lines.add_service_line(db.session, deal, item, body.get("quantity", 1), actor=actor)
    elif kind == LineKind.REGISTRATION.value:
        deal_lines.add_registration_line(db.session, deal, actor=actor)
    else:
        raise ValidationError(
            fields={"kind": "Вид строки: stand, space, service или registration."}
        )
    return jsonify(deal_dict(deal, full=True)), 201


@api_route(
    "/deals/<int:deal_id>/lines/<int:line_id>",
    "DELETE",
    summary="Удалить строку сделки (стенд освобождается)",
    tag="deals",
    perm=Perm.DEALS_WORK,
    response_schema=DEAL_FULL,
)
def remove_deal_line(deal_id: int, line_id: int) -> Response:
    deal = _workable(deal_id)
    line = db.session.get(DealLine, line_id)
    if line is None or line.deal_id != deal.id:
        raise NotFound("Строка сделки не найдена.")
    deal_lines.remove_line(db.session, line, actor=api_user())
    return jsonify(deal_dict(deal, full=True))
