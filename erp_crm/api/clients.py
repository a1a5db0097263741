"""API: clients and their contact persons (same services and access rules as the pages)."""

from __future__ import annotations

from dataclasses import fields

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.clients import access, services
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.search import ClientFilter, client_query
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import PermissionDenied

_STR = {"type": ["string", "null"]}
CLIENT_FIELDS = {
    **{f.name: _STR for f in fields(services.ClientData)},
    "kind": {"type": "string", "enum": ["legal", "sole_trader", "person"]},
    "readiness": {"type": "integer", "minimum": 0, "maximum": 4},
    "curator_id": {"type": ["integer", "null"]},
    "mailing_consent": {"type": "boolean"},
}
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
    "full_name": {"type": "string"},
    "position": _STR,
    "phones": {"type": "array", "items": {"type": "string"}},
    "emails": {"type": "array", "items": {"type": "string"}},
    "birthday": {"type": ["string", "null"], "format": "date"},
    "notes": _STR,
    "curator_id": {"type": ["integer", "null"]},
}
CONTACT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "is_active": {"type": "boolean"},
        **CONTACT_FIELDS,
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
    request_schema={"type": "object", "required": ["name"], "properties": CLIENT_FIELDS},
    response_schema=CLIENT,
    status=201,
)
def create_client() -> tuple[Response, int]:
    data = services.ClientData.from_mapping(json_body())
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
    request_schema={"type": "object", "properties": CLIENT_FIELDS},
    response_schema=CLIENT,
)
def update_client(client_id: int) -> Response:
    client = services.get_client(db.session, client_id)
    data = services.ClientData.from_model(client).merged_with(json_body())
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
    response_schema=CONTACT,
    status=201,
)
def add_contact(client_id: int) -> tuple[Response, int]:
    client = services.get_client(db.session, client_id)
    contact = services.add_contact(
        db.session, client, services.ContactData.from_mapping(json_body()), actor=api_user()
    )
    return jsonify(contact_dict(contact)), 201
