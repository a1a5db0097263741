"""The mailing API: selections, campaigns (their frozen list, the labels/envelopes PDF, the
export), sending an issued document by e-mail, the status of the e-mails."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.deals.models import Deal
from erp_crm.errors import NotFound, PermissionDenied
from erp_crm.mailing import outbox, printing, selections, sending
from erp_crm.mailing.models import Campaign, CampaignRecipient, MailMessage, Selection

_STR = {"type": ["string", "null"]}
_INT = {"type": ["integer", "null"]}
SELECTION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "target": {"type": "string", "enum": list(selections.TARGETS)},
        "contact_mode": {"type": "string", "enum": list(selections.CONTACT_MODES)},
        "position": _STR,
        "filter": {"type": "object", "description": "фильтр списка контрагентов (как в адресе)"},
    },
}
SELECTION_REQUEST = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "target": {"type": "string", "enum": list(selections.TARGETS)},
        "contact_mode": {"type": "string", "enum": list(selections.CONTACT_MODES)},
        "position": _STR,
        "filter": {"type": "object"},
    },
}
ENTRY = {
    "type": "object",
    "properties": {
        "client_id": {"type": "integer"},
        "client": {"type": "string"},
        "contact_id": _INT,
        "person": _STR,
        "address": _STR,
        "email": _STR,
        "excluded": {"type": ["string", "null"], "enum": [*selections.EXCLUSIONS, None]},
        "reason": _STR,
    },
}
CAMPAIGN = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "selection_id": {"type": "integer"},
        "channel": {"type": "string", "enum": list(selections.CHANNELS)},
        "status": {"type": "string"},
        "frozen_at": {"type": ["string", "null"], "format": "date-time"},
        "included": {"type": "integer"},
        "excluded": {"type": "object", "description": "причина → число"},
    },
}
CAMPAIGN_REQUEST = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "channel": {"type": "string", "enum": list(selections.CHANNELS)},
        "subject": _STR,
        "body": _STR,
        "project_id": _INT,
    },
}
MAIL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": list(outbox.STATUS_LABELS)},
        "to": {"type": "string"},
        "subject": {"type": "string"},
        "attempts": {"type": "integer"},
        "server_reply": _STR,
        "sent_at": {"type": ["string", "null"], "format": "date-time"},
        "deal_id": _INT,
        "document_id": _INT,
        "campaign_id": _INT,
    },
}


def _selection(row: Selection) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "target": row.target,
        "contact_mode": row.contact_mode,
        "position": row.position,
        "filter": row.filter or {},
    }


def _campaign(row: Campaign) -> dict[str, Any]:
    from sqlalchemy import func

    counts = dict(
        db.session.execute(
            select(CampaignRecipient.excluded, func.count())
            .where(CampaignRecipient.campaign_id == row.id)
            .group_by(CampaignRecipient.excluded)
        ).all()
    )
    return {
        "id": row.id,
        "name": row.name,
        "selection_id": row.selection_id,
        "channel": row.channel,
        "status": row.status,
        "frozen_at": row.frozen_at.isoformat() if row.frozen_at else None,
        "included": counts.pop(None, 0),
        "excluded": counts,
    }


def _mail(row: MailMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "to": row.to_address,
        "subject": row.subject,
        "attempts": row.attempts,
        "server_reply": row.server_reply,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "deal_id": row.deal_id,
        "document_id": row.document_id,
        "campaign_id": row.campaign_id,
    }


def _filter(data: dict[str, Any]) -> dict[str, Any]:
    value = data.get("filter") or {}
    if not isinstance(value, dict):
        raise BadRequest("filter: ожидается объект.")
    return {k: v for k, v in value.items() if isinstance(v, str | int | bool)}


@api_route(
    "/mailing/selections",
    "GET",
    summary="Выборки для рассылок",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": SELECTION}},
    },
)
def list_selections() -> dict:
    rows = db.session.scalars(select(Selection).order_by(Selection.id.desc())).all()
    return {"items": [_selection(r) for r in rows]}


@api_route(
    "/mailing/selections",
    "POST",
    summary="Сохранить выборку (фильтр списка контрагентов, кого включать)",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    request_schema=SELECTION_REQUEST,
    response_schema=SELECTION,
    status=201,
)
def create_selection() -> tuple[dict, int]:
    data = json_body()
    row = selections.save_selection(
        db.session,
        name=data.get("name"),
        filter_args=_filter(data),
        target=data.get("target") or "clients",
        contact_mode=data.get("contact_mode") or "all",
        position=data.get("position"),
        actor=api_user(),
    )
    return _selection(row), 201


@api_route(
    "/mailing/selections/<int:selection_id>/entries",
    "GET",
    summary="Кто войдёт в выборку сейчас, с причинами исключения",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    query=[
        {
            "name": "channel",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": list(selections.CHANNELS)},
        }
    ],
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": ENTRY}, "counts": {"type": "object"}},
    },
)
def selection_entries(selection_id: int) -> dict:
    row = selections.get_selection(db.session, selection_id)
    channel = request.args.get("channel", "post")
    if channel not in selections.CHANNELS:
        raise BadRequest("channel: post или email.")
    items = list(selections.entries(db.session, row, actor=api_user(), channel=channel))
    return {
        "items": [
            {
                "client_id": e.client_id,
                "client": e.client_name,
                "contact_id": e.contact_id,
                "person": e.person,
                "address": e.address.one_line() if e.address else None,
                "email": e.email,
                "excluded": e.excluded,
                "reason": e.reason,
            }
            for e in items
        ],
        "counts": selections.summary(items),
    }


@api_route(
    "/mailing/selections/<int:selection_id>/campaigns",
    "POST",
    summary="Создать рассылку по выборке (список фиксируется при печати, выгрузке, отправке)",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    request_schema=CAMPAIGN_REQUEST,
    response_schema=CAMPAIGN,
    status=201,
)
def create_campaign(selection_id: int) -> tuple[dict, int]:
    data = json_body()
    selection = selections.get_selection(db.session, selection_id)
    row = selections.create_campaign(
        db.session,
        selection,
        name=data.get("name"),
        channel=data.get("channel") or "post",
        subject=data.get("subject"),
        body=data.get("body"),
        project_id=data.get("project_id"),
        actor=api_user(),
    )
    return _campaign(row), 201


@api_route(
    "/mailing/campaigns/<int:campaign_id>",
    "GET",
    summary="Рассылка: статус, сколько вошло и сколько исключено по причинам",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    response_schema=CAMPAIGN,
)
def get_campaign(campaign_id: int) -> dict:
    return _campaign(selections.get_campaign(db.session, campaign_id))


@api_route(
    "/mailing/campaigns/<int:campaign_id>/pdf",
    "POST",
    summary="PDF рассылки: наклейки (format_id) или конверты (envelope: DL, C6, C5, C4)",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    request_schema={
        "type": "object",
        "properties": {
            "format_id": _INT,
            "envelope": {"type": ["string", "null"], "enum": [*printing.ENVELOPES, None]},
        },
    },
)
def campaign_pdf(campaign_id: int) -> Response:
    data = json_body()
    campaign = selections.get_campaign(db.session, campaign_id)
    if data.get("envelope"):
        pdf, _ = printing.campaign_envelopes(
            db.session, campaign, data["envelope"], actor=api_user()
        )
        headers = {}
    else:
        if data.get("format_id") is None:
            raise BadRequest("Укажите format_id (формат наклеек) или envelope (формат конверта).")
        fmt = printing.get_format(db.session, data["format_id"])
        report = printing.campaign_labels(db.session, campaign, fmt, actor=api_user())
        pdf = report.pdf
        headers = {
            "X-Labels": str(report.labels),
            "X-Labels-Not-Fitting": str(len(report.not_fitting)),
        }
    response = Response(pdf, mimetype="application/pdf", headers=headers)
    response.headers["Content-Disposition"] = f'attachment; filename="campaign-{campaign.id}.pdf"'
    return response


@api_route(
    "/mailing/campaigns/<int:campaign_id>/export",
    "GET",
    summary="Список рассылки для внешних сервисов (CSV или XLSX); фиксирует список",
    tag="mailing",
    perm=Perm.MAILING_WORK,
    query=[
        {
            "name": "format",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["csv", "xlsx"], "default": "csv"},
        }
    ],
)
def campaign_export(campaign_id: int) -> Response:
    campaign = selections.get_campaign(db.session, campaign_id)
    fmt = request.args.get("format", "csv")
    if fmt == "csv":
        data, mime = selections.export_csv(db.session, campaign, actor=api_user()), "text/csv"
    elif fmt == "xlsx":
        data = selections.export_xlsx(db.session, campaign, actor=api_user())
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise BadRequest("format: csv или xlsx.")
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="campaign-{campaign.id}.{fmt}"'
    return response


@api_route(
    "/deals/<int:deal_id>/mail",
    "POST",
    summary="Отправить выставленный документ (document_id) или пакет ZIP контакту клиента",
    tag="mailing",
    perm=Perm.MAILING_SEND_DOCUMENTS,
    request_schema={
        "type": "object",
        "required": ["contact_id"],
        "properties": {
            "document_id": _INT,
            "package": {"type": ["boolean", "null"]},
            "contact_id": {"type": "integer"},
            "email": _STR,
            "message": _STR,
        },
    },
    response_schema=MAIL,
    status=202,
)
def send_deal_document(deal_id: int) -> tuple[dict, int]:
    data = json_body()
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("Сделка не найдена.")
    if not sending.can_send_documents(api_user(), deal):
        raise PermissionDenied("Отправить документы этой сделки может её менеджер.")
    what = sending.PACKAGE if data.get("package") else data.get("document_id")
    if what is None:
        raise BadRequest("Укажите document_id или package: true.")
    row = sending.send_document(
        db.session,
        deal,
        what=what,
        contact_id=data.get("contact_id"),
        email=data.get("email"),
        message=data.get("message"),
        actor=api_user(),
    )
    return _mail(row), 202


@api_route(
    "/mail/<int:message_id>",
    "GET",
    summary="Статус письма: в очереди, отправлено, ошибка с ответом сервера, не доставлено",
    tag="mailing",
    response_schema=MAIL,
)
def mail_status(message_id: int) -> dict:
    row = db.session.get(MailMessage, message_id)
    if row is None:
        raise NotFound("Письмо не найдено.")
    user = api_user()
    from erp_crm.auth.permissions import has_permission

    allowed = has_permission(user, Perm.MAILING_LOG)
    if not allowed and row.deal_id is not None:
        deal = db.session.get(Deal, row.deal_id)
        allowed = deal is not None and sending.can_send_documents(user, deal)
    if not allowed:
        raise PermissionDenied()
    return _mail(row)


@api_route(
    "/deals/<int:deal_id>/mail",
    "GET",
    summary="Письма по сделке и их статусы",
    tag="mailing",
    perm=Perm.DEALS_VIEW,
    response_schema={"type": "object", "properties": {"items": {"type": "array", "items": MAIL}}},
)
def deal_mail(deal_id: int) -> dict:
    if db.session.get(Deal, deal_id) is None:
        raise NotFound("Сделка не найдена.")
    rows = db.session.scalars(outbox.log_query(deal_id=deal_id).limit(100)).all()
    return {"items": [_mail(r) for r in rows]}
