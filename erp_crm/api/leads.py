"""API: leads — the public intake for the company's sites and the conversion of a lead."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.deals import leads
from erp_crm.errors import error_response

_STR = {"type": ["string", "null"]}
LEAD_REQUEST = {
    "type": "object",
    "required": ["company_name"],
    "description": "Нужен телефон или e-mail; ИНН проверяется, если указан.",
    "properties": {
        "company_name": {"type": "string", "maxLength": 300},
        "inn": _STR,
        "contact_name": _STR,
        "phone": _STR,
        "email": _STR,
        "city": _STR,
        "project_id": {"type": ["integer", "null"]},
        "message": _STR,
    },
}
LEAD = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": ["new", "rejected", "converted"]},
        "message": {"type": "string"},
    },
}
CONVERT_REQUEST = {
    "type": "object",
    "required": ["project_id"],
    "properties": {
        "project_id": {"type": "integer"},
        "client_id": {"type": ["integer", "null"], "description": "контрагент из кандидатов"},
        "create_new": {
            "type": "boolean",
            "description": "создать нового контрагента, хотя похожие есть",
        },
        "create_contact": {"type": "boolean", "default": True},
    },
}
CONVERSION = {
    "type": "object",
    "properties": {
        "lead_id": {"type": "integer"},
        "status": {"type": "string"},
        "client_id": {"type": "integer"},
        "client_created": {"type": "boolean"},
        "contact_id": {"type": ["integer", "null"]},
        "contact_created": {"type": "boolean"},
        "deal_id": {"type": "integer"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}


@api_route(
    "/leads",
    "POST",
    summary="Заявка с сайта (публично; не больше N заявок с адреса в час, иначе 429)",
    tag="leads",
    public=True,
    request_schema=LEAD_REQUEST,
    response_schema=LEAD,
    status=201,
)
def submit_lead() -> tuple[Response, int] | Response:
    data = leads.LeadData.from_mapping(json_body())
    data.source = None
    try:
        lead = leads.submit_lead(db.session, data, ip=request.remote_addr, source="api")
    except leads.TooManyLeads as err:
        db.session.rollback()
        response = error_response(429, err.message)
        response.headers["Retry-After"] = str(err.retry_after)
        return response
    return jsonify({"id": lead.id, "status": lead.status, "message": "Заявка принята."}), 201


@api_route(
    "/leads/<int:lead_id>/convert",
    "POST",
    summary="Преобразовать лид: контрагент (найденный или новый), контакт и сделка в проекте",
    tag="leads",
    perm=Perm.LEADS_WORK,
    request_schema=CONVERT_REQUEST,
    response_schema=CONVERSION,
)
def convert_lead(lead_id: int) -> tuple[Response, int] | Response:
    body = json_body()
    lead = leads.get_lead(db.session, lead_id)
    create_contact = body.get("create_contact", True)
    try:
        result = leads.convert_lead(
            db.session,
            lead,
            actor=api_user(),
            project_id=body.get("project_id"),
            client_id=body.get("client_id"),
            create_new=body.get("create_new") is True,
            create_contact=create_contact is not False,
        )
    except leads.DuplicateCandidates as err:
        db.session.rollback()
        candidates = [
            {
                "id": c.id,
                "name": c.name,
                "inn": c.client.inn,
                "score": c.score,
                "reasons": c.reasons,
            }
            for c in err.candidates
        ]
        return jsonify({"error": {"message": err.message, "candidates": candidates}}), 409
    return jsonify(
        {
            "lead_id": result.lead.id,
            "status": result.lead.status,
            "client_id": result.client.id,
            "client_created": result.client_created,
            "contact_id": result.contact.id if result.contact else None,
            "contact_created": result.contact_created,
            "deal_id": result.deal.id,
            "notes": result.notes,
        }
    )
