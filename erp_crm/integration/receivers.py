"""What goes to the accounting system: receivers of the documents' signals, connected when
erp_crm.integration is imported.

Issuing or cancelling an invoice, act or VAT invoice writes, in the same transaction, an outbox
row for the counterparty (1C matches it by ИНН+КПП and keeps our GUID) and one for the document.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.clients.models import Client
from erp_crm.integration.outbox import enqueue, guid_for
from erp_crm.organizations.models import Organization
from erp_crm.sales_documents.models import Document
from erp_crm.sales_documents.schema import DocumentKind

SENT_KINDS = {DocumentKind.INVOICE.value, DocumentKind.ACT.value, DocumentKind.VAT_INVOICE.value}


def counterparty_payload(client: Client) -> dict[str, Any]:
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


def document_payload(session: Session, document: Document) -> dict[str, Any]:
    snapshot = document.snapshot
    organization = session.get(Organization, document.organization_id)
    base = session.get(Document, document.base_document_id) if document.base_document_id else None
    contract = snapshot.get("contract") or None
    rates = {"Без НДС": "none"}
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
                "vat_rate": rates.get(line["vat_rate"], line["vat_rate"].rstrip("%")),
                "vat_amount": line["vat_amount"],
            }
            for line in snapshot.get("lines", [])
        ],
    }


@signals.document_issued.connect
def on_issued(document: Document, *, session: Session, **_: object) -> None:
    on_document(session, document, "issued")


@signals.document_cancelled.connect
def on_cancelled(document: Document, *, session: Session, **_: object) -> None:
    on_document(session, document, "cancelled")


def on_document(session: Session, document: Document, action: str) -> None:
    if document.kind not in SENT_KINDS:
        return
    client = session.get(Client, document.client_id)
    enqueue(
        session,
        "counterparty",
        object_id=client.id,
        guid=guid_for("clients", client.id),
        payload=counterparty_payload(client),
        label=client.name,
    )
    enqueue(
        session,
        "document",
        object_id=document.id,
        guid=document.guid,
        payload=document_payload(session, document),
        label=document.audit_label() + (" (аннулирование)" if action == "cancelled" else ""),
    )
