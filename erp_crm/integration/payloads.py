"""What accounting receives about our records: the one mapping from the app's models to the
payloads of the exchange messages (Counterparty, Document, Budget of the ExpoExchange contract).

A payload is frozen as JSON in the outbox row when the change is made: money as strings with two
decimals ("1234.50"), dates as ISO strings, our GUIDs (`core.guids.guid_for` for records without
a guid column). accounting_sync turns a payload into its wire message field by field
(`accounting_sync.messages.from_payload`), so the keys here are the wire fields' names.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.budgets.models import (
    BudgetArticle,
    BudgetLine,
    BudgetVersion,
    Direction,
    VersionStatus,
)
from erp_crm.clients.models import Client
from erp_crm.core.guids import guid_for
from erp_crm.organizations.models import Organization
from erp_crm.projects import plans
from erp_crm.sales_documents.models import Document

CENT = Decimal("0.01")
VAT_RATES = {"Без НДС": "none"}  # the snapshot's label → the contract's code; "20%" → "20"


def counterparty_payload(client: Client) -> dict[str, Any]:
    """A client as «Справочник.Контрагенты» sees it; the first phone and e-mail of its contacts."""
    contact_phone = contact_email = ""
    for contact in client.contacts:
        contact_phone = contact_phone or (contact.phones[0] if contact.phones else "")
        contact_email = contact_email or (contact.emails[0] if contact.emails else "")
    return {
        "guid": guid_for("clients", client.id),
        "kind": client.kind,
        "name": client.name,
        "full_name": client.full_name or client.name,
        "inn": client.inn or "",
        "kpp": client.kpp,
        "ogrn": client.ogrn,
        "legal_address": client.legal_address or "",
        "phone": contact_phone,
        "email": contact_email,
    }


_INN = re.compile(r"\d{10}|\d{12}")
_KPP = re.compile(r"\d{4}[0-9A-Z]{2}\d{3}")
_OGRN = re.compile(r"\d{13}|\d{15}")


def counterparty_problems(payload: dict[str, Any]) -> list[str]:
    """What the contract's Counterparty type forbids (ExpoExchange.wsdl: Kind legal or
    sole_trader, INN of 10 or 12 digits, KPP and OGRN by their patterns), in Russian: such an
    object is not sent — 1C would refuse the whole message carrying it."""
    found = []
    if payload["kind"] not in ("legal", "sole_trader"):
        found.append(
            "Физическое лицо не передаётся в 1С как контрагент: обмен принимает только "
            "организации и ИП."
        )
    elif not _INN.fullmatch(payload["inn"] or ""):
        found.append(
            "У контрагента не указан ИНН (или он неверной длины): 1С принимает контрагента "
            "только с ИНН из 10 или 12 цифр."
        )
    if payload.get("kpp") and not _KPP.fullmatch(payload["kpp"]):
        found.append("КПП контрагента не по формату 1С (9 знаков).")
    if payload.get("ogrn") and not _OGRN.fullmatch(payload["ogrn"]):
        found.append("ОГРН контрагента не по формату 1С (13 или 15 цифр).")
    return found


def document_payload(session: Session, document: Document) -> dict[str, Any]:
    """An invoice, act or VAT invoice from its frozen snapshot (lines as they were issued)."""
    snapshot = document.snapshot
    organization = session.get(Organization, document.organization_id)
    base = session.get(Document, document.base_document_id) if document.base_document_id else None
    contract = snapshot.get("contract") or None
    return {
        "guid": document.guid,
        "kind": document.kind,
        "number": document.number,
        "date": document.doc_date.isoformat(),
        "status": "cancelled" if document.status == "cancelled" else "issued",
        "organization_inn": organization.inn,
        "counterparty_guid": guid_for("clients", document.client_id),
        "contract_number": contract["number"] if contract else None,
        "contract_date": contract["date"] if contract else None,
        "base_document_guid": base.guid if base else None,
        "project_guid": guid_for("projects", document.project_id),
        "currency": "643",
        "amount": str(document.amount),
        "vat_amount": str(document.vat_amount),
        "lines": [
            {
                "line_no": line["no"],
                "description": line["description"][:500],
                "unit": line["unit"],
                "unit_code": line["unit_code"],
                "quantity": line["quantity"],
                "price": line["price"],
                "amount": line["amount"],
                "vat_rate": VAT_RATES.get(line["vat_rate"], line["vat_rate"].rstrip("%")),
                "vat_amount": line["vat_amount"],
            }
            for line in snapshot.get("lines", [])
        ],
    }


def budget_payload(session: Session, version: BudgetVersion) -> dict[str, Any]:
    """An approved budget version: months as 'YYYY-MM-01', only the non-zero cells, income
    first (then by the articles' order)."""
    project = version.project
    rows = session.execute(
        select(BudgetArticle, BudgetLine.month, BudgetLine.amount)
        .join(BudgetLine, BudgetLine.article_id == BudgetArticle.id)
        .where(BudgetLine.version_id == version.id, BudgetLine.amount != 0)
    ).all()
    order = {Direction.INCOME.value: 0, Direction.EXPENSE.value: 1}
    rows.sort(key=lambda r: (order[r[0].direction], r[0].position, r[0].code, r[1]))
    return {
        "guid": version.guid,
        "project_guid": guid_for("projects", project.id),
        "project_code": project.code,
        "project_name": project.name,
        "version": version.number,
        "status": VersionStatus.APPROVED.value,
        "lines": [
            {
                "article_code": article.code,
                "article_name": article.name,
                "direction": article.direction,
                "month": plans.month_start(month).isoformat(),
                "amount": f"{Decimal(amount).quantize(CENT):.2f}",
            }
            for article, month, amount in rows
        ],
    }
