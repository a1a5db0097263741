"""Plain-data contexts for the document engine, built from a deal. No ORM object leaves here."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from documents import formatting
from documents.money import VAT_ON_TOP, resolve_rate
from erp_crm.core.text import display_phone
from erp_crm.core.workdays import add_working_days
from erp_crm.deals.models import Deal
from erp_crm.organizations.models import Organization, VatRegime
from erp_crm.sales_documents.schema import (
    KIND_LABELS,
    NO_VAT_LABEL,
    line_dict,
    public_lines,
    totals_dict,
)


def _party_of_org(org: Organization) -> dict[str, Any]:
    return {
        "name": org.short_name,
        "full_name": org.full_name,
        "inn": org.inn,
        "kpp": org.kpp or "",
        "ogrn": org.ogrn,
        "address": org.legal_address,
        "postal_address": org.postal_address or org.legal_address,
        "phone": org.phone or "",
        "email": org.email or "",
        "bank_name": org.bank_name,
        "bik": org.bik,
        "account": org.settlement_account,
        "corr_account": org.correspondent_account or "",
        "director_position": org.director_position,
        "director_name": org.director_name,
        "accountant_name": org.chief_accountant_name or org.director_name,
        "is_sole_trader": org.is_sole_trader,
    }


def _buyer(deal: Deal) -> dict[str, Any]:
    client = deal.client
    contact = deal.contact
    return {
        "kind": client.kind,
        "name": client.name,
        "full_name": client.full_name or client.name,
        "inn": client.inn or "",
        "kpp": client.kpp or "",
        "ogrn": client.ogrn or "",
        "address": client.legal_address or "",
        "postal_address": client.postal_address or client.legal_address or "",
        "phone": (display_phone(contact.phones[0]) if contact and contact.phones else ""),
        "email": (contact.emails[0] if contact and contact.emails else ""),
        "website": client.website or "",
        "contact_name": contact.full_name if contact else "",
        "contact_position": (contact.position or "") if contact else "",
        "contact_phone": (display_phone(contact.phones[0]) if contact and contact.phones else ""),
        "contact_email": (contact.emails[0] if contact and contact.emails else ""),
    }


def _lines(
    deal: Deal, on: dt.date, organization: Organization
) -> tuple[list[dict[str, Any]], Decimal]:
    """The deal's lines at the VAT rate of the document's date `on` (a line priced «auto» in
    2025 is 22% on a 2026 document), as the seller's tax regime has it (УСН: its 5% / 7%, or no
    VAT). A VAT-included line keeps its amount with VAT; a line with VAT on top keeps its net
    (base − discount) and takes the VAT of that rate."""
    lines = []
    area = Decimal(0)
    for no, line in enumerate(deal.lines, start=1):
        lines.append(
            line_dict(
                no,
                kind=line.kind,
                description=line.description,
                unit=line.unit,
                unit_code=line.unit_code,
                quantity=line.quantity,
                amount=(
                    line.base_amount - line.discount if line.vat_mode == VAT_ON_TOP else line.amount
                ),
                vat_rate=organization.document_vat_rate(resolve_rate(line.vat_setting, on)),
                vat_mode=line.vat_mode,
            )
        )
        area += line.area_m2 or Decimal(0)
    return lines, area


def project_dict(project: Any) -> dict[str, Any]:
    return {
        "code": project.code,
        "name": project.name,
        "venue": project.venue or "",
        "city": project.city or "",
        "opening_date": project.opening_date,
        "closing_date": project.closing_date,
        "build_up_date": project.build_up_date,
        "dismantling_date": project.dismantling_date,
        "period": formatting.period(project.opening_date, project.closing_date),
    }


def _ref(doc: Any) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {"number": doc.number, "date": doc.doc_date}


def _stands_text(deal: Deal) -> str:
    parts = []
    for line in deal.lines:
        if line.kind == "stand" and line.stand_id is not None:
            label = line.description.split(",")[0].replace("Стенд", "").strip()
            parts.append(f"{label} ({formatting.quantity(line.area_m2)} м²)")
    return ", ".join(parts)


def _data_uri(image: bytes | None) -> str:
    if not image:
        return ""
    mime = "image/png" if image[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(image).decode()


def build(
    deal: Deal,
    organization: Organization,
    *,
    kind: str,
    number: str,
    doc_date: dt.date,
    contract: Any = None,
    invoice: Any = None,
    act: Any = None,
    corrects: Any = None,
    correction_no: int = 0,
    correction_date: dt.date | None = None,
    preview: bool = False,
    images: bool = True,
    payments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The context of one document of a deal (see schema.PLACEHOLDERS)."""
    project = deal.project
    lines, area = _lines(deal, doc_date, organization)
    exempt = organization.vat_regime == VatRegime.EXEMPT.value
    no_vat = f"Без НДС ({organization.vat_exempt_basis})" if exempt else NO_VAT_LABEL
    totals = totals_dict(lines, area, no_vat=no_vat)
    payment_days = organization.payment_days
    due = add_working_days(doc_date, payment_days)  # banking days, Russian production calendar
    discount = ""
    if deal.discount_kind == "percent" and deal.discount_value:
        discount = f"Скидка {formatting.quantity(deal.discount_value)}%"
    elif deal.discount_kind == "amount" and deal.discount_value:
        discount = f"Скидка {formatting.amount(deal.discount_value)} руб."
    return {
        "doc": {
            "kind": kind,
            "title": KIND_LABELS.get(kind, kind),
            "number": number,
            "date": doc_date,
            "year": doc_date.year,
            "is_preview": preview,
            "correction_no": str(correction_no) if correction_no else "",
            "correction_date": correction_date,
            "corrects": _ref(corrects),
        },
        "seller": _party_of_org(organization),
        "buyer": _buyer(deal),
        "project": project_dict(project),
        "deal": {
            "id": deal.id,
            "title": deal.audit_label(),
            "manager_name": deal.manager.full_name,
            "manager_email": deal.manager.email or "",
            "stands": _stands_text(deal),
            "area_m2": area,
            "discount_text": discount,
        },
        "lines": public_lines(lines),
        "totals": totals,
        "contract": _ref(contract),
        "invoice": _ref(invoice),
        "act": _ref(act),
        "payment": {
            "due_date": due,
            "days": payment_days,
            "purpose": (
                f"Оплата по счёту № {number} от {formatting.date_short(doc_date)} за участие в "
                f"выставке «{project.name}», "
                + (
                    f"в т.ч. НДС {formatting.amount(totals['vat_amount'])} руб."
                    if totals["vat_amount"]
                    else ("НДС не облагается" if exempt else "без НДС")
                )
            ),
        },
        "payments": payments or [],
        "advances": [],
        "stamp": _data_uri(organization.stamp_image) if images else "",
        "signature": _data_uri(organization.signature_image) if images else "",
        "accountant_signature": (
            _data_uri(organization.accountant_signature_image) if images else ""
        ),
    }


def snapshot(context: dict[str, Any]) -> dict[str, Any]:
    """The JSON-safe copy stored with an issued document (images replaced by a marker)."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    data = plain(context)
    for key in ("stamp", "signature", "accountant_signature"):
        data[key] = "image" if context.get(key) else ""
    json.dumps(data)  # fail here, not in the database, if something is not plain
    return data


def docx_images(organization: Organization) -> dict[str, bytes]:
    """DOCX templates take images as bytes (the renderer wraps them in InlineImage)."""
    return {
        "stamp": organization.stamp_image or b"",
        "signature": organization.signature_image or b"",
        "accountant_signature": organization.accountant_signature_image or b"",
    }
