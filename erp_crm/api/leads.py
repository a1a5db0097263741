"""API: leads — the public intake for the company's sites and the conversion of a lead."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import leads
from erp_crm.deals.models import LEAD_SOURCE_LABELS, Lead, LeadStatus
from erp_crm.errors import ValidationError, error_response

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


# --- the queue: list, one lead, reject (the same services as the leads pages) ----------------

_STATUSES = [s.value for s in LeadStatus]
LEAD_FULL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": _STATUSES},
        "source": {"type": "string", "enum": list(LEAD_SOURCE_LABELS)},
        "company_name": {"type": "string"},
        "inn": _STR,
        "contact_name": _STR,
        "phone": _STR,
        "email": _STR,
        "city": _STR,
        "project_id": {"type": ["integer", "null"]},
        "message": _STR,
        "reject_reason": _STR,
        "handled_by_id": {"type": ["integer", "null"]},
        "client_id": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
CANDIDATE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "inn": _STR,
        "score": {"type": "integer"},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}
LEAD_CARD = {
    "type": "object",
    "properties": {
        **LEAD_FULL["properties"],
        "deal_id": {"type": ["integer", "null"], "description": "сделка преобразованного лида"},
        "candidates": {
            "type": "array",
            "items": CANDIDATE,
            "description": "похожие контрагенты (только у нового лида)",
        },
    },
}


def lead_dict(lead: Lead) -> dict:
    return {
        "id": lead.id,
        "status": lead.status,
        "source": lead.source,
        "company_name": lead.company_name,
        "inn": lead.inn,
        "contact_name": lead.contact_name,
        "phone": lead.phone,
        "email": lead.email,
        "city": lead.city,
        "project_id": lead.project_id,
        "message": lead.message,
        "reject_reason": lead.reject_reason,
        "handled_by_id": lead.handled_by_id,
        "client_id": lead.client_id,
        "created_at": lead.created_at.isoformat(),
    }


def _card(lead: Lead) -> dict:
    candidates = []
    if lead.status == LeadStatus.NEW.value:
        candidates = leads.lead_candidates(db.session, lead)
    deal = leads.deal_of_lead(db.session, lead) if lead.status == "converted" else None
    return {
        **lead_dict(lead),
        "deal_id": deal.id if deal else None,
        "candidates": [
            {
                "id": c.id,
                "name": c.name,
                "inn": c.client.inn,
                "score": c.score,
                "reasons": c.reasons,
            }
            for c in candidates
        ],
    }


@api_route(
    "/leads",
    "GET",
    summary="Очередь лидов (status: new — по умолчанию, rejected, converted или all)",
    tag="leads",
    perm=Perm.LEADS_WORK,
    query=[
        {
            "name": "status",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": [*_STATUSES, "all"]},
        },
        {"name": "project_id", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "per_page", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": LEAD_FULL},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "counts": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "число лидов по статусам",
            },
        },
    },
)
def list_leads() -> Response:
    status = request.args.get("status") or LeadStatus.NEW.value
    if status not in _STATUSES and status != "all":
        raise ValidationError(fields={"status": "Статус лида: new, rejected, converted или all."})
    per_page = min(max(parse_page(request.args.get("per_page") or 50), 1), 500)
    page = paginate(
        db.session,
        leads.leads_query(status, request.args.get("project_id", type=int)),
        page=parse_page(request.args.get("page")),
        per_page=per_page,
    )
    return jsonify(
        items=[lead_dict(lead) for lead in page.items],
        total=page.total,
        page=page.page,
        pages=page.pages,
        counts=leads.status_counts(db.session),
    )


@api_route(
    "/leads/<int:lead_id>",
    "GET",
    summary="Лид: данные заявки, похожие контрагенты, сделка (если преобразован)",
    tag="leads",
    perm=Perm.LEADS_WORK,
    response_schema=LEAD_CARD,
)
def get_lead(lead_id: int) -> Response:
    return jsonify(_card(leads.get_lead(db.session, lead_id)))


@api_route(
    "/leads/<int:lead_id>/reject",
    "POST",
    summary="Отклонить новый лид с причиной (обработанный лид — 409)",
    tag="leads",
    perm=Perm.LEADS_WORK,
    request_schema={
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 300}},
    },
    labels={"reason": "Причина"},
    response_schema=LEAD_CARD,
)
def reject_lead(lead_id: int) -> Response:
    lead = leads.get_lead(db.session, lead_id)
    leads.reject_lead(db.session, lead, json_body().get("reason"), actor=api_user())
    return jsonify(_card(lead))
