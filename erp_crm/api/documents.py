"""API: sales documents — list and issue for a deal, metadata with SHA-256, files, cancel;
document templates — upload (checked), preview with demo data, activation after the preview."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.deals import services as deal_services
from erp_crm.errors import NotFound
from erp_crm.projects.models import Project
from erp_crm.sales_documents import preconditions, services, templates_admin
from erp_crm.sales_documents.models import Document, DocumentTemplate
from erp_crm.sales_documents.schema import DocumentKind
from erp_crm.sales_documents.views.common import send_bytes

_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal as a string"}
_KINDS = [k.value for k in DocumentKind]
FILE = {
    "type": "object",
    "properties": {
        "format": {"type": "string", "enum": ["pdf", "docx"]},
        "filename": {"type": "string"},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "url": {"type": "string"},
    },
}
DOCUMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "guid": {"type": "string"},
        "kind": {"type": "string", "enum": _KINDS},
        "title": {"type": "string"},
        "number": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["issued", "sent", "signed", "cancelled"]},
        "deal_id": {"type": "integer"},
        "client_id": {"type": "integer"},
        "project_id": {"type": "integer"},
        "organization_id": {"type": "integer"},
        "amount": _MONEY,
        "vat_amount": _MONEY,
        "due_date": {"type": ["string", "null"], "format": "date"},
        "correction_no": {"type": "integer"},
        "base_document_id": {"type": ["integer", "null"]},
        "corrects_id": {"type": ["integer", "null"]},
        "template_version": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "cancel_reason": {"type": ["string", "null"]},
        "files": {"type": "array", "items": FILE},
    },
}
TEMPLATE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "engine": {"type": "string", "enum": ["html", "docx"]},
        "project_id": {"type": ["integer", "null"]},
        "name": {"type": "string"},
        "filename": {"type": "string"},
        "sha256": {"type": "string"},
        "version": {"type": "string"},
        "is_active": {"type": "boolean"},
        "previewed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "guid": document.guid,
        "kind": document.kind,
        "title": document.title,
        "number": document.number,
        "date": document.doc_date.isoformat(),
        "status": document.status,
        "deal_id": document.deal_id,
        "client_id": document.client_id,
        "project_id": document.project_id,
        "organization_id": document.organization_id,
        "amount": str(document.amount),
        "vat_amount": str(document.vat_amount),
        "due_date": document.due_date.isoformat() if document.due_date else None,
        "correction_no": document.correction_no,
        "base_document_id": document.base_document_id,
        "corrects_id": document.corrects_id,
        "template_version": document.template_version,
        "issued_at": document.issued_at.isoformat(),
        "cancel_reason": document.cancel_reason,
        "files": [
            {
                "format": f.format,
                "filename": f.filename,
                "size": f.size,
                "sha256": f.sha256,
                "url": f"/api/v1/documents/{document.id}/file?format={f.format}",
            }
            for f in document.files
        ],
    }


def _deal(deal_id: int):
    deal = deal_services.get_deal(db.session, deal_id)
    if deal is None:
        raise NotFound("Сделка не найдена.")
    return deal


@api_route(
    "/deals/<int:deal_id>/documents",
    "GET",
    summary="Документы сделки (все, включая аннулированные)",
    tag="documents",
    perm=Perm.DOCUMENTS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": DOCUMENT}},
    },
)
def deal_documents(deal_id: int) -> dict:
    deal = _deal(deal_id)
    return {"items": [document_json(d) for d in services.deal_documents(db.session, deal.id)]}


@api_route(
    "/deals/<int:deal_id>/documents",
    "POST",
    summary="Выставить документ по сделке: номер, файлы PDF (и DOCX), фиксация",
    tag="documents",
    perm=Perm.DOCUMENTS_ISSUE,
    request_schema={
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": _KINDS},
            "date": {
                "type": "string",
                "format": "date",
                "description": "дата документа (по умолчанию сегодня): с 2000-01-01 и не "
                "позже чем через год от сегодняшнего дня, иначе 422",
            },
            "confirm_early": {
                "type": "boolean",
                "description": "акт или счёт-фактура с датой до закрытия выставки: без "
                "подтверждения (true) — 409 с объяснением",
            },
        },
    },
    response_schema=DOCUMENT,
    status=201,
)
def issue_document(deal_id: int) -> tuple[dict, int]:
    deal = _deal(deal_id)
    body = json_body()
    on = preconditions.parse_document_date(body.get("date"))
    document = services.issue_document(
        db.session,
        deal,
        str(body.get("kind", "")),
        actor=api_user(),
        on=on,
        confirm_early=body.get("confirm_early") is True,
    )
    return document_json(document), 201


@api_route(
    "/documents/<int:document_id>",
    "GET",
    summary="Документ: реквизиты, статус, файлы и их SHA-256",
    tag="documents",
    perm=Perm.DOCUMENTS_VIEW,
    response_schema=DOCUMENT,
)
def get_document(document_id: int) -> dict:
    return document_json(services.get_document(db.session, document_id))


@api_route(
    "/documents/<int:document_id>/file",
    "GET",
    summary="Файл выставленного документа (тот самый, зафиксированный при выставлении)",
    tag="documents",
    perm=Perm.DOCUMENTS_VIEW,
    query=[
        {
            "name": "format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["pdf", "docx"], "default": "pdf"},
        }
    ],
)
def document_file(document_id: int) -> Response:
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "docx"):
        raise BadRequest("format: pdf или docx.")
    document = services.get_document(db.session, document_id)
    stored = services.file_of(db.session, document, fmt)
    return send_bytes(stored.content, stored.filename, fmt)


@api_route(
    "/documents/<int:document_id>/cancel",
    "POST",
    summary="Аннулировать документ (номер остаётся занятым)",
    tag="documents",
    perm=Perm.DOCUMENTS_ISSUE,
    request_schema={
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string"}},
    },
    response_schema=DOCUMENT,
)
def cancel_document(document_id: int) -> dict:
    body = json_body()
    document = services.get_document(db.session, document_id)
    services.cancel_document(
        db.session, document, actor=api_user(), reason=str(body.get("reason") or "")
    )
    return document_json(document)


def template_json(template: DocumentTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "kind": template.kind,
        "engine": template.engine,
        "project_id": template.project_id,
        "name": template.name,
        "filename": template.filename,
        "sha256": template.sha256,
        "version": template.version,
        "is_active": template.is_active,
        "previewed_at": template.previewed_at.isoformat() if template.previewed_at else None,
    }


@api_route(
    "/document-templates",
    "POST",
    summary="Загрузить шаблон документа (DOCX или HTML): проверка размера, структуры и полей",
    tag="documents",
    perm=Perm.TEMPLATES_MANAGE,
    multipart={
        "type": "object",
        "required": ["file", "kind"],
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "kind": {"type": "string", "enum": list(templates_admin.TEMPLATE_KINDS)},
            "project_id": {"type": "integer"},
            "name": {"type": "string"},
        },
    },
    response_schema=TEMPLATE,
    status=201,
)
def upload_template() -> tuple[dict, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Приложите файл шаблона в поле file (multipart/form-data).")
    project = None
    if request.form.get("project_id"):
        project = db.session.get(Project, request.form.get("project_id", type=int))
        if project is None:
            raise NotFound("Проект не найден.")
    template = templates_admin.upload_template(
        db.session,
        kind=request.form.get("kind", ""),
        filename=upload.filename,
        data=upload.read(templates_admin.MAX_HTML_BYTES * 6),
        name=request.form.get("name"),
        project=project,
        actor=api_user(),
    )
    return template_json(template), 201


@api_route(
    "/document-templates/<int:template_id>/preview",
    "POST",
    summary="Предпросмотр шаблона на демонстрационных данных (PDF или DOCX)",
    tag="documents",
    perm=Perm.TEMPLATES_MANAGE,
)
def preview_template(template_id: int) -> Response:
    template = db.session.get(DocumentTemplate, template_id)
    if template is None:
        raise NotFound("Шаблон не найден.")
    result = templates_admin.preview_template(db.session, template, actor=api_user())
    fmt = "docx" if result.filename.endswith(".docx") else "pdf"
    return send_bytes(result.content, result.filename, fmt)


@api_route(
    "/document-templates/<int:template_id>/active",
    "POST",
    summary="Включить шаблон для его вида (только после предпросмотра) или отключить его",
    tag="documents",
    perm=Perm.TEMPLATES_MANAGE,
    request_schema={
        "type": "object",
        "required": ["active"],
        "properties": {"active": {"type": "boolean"}},
    },
    response_schema=TEMPLATE,
)
def activate_template(template_id: int) -> dict:
    body = json_body()
    template = db.session.get(DocumentTemplate, template_id)
    if template is None:
        raise NotFound("Шаблон не найден.")
    templates_admin.set_active(db.session, template, body["active"], actor=api_user())
    return template_json(template)
