from __future__ import annotations

from dataclasses import fields

from flask import jsonify
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.organizations import services
from erp_crm.organizations.services import OrganizationData

_FIELDS = {f.name: {"type": ["string", "null"]} for f in fields(OrganizationData)}
_FIELDS["payment_days"] = {
    "type": ["integer", "string", "null"],
    "description": "Срок оплаты счёта в банковских днях (1–60), по умолчанию 5",
}
ORGANIZATION_INPUT = {
    "type": "object",
    "required": [
        "short_name",
        "full_name",
        "inn",
        "ogrn",
        "legal_address",
        "bank_name",
        "bik",
        "settlement_account",
        "director_name",
    ],
    "properties": _FIELDS,
}
ORGANIZATION = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "is_active": {"type": "boolean"}, **_FIELDS},
}


@api_route(
    "/organizations",
    "GET",
    summary="Наши организации",
    tag="organizations",
    perm=Perm.ORGANIZATIONS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": ORGANIZATION}},
    },
)
def list_organizations() -> Response:
    orgs = services.list_organizations(db.session)
    return jsonify(items=[services.to_dict(o) for o in orgs])


@api_route(
    "/organizations",
    "POST",
    summary="Добавить организацию",
    tag="organizations",
    perm=Perm.ORGANIZATIONS_MANAGE,
    request_schema=ORGANIZATION_INPUT,
    response_schema=ORGANIZATION,
    status=201,
)
def create_organization() -> tuple[Response, int]:
    data = OrganizationData.from_mapping(json_body())
    org = services.create_organization(db.session, data, actor=api_user())
    return jsonify(services.to_dict(org)), 201


@api_route(
    "/organizations/<int:org_id>",
    "GET",
    summary="Организация",
    tag="organizations",
    perm=Perm.ORGANIZATIONS_VIEW,
    response_schema=ORGANIZATION,
)
def get_organization(org_id: int) -> Response:
    return jsonify(services.to_dict(services.get_organization(db.session, org_id)))


@api_route(
    "/organizations/<int:org_id>",
    "PATCH",
    summary="Изменить реквизиты организации",
    tag="organizations",
    perm=Perm.ORGANIZATIONS_MANAGE,
    request_schema={"type": "object", "properties": _FIELDS},
    response_schema=ORGANIZATION,
)
def update_organization(org_id: int) -> Response:
    org = services.get_organization(db.session, org_id)
    current = OrganizationData.from_model(org).__dict__
    data = OrganizationData.from_mapping({**current, **json_body()})
    services.update_organization(db.session, org, data, actor=api_user())
    return jsonify(services.to_dict(org))
