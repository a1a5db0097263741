"""API: clients and their contact persons (same services and access rules as the pages)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.clients import access, cleaning, contacts, dedupe, services
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.search import FILTER_LABELS, ClientFilter, client_query
from erp_crm.core import text
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import column_length, db
from erp_crm.errors import PermissionDenied, ValidationError


def _text_field(column: Any) -> dict:
    """A text field's schema, with the column's length limit when it has one."""
    limit = column_length(column)
    return {"type": ["string", "null"], **({"maxLength": limit} if limit else {})}


_STR = {"type": ["string", "null"]}
CLIENT_FIELDS = {
    **{f.name: _text_field(Client.__table__.c[f.name]) for f in fields(services.ClientData)},
    "kind": {"type": "string", "enum": ["legal", "sole_trader", "person"]},
    "readiness": {"type": "integer", "minimum": 0, "maximum": 4},
    "curator_id": {"type": ["integer", "null"], "description": services.CURATOR_ROLE_MESSAGE},
    "mailing_consent": {"type": "boolean"},
}
CONFIRM_DUPLICATES = {
    "type": "boolean",
    "default": False,
    "description": "Сохранить, хотя в базе есть вероятные дубли. Без него, если дубли найдены "
    "(при создании — по ИНН/КПП, названию и городу; при изменении — если меняются ИНН, КПП, "
    "название или город), ответ 409 со списком error.duplicates: [{id, name, score, reasons}].",
}
CLIENT_REQUEST = {**CLIENT_FIELDS, "confirm_duplicates": CONFIRM_DUPLICATES}
_CLIENT_LABELS = {**services.CLIENT_LABELS, "confirm_duplicates": "Подтверждение дублей"}
CLIENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "relationship_type": {"type": "string"},
        "merged_into_id": {"type": ["integer", "null"]},
        "groups": {"type": "array", "items": {"type": "integer"}},
        **CLIENT_FIELDS,
    },
}
CONTACT_FIELDS = {
    "full_name": {"type": "string", "maxLength": column_length(ContactPerson.full_name)},
    "position": _text_field(ContactPerson.__table__.c.position),
    "phones": {"type": "array", "items": {"type": "string"}},
    "emails": {"type": "array", "items": {"type": "string"}},
    "birthday": {
        "type": ["string", "null"],
        "format": "date",
        "description": "ГГГГ-ММ-ДД, не в будущем и не раньше 1900 года.",
    },
    "notes": _STR,
    "curator_id": {"type": ["integer", "null"], "description": services.CURATOR_ROLE_MESSAGE},
}
CONTACT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "is_active": {"type": "boolean"},
        **CONTACT_FIELDS,
        "warnings": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Only when adding: the phone or e-mail is found at another client "
            "(a likely duplicate); the contact is saved all the same.",
        },
    },
}
_FILTER_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    for name, kind in [
        ("q", "string"),
        ("kind", "string"),
        ("region", "string"),
        ("city", "string"),
        ("industry", "string"),
        ("source", "string"),
        ("group_id", "integer"),
        ("curator_id", "integer"),
        ("readiness", "integer"),
        ("relationship", "string"),
        ("competitor_id", "integer"),
        ("project_id", "integer"),
        ("project_outcome", "string"),
        ("mailing_consent", "string"),
        ("sort", "string"),
        ("direction", "string"),
        ("page", "integer"),
        ("per_page", "integer"),
    ]
]


def client_dict(client: Client) -> dict:
    data = services.ClientData.from_model(client).__dict__
    return {
        "id": client.id,
        **data,
        "relationship_type": client.relationship_type,
        "merged_into_id": client.merged_into_id,
        "groups": [g.id for g in client.groups if access.can_use_group(api_user(), g)],
    }


def contact_dict(contact: ContactPerson) -> dict:
    return {
        "id": contact.id,
        "client_id": contact.client_id,
        "full_name": contact.full_name,
        "position": contact.position,
        "phones": contact.phones,
        "emails": contact.emails,
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "notes": contact.notes,
        "curator_id": contact.curator_id,
        "is_active": contact.is_active,
    }


def check_types(
    body: dict[str, Any],
    properties: dict[str, dict],
    labels: dict[str, str],
    *,
    read_only: dict[str, dict] | None = None,
) -> None:
    """The values' types are checked against the schema by `api_route` (api/validation.py)
    before the view; here a key the API does not know is refused (a typo must not pass for a
    change). The read-only fields of the answer (`read_only`: id, relationship_type …) may come
    back in a body and are ignored."""
    errors: dict[str, str] = {}
    unknown = sorted(k for k in body if k not in properties and k not in (read_only or {}))
    for key in unknown:
        errors[key] = f"Неизвестное поле «{key}»: его нет в API (опечатка?)."
    if errors:
        raise ValidationError(cleaning.fields_message(errors, labels), fields=errors)


def _confirmed(body: dict[str, Any]) -> bool:
    return body.get("confirm_duplicates") is True


def _duplicates_response(candidates: list[dedupe.DuplicateCandidate]) -> tuple[Response, int]:
    """409: likely duplicates found; the caller repeats with "confirm_duplicates": true."""
    names = ", ".join(f"{text.quoted(c.name)} (№ {c.id})" for c in candidates)
    body = {
        "error": {
            "message": f"Похоже, такой контрагент уже есть: {names}. Если это другой "
            'контрагент, повторите запрос с "confirm_duplicates": true.',
            "duplicates": [
                {"id": c.id, "name": c.name, "score": c.score, "reasons": c.reasons}
                for c in candidates
            ],
        }
    }
    return jsonify(body), 409


@api_route(
    "/clients",
    "GET",
    summary="Контрагенты: поиск и фильтры",
    tag="clients",
    perm=Perm.CLIENTS_VIEW,
    query=_FILTER_PARAMS,
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": CLIENT},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    },
)
def list_clients() -> Response:
    flt = ClientFilter.from_args(request.args)
    if flt.invalid:
        raise ValidationError(
            "Неверные значения фильтров: " + ", ".join(FILTER_LABELS[k] for k in flt.invalid) + ".",
            fields={k: "Неверное значение фильтра." for k in flt.invalid},
        )
    per_page = min(max(parse_page(request.args.get("per_page") or 50), 1), 500)
    page = paginate(
        db.session,
        client_query(flt, actor=api_user()),
        page=parse_page(request.args.get("page")),
        per_page=per_page,
    )
    return jsonify(
        items=[client_dict(c) for c in page.items],
        total=page.total,
        page=page.page,
        pages=page.pages,
    )


@api_route(
    "/clients",
    "POST",
    summary="Создать контрагента",
    tag="clients",
    perm=Perm.CLIENTS_CREATE,
    request_schema={"type": "object", "required": ["name"], "properties": CLIENT_REQUEST},
    labels=_CLIENT_LABELS,
    response_schema=CLIENT,
    status=201,
)
def create_client() -> tuple[Response, int]:
    body = json_body()
    check_types(body, CLIENT_REQUEST, _CLIENT_LABELS, read_only=CLIENT["properties"])
    data = services.ClientData.from_mapping(body)
    cleaned = services.validate_client(db.session, data)
    duplicates = dedupe.duplicates_before_saving(db.session, cleaned)
    if duplicates and not _confirmed(body):
        return _duplicates_response(duplicates)
    client = services.create_client(db.session, data, actor=api_user())
    current_app.logger.info("client %s created via API by %s", client.id, api_user().username)
    return jsonify(client_dict(client)), 201


@api_route(
    "/clients/<int:client_id>",
    "GET",
    summary="Контрагент",
    tag="clients",
    perm=Perm.CLIENTS_VIEW,
    response_schema=CLIENT,
)
def get_client(client_id: int) -> Response:
    client = services.get_client(db.session, client_id)
    if not access.can_view_client(api_user(), client):
        raise PermissionDenied()
    return jsonify(client_dict(client))


@api_route(
    "/clients/<int:client_id>",
    "PATCH",
    summary="Изменить контрагента",
    tag="clients",
    perm=Perm.CLIENTS_VIEW,
    request_schema={"type": "object", "properties": CLIENT_REQUEST},
    labels=_CLIENT_LABELS,
    response_schema=CLIENT,
)
def update_client(client_id: int) -> Response | tuple[Response, int]:
    client = services.get_client(db.session, client_id)
    if not access.can_edit_client(api_user(), client):
        raise PermissionDenied("Изменять контрагента может его куратор, руководитель ОП или ИАО.")
    body = json_body()
    check_types(body, CLIENT_REQUEST, _CLIENT_LABELS, read_only=CLIENT["properties"])
    data = services.ClientData.from_model(client).merged_with(body)
    cleaned = services.validate_client(db.session, data, client)
    if not _confirmed(body) and (
        duplicates := dedupe.duplicates_before_saving(db.session, cleaned, client)
    ):
        return _duplicates_response(duplicates)
    services.update_client(db.session, client, data, actor=api_user())
    return jsonify(client_dict(client))


@api_route(
    "/clients/<int:client_id>/contacts",
    "GET",
    summary="Контактные лица контрагента",
    tag="clients",
    perm=Perm.CLIENTS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": CONTACT}},
    },
)
def list_contacts(client_id: int) -> Response:
    client = services.get_client(db.session, client_id)
    if not access.can_view_client(api_user(), client):
        raise PermissionDenied()
    return jsonify(items=[contact_dict(c) for c in client.contacts])


@api_route(
    "/clients/<int:client_id>/contacts",
    "POST",
    summary="Добавить контактное лицо",
    tag="clients",
    perm=Perm.CLIENTS_VIEW,
    request_schema={"type": "object", "required": ["full_name"], "properties": CONTACT_FIELDS},
    labels=contacts.CONTACT_LABELS,
    response_schema=CONTACT,
    status=201,
)
def add_contact(client_id: int) -> tuple[Response, int]:
    client = services.get_client(db.session, client_id)
    body = json_body()
    check_types(body, CONTACT_FIELDS, contacts.CONTACT_LABELS, read_only=CONTACT["properties"])
    contact = contacts.add_contact(
        db.session, client, contacts.ContactData.from_mapping(body), actor=api_user()
    )
    answer = contact_dict(contact)
    if warning := dedupe.shared_channels_warning(db.session, client, contact):
        answer["warnings"] = [warning]  # saved all the same, as on the page
    return jsonify(answer), 201
