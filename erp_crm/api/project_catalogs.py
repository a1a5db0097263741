"""API: a project's halls, its price list (stand prices per type and position surcharges) and
its services catalog — the same services as the project pages (projects.services, .prices).

Decimal values (metres, money) are JSON strings in answers; a body may give them as strings or
numbers. Changes need projects.manage, reading needs projects.view, as on the pages.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from werkzeug.wrappers import Response

from documents.money import VAT_MODES
from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.projects import prices, services
from erp_crm.projects.models import Hall, ServiceItem, StandType
from erp_crm.projects.values import SURCHARGE_KINDS, VAT_SETTINGS

TAG = "projects"
_DECIMAL = {"type": "string", "description": 'число с двумя знаками, например "18.00"'}
_DECIMAL_IN = {"type": ["string", "number"], "description": 'число, например "1250.50"'}
_VAT = {
    "type": "string",
    "enum": list(VAT_SETTINGS),
    "description": "auto — по дате документа (20% / 22%); 22, 10, 0; none — без НДС",
}
_POSITIONS = [p.value for p in prices.SURCHARGE_POSITIONS]

# --- halls --------------------------------------------------------------------------------------

HALL_FIELDS = {
    "name": {"type": "string", "maxLength": 100},
    "width_m": _DECIMAL_IN,
    "depth_m": _DECIMAL_IN,
    "position": {"type": "integer", "description": "порядок зала в проекте"},
}
HALL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "name": {"type": "string"},
        "width_m": _DECIMAL,
        "depth_m": _DECIMAL,
        "position": {"type": "integer"},
    },
}
_HALL_LABELS = {
    "name": "Название",
    "width_m": "Ширина, м",
    "depth_m": "Глубина, м",
    "position": "Порядок",
}


def hall_dict(hall: Hall) -> dict:
    return {
        "id": hall.id,
        "project_id": hall.project_id,
        "name": hall.name,
        "width_m": str(hall.width_m),
        "depth_m": str(hall.depth_m),
        "position": hall.position,
    }


@api_route(
    "/projects/<int:project_id>/halls",
    "GET",
    summary="Залы проекта",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema={"type": "object", "properties": {"items": {"type": "array", "items": HALL}}},
)
def list_halls(project_id: int) -> Response:
    project = services.get_project(db.session, project_id)
    return jsonify(items=[hall_dict(h) for h in project.halls])


@api_route(
    "/projects/<int:project_id>/halls",
    "POST",
    summary="Добавить зал",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["name", "width_m", "depth_m"],
        "properties": HALL_FIELDS,
    },
    labels=_HALL_LABELS,
    response_schema=HALL,
    status=201,
)
def create_hall(project_id: int) -> tuple[Response, int]:
    project = services.get_project(db.session, project_id)
    body = json_body()
    data = services.HallData.from_mapping(body)
    if "position" not in body:  # as the page: a new hall goes last
        data.position = len(project.halls) + 1
    hall = services.create_hall(db.session, project, data, actor=api_user())
    return jsonify(hall_dict(hall)), 201


@api_route(
    "/halls/<int:hall_id>",
    "GET",
    summary="Зал",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema=HALL,
)
def get_hall(hall_id: int) -> Response:
    return jsonify(hall_dict(services.get_hall(db.session, hall_id)))


@api_route(
    "/halls/<int:hall_id>",
    "PATCH",
    summary="Изменить зал (поля, которых нет в запросе, не меняются)",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={"type": "object", "properties": HALL_FIELDS},
    labels=_HALL_LABELS,
    response_schema=HALL,
)
def update_hall(hall_id: int) -> Response:
    hall = services.get_hall(db.session, hall_id)
    current = {"name": hall.name, "width_m": hall.width_m, "depth_m": hall.depth_m}
    data = services.HallData.from_mapping({**current, "position": hall.position, **json_body()})
    services.update_hall(db.session, hall, data, actor=api_user())
    return jsonify(hall_dict(hall))


@api_route(
    "/halls/<int:hall_id>",
    "DELETE",
    summary="Удалить пустой зал (зал со стендами — 422)",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    response_schema={"type": "object", "properties": {"deleted": {"type": "integer"}}},
)
def delete_hall(hall_id: int) -> Response:
    hall = services.get_hall(db.session, hall_id)
    services.delete_hall(db.session, hall, actor=api_user())
    return jsonify(deleted=hall_id)


# --- price list ---------------------------------------------------------------------------------

_MODE = {
    "type": "string",
    "enum": list(VAT_MODES),
    "description": "included — цена с НДС («НДС в т.ч.»); on_top — цена без НДС, НДС сверху",
}
PRICE_ITEM_IN = {
    "type": "object",
    "required": ["stand_type"],
    "properties": {
        "stand_type": {"type": "string", "enum": [t.value for t in StandType]},
        "price_per_m2": {
            **_DECIMAL_IN,
            "type": ["string", "number", "null"],
            "description": "цена за м²; null или пусто — этот тип не продаётся",
        },
        "vat_rate": _VAT,
        "vat_mode": _MODE,
    },
}
SURCHARGE_ITEM_IN = {
    "type": "object",
    "required": ["position"],
    "properties": {
        "position": {"type": "string", "enum": _POSITIONS},
        "kind": {
            "type": "string",
            "enum": list(SURCHARGE_KINDS),
            "description": "процент или сумма",
        },
        "value": {
            "type": ["string", "number", "null"],
            "description": "наценка; null или 0 — без наценки; процент — не больше 100",
        },
    },
}
PRICE_LIST_IN = {
    "type": "object",
    "description": "Поля, которых нет в запросе, остаются как были; prices и surcharges, если "
    "даны, заменяют список целиком (тип без строки не продаётся, позиция без строки — без "
    "наценки). Уже рассчитанные сделки сохраняют свои цены.",
    "properties": {
        "registration_fee": _DECIMAL_IN,
        "registration_vat_mode": _MODE,
        "default_vat_rate": _VAT,
        "prices": {"type": "array", "items": PRICE_ITEM_IN},
        "surcharges": {"type": "array", "items": SURCHARGE_ITEM_IN},
    },
}
PRICE_LIST = {
    "type": "object",
    "properties": {
        "project_id": {"type": "integer"},
        "registration_fee": _DECIMAL,
        "registration_vat_mode": {"type": "string"},
        "default_vat_rate": {"type": "string"},
        "prices": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "stand_type": {"type": "string"},
                    "price_per_m2": _DECIMAL,
                    "vat_rate": {"type": "string"},
                    "vat_mode": {"type": "string"},
                },
            },
        },
        "surcharges": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "position": {"type": "string"},
                    "kind": {"type": "string"},
                    "value": _DECIMAL,
                },
            },
        },
    },
}
_PRICE_LABELS = {
    "registration_fee": "Регистрационный сбор",
    "registration_vat_mode": "НДС регистрационного сбора",
    "default_vat_rate": "НДС по умолчанию",
    "prices": "Цены стендов",
    "surcharges": "Наценки",
}


def price_list_dict(project) -> dict:
    return {
        "project_id": project.id,
        "registration_fee": str(project.registration_fee),
        "registration_vat_mode": project.registration_vat_mode,
        "default_vat_rate": project.default_vat_rate,
        "prices": [
            {
                "stand_type": p.stand_type,
                "price_per_m2": str(p.price_per_m2),
                "vat_rate": p.vat_rate,
                "vat_mode": p.vat_mode,
            }
            for p in sorted(project.stand_prices, key=lambda p: p.stand_type)
        ],
        "surcharges": [
            {"position": s.position, "kind": s.kind, "value": str(s.value)}
            for s in sorted(project.surcharges, key=lambda s: s.position)
        ],
    }


def _rows(body: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    """The list's rows, each naming its stand type / position once (the shape, not the rules)."""
    rows = body[key]
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"{key}[{index}]"] = "Строка списка — JSON-объект."
        elif not isinstance(row.get(name), str) or not row.get(name):
            errors[f"{key}[{index}].{name}"] = "Укажите, к чему относится строка."
        elif row[name] in seen:
            errors[f"{key}[{index}].{name}"] = f"«{row[name]}» указан в списке дважды."
        else:
            seen.add(row[name])
    if errors:
        raise ValidationError(fields=errors)
    return rows


@api_route(
    "/projects/<int:project_id>/price-list",
    "GET",
    summary="Прайс-лист проекта: цены стендов за м² по типам, наценки за расположение",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema=PRICE_LIST,
)
def get_price_list(project_id: int) -> Response:
    return jsonify(price_list_dict(services.get_project(db.session, project_id)))


@api_route(
    "/projects/<int:project_id>/price-list",
    "PUT",
    summary="Сохранить прайс-лист проекта (новые цены — для строк, добавленных после)",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema=PRICE_LIST_IN,
    labels=_PRICE_LABELS,
    response_schema=PRICE_LIST,
)
def save_price_list(project_id: int) -> Response:
    project = services.get_project(db.session, project_id)
    body = json_body()
    data = prices.PriceListData.from_model(project)
    if "registration_fee" in body:
        data.registration_fee = body["registration_fee"]
    if "default_vat_rate" in body:
        data.default_vat_rate = body["default_vat_rate"]
    if "registration_vat_mode" in body:
        data.registration_vat_mode = body["registration_vat_mode"]
    if body.get("prices") is not None:
        rows = _rows(body, "prices", "stand_type")
        data.prices = {
            row["stand_type"]: (row.get("price_per_m2"), row.get("vat_rate") or "auto")
            for row in rows
        }
        data.modes = {
            row["stand_type"]: row.get("vat_mode") or data.modes.get(row["stand_type"], "included")
            for row in rows
        }
    if body.get("surcharges") is not None:
        data.surcharges = {
            row["position"]: (row.get("kind") or "percent", row.get("value"))
            for row in _rows(body, "surcharges", "position")
        }
    prices.save_price_list(db.session, project, data, actor=api_user())
    return jsonify(price_list_dict(project))


# --- services catalog ---------------------------------------------------------------------------

SERVICE_FIELDS = {
    "name": {"type": "string", "maxLength": 300},
    "unit": {"type": "string", "maxLength": 32, "description": "например «шт» или «м²»"},
    "unit_code": {"type": "string", "description": "код ОКЕИ: 796 — шт, 055 — м²"},
    "price": _DECIMAL_IN,
    "vat_rate": _VAT,
    "vat_mode": _MODE,
    "is_active": {"type": "boolean"},
}
SERVICE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "name": {"type": "string"},
        "unit": {"type": "string"},
        "unit_code": {"type": "string"},
        "price": _DECIMAL,
        "vat_rate": {"type": "string"},
        "vat_mode": {"type": "string"},
        "is_active": {"type": "boolean"},
    },
}
_SERVICE_LABELS = {
    "name": "Название",
    "unit": "Единица",
    "unit_code": "Код ОКЕИ",
    "price": "Цена",
    "vat_rate": "Ставка НДС",
    "vat_mode": "НДС в цене или сверху",
    "is_active": "Действует",
}


def service_dict(item: ServiceItem) -> dict:
    return {
        "id": item.id,
        "project_id": item.project_id,
        "name": item.name,
        "unit": item.unit,
        "unit_code": item.unit_code,
        "price": str(item.price),
        "vat_rate": item.vat_rate,
        "vat_mode": item.vat_mode,
        "is_active": item.is_active,
    }


@api_route(
    "/projects/<int:project_id>/services",
    "GET",
    summary="Каталог дополнительных услуг проекта",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": SERVICE}},
    },
)
def list_services(project_id: int) -> Response:
    project = services.get_project(db.session, project_id)
    return jsonify(items=[service_dict(s) for s in sorted(project.services, key=lambda s: s.id)])


@api_route(
    "/projects/<int:project_id>/services",
    "POST",
    summary="Добавить услугу в каталог проекта",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={"type": "object", "required": ["name", "price"], "properties": SERVICE_FIELDS},
    labels=_SERVICE_LABELS,
    response_schema=SERVICE,
    status=201,
)
def create_service(project_id: int) -> tuple[Response, int]:
    project = services.get_project(db.session, project_id)
    data = prices.ServiceData.from_mapping(json_body())
    item = prices.create_service(db.session, project, data, actor=api_user())
    return jsonify(service_dict(item)), 201


@api_route(
    "/services/<int:item_id>",
    "GET",
    summary="Услуга каталога",
    tag=TAG,
    perm=Perm.PROJECTS_VIEW,
    response_schema=SERVICE,
)
def get_service(item_id: int) -> Response:
    return jsonify(service_dict(prices.get_service(db.session, item_id)))


@api_route(
    "/services/<int:item_id>",
    "PATCH",
    summary="Изменить услугу каталога (is_active: false — снять с продажи)",
    tag=TAG,
    perm=Perm.PROJECTS_MANAGE,
    request_schema={"type": "object", "properties": SERVICE_FIELDS},
    labels=_SERVICE_LABELS,
    response_schema=SERVICE,
)
def update_service(item_id: int) -> Response:
    item = prices.get_service(db.session, item_id)
    current = {k: getattr(item, k) for k in SERVICE_FIELDS}
    data = prices.ServiceData.from_mapping({**current, **json_body()})
    prices.update_service(db.session, item, data, actor=api_user())
    return jsonify(service_dict(item))
