"""API: payments from the accounting system, an invoice's payments, receivables, exchange log."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from erp_crm.api.routing import api_route
from erp_crm.auth.permissions import Perm
from erp_crm.billing import receivables as debts
from erp_crm.billing import services
from erp_crm.billing.models import Payment, PaymentAllocation
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import NotFound
from erp_crm.integration.models import ExchangeEvent, OutboxMessage
from erp_crm.sales_documents.models import Document

_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "Decimal as a string"}
ALLOCATION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "payment_id": {"type": "integer"},
        "document_id": {"type": "integer"},
        "amount": _MONEY,
        "method": {"type": "string", "enum": ["reference", "number", "amount", "manual"]},
    },
}
PAYMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "accounting_id": {"type": "string"},
        "number": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "payer_name": {"type": "string"},
        "payer_inn": {"type": ["string", "null"]},
        "amount": _MONEY,
        "unallocated": _MONEY,
        "purpose": {"type": "string"},
        "client_id": {"type": ["integer", "null"]},
        "allocations": {"type": "array", "items": ALLOCATION},
    },
}


def allocation_json(a: PaymentAllocation) -> dict[str, Any]:
    return {
        "id": a.id,
        "payment_id": a.payment_id,
        "document_id": a.document_id,
        "amount": str(a.amount),
        "method": a.method,
    }


def payment_json(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "accounting_id": p.accounting_id,
        "number": p.number,
        "date": p.pay_date.isoformat(),
        "payer_name": p.payer_name,
        "payer_inn": p.payer_inn,
        "amount": str(p.amount),
        "unallocated": str(p.unallocated),
        "purpose": p.purpose,
        "client_id": p.client_id,
        "allocations": [allocation_json(a) for a in p.allocations],
    }


@api_route(
    "/payments",
    "GET",
    summary="Платежи из 1С (unallocated=true — с неразнесённым остатком)",
    tag="billing",
    perm=Perm.PAYMENTS_VIEW,
    query=[
        {"name": "unallocated", "in": "query", "required": False, "schema": {"type": "boolean"}},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": PAYMENT}, "total": {"type": "integer"}},
    },
)
def list_payments() -> dict:
    query = select(Payment).order_by(Payment.id.desc())
    if request.args.get("unallocated") in ("1", "true"):
        query = query.where(Payment.unallocated > 0)
    page = paginate(db.session, query, page=parse_page(request.args.get("page")), per_page=100)
    return {"items": [payment_json(p) for p in page.items], "total": page.total}


@api_route(
    "/invoices/<int:document_id>/payments",
    "GET",
    summary="Оплаты счёта: разнесения, оплачено, долг, состояние (оплачен, частично, просрочен)",
    tag="billing",
    perm=Perm.PAYMENTS_VIEW,
    response_schema={
        "type": "object",
        "properties": {
            "document_id": {"type": "integer"},
            "amount": _MONEY,
            "paid": _MONEY,
            "outstanding": _MONEY,
            "state": {"type": "string", "enum": ["paid", "partly_paid", "unpaid", "overdue"]},
            "allocations": {"type": "array", "items": ALLOCATION},
        },
    },
)
def invoice_payments(document_id: int) -> dict:
    invoice = db.session.get(Document, document_id)
    if invoice is None or invoice.kind != "invoice":
        raise NotFound("Счёт не найден.")
    allocations = db.session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.document_id == invoice.id)
        .order_by(PaymentAllocation.id)
    ).all()
    paid = sum((a.amount for a in allocations), services.ZERO)
    return {
        "document_id": invoice.id,
        "amount": str(invoice.amount),
        "paid": str(paid),
        "outstanding": str(invoice.amount - paid),
        "state": services.invoice_state(invoice, paid),
        "allocations": [allocation_json(a) for a in allocations],
    }


@api_route(
    "/receivables",
    "GET",
    summary="Дебиторская задолженность по срокам (group_by=client|project|manager)",
    tag="billing",
    perm=Perm.PAYMENTS_VIEW,
    query=[
        {
            "name": "group_by",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": list(debts.GROUPINGS)},
        },
        {"name": "project_id", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
)
def get_receivables() -> dict:
    report = debts.receivables(
        db.session,
        group_by=request.args.get("group_by", "client"),
        project_id=request.args.get("project_id", type=int),
    )
    return {
        "date": report.today.isoformat(),
        "group_by": report.group_by,
        "buckets": list(debts.BUCKETS),
        "rows": [
            {
                "id": r.key,
                "name": r.label,
                "invoices": r.invoices,
                **{b: str(r.buckets[b]) for b in debts.BUCKETS},
                "total": str(r.total),
            }
            for r in report.rows
        ],
        "totals": {**{b: str(v) for b, v in report.totals.items()}, "total": str(report.total)},
    }


@api_route(
    "/exchange-log",
    "GET",
    summary="Журнал обмена с 1С: сообщения очереди и вызовы",
    tag="billing",
    perm=Perm.EXCHANGE_VIEW,
    query=[
        {
            "name": "status",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["pending", "sent", "dead"]},
        }
    ],
)
def exchange_log() -> dict:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if request.args.get("status") in ("pending", "sent", "dead"):
        query = query.where(OutboxMessage.status == request.args["status"])
    events = db.session.scalars(
        select(ExchangeEvent).order_by(ExchangeEvent.id.desc()).limit(100)
    ).all()
    return {
        "messages": [
            {
                "id": m.id,
                "kind": m.kind,
                "object_id": m.object_id,
                "guid": m.object_guid,
                "label": m.label,
                "status": m.status,
                "attempts": m.attempts,
                "message_no": m.message_no,
                "last_error": m.last_error,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in db.session.scalars(query)
        ],
        "events": [
            {
                "at": e.at.isoformat(),
                "operation": e.operation,
                "ok": e.ok,
                "message_no": e.message_no,
                "detail": e.detail,
            }
            for e in events
        ],
    }
