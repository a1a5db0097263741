"""What must hold before a sales document is issued: the deal (not lost, with lines, an amount
for the documents to be paid, the client's ИНН), the document's date (01.01.2000 … a year
ahead), and for an act or a VAT invoice dated before the exhibition's last day, the user's
confirmation that the services were rendered. No lookups and no writes."""

from __future__ import annotations

import datetime as dt

from erp_crm.deals.models import Deal, Outcome
from erp_crm.errors import Conflict, ValidationError
from erp_crm.sales_documents.schema import KIND_LABELS, DocumentKind


def check_deal(deal: Deal, kind: str) -> None:
    if deal.outcome == Outcome.LOST.value:
        raise Conflict("Сделка проиграна: документы по ней не выставляются.")
    if not deal.lines:
        raise Conflict("В сделке нет строк: добавьте стенд, площадь или услуги.")
    if kind in (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.VAT_INVOICE):
        if deal.amount <= 0:
            raise Conflict("Сумма сделки равна нулю: документ на оплату не выставляется.")
    client = deal.client
    if (
        kind
        in (DocumentKind.CONTRACT, DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.VAT_INVOICE)
        and client.kind != "person"
        and not client.inn
    ):
        raise Conflict(f"У контрагента «{client.name}» не указан ИНН: он нужен в документе.")


EARLY_KINDS = (DocumentKind.ACT.value, DocumentKind.VAT_INVOICE.value)


def needs_early_confirmation(deal: Deal, kind: str, on: dt.date | None = None) -> bool:
    """An act / VAT invoice dated before the exhibition's last day: the services are not given."""
    closing = deal.project.closing_date
    return kind in EARLY_KINDS and closing is not None and (on or dt.date.today()) < closing


def check_services_rendered(deal: Deal, kind: str, doc_date: dt.date) -> None:
    if needs_early_confirmation(deal, kind, doc_date):
        raise Conflict(
            f"Выставка «{deal.project.name}» ещё не прошла (закрытие "
            f"{deal.project.closing_date:%d.%m.%Y}), а «{KIND_LABELS[DocumentKind(kind)]}» "
            f"от {doc_date:%d.%m.%Y} подтверждает оказанные услуги. Если услуги действительно "
            "оказаны, подтвердите выставление."
        )


EARLIEST_DOCUMENT_DATE = dt.date(2000, 1, 1)


def latest_document_date(today: dt.date | None = None) -> dt.date:
    """A document may be dated at most a year ahead of today."""
    today = today or dt.date.today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def check_document_date(on: dt.date) -> None:
    """Refuse a date outside 01.01.2000 … a year ahead (a typo such as 0713-06-04 or 2206)."""
    latest = latest_document_date()
    if on < EARLIEST_DOCUMENT_DATE or on > latest:
        raise ValidationError(
            f"Дата документа {on.strftime('%d.%m.%Y') if on.year >= 1000 else on.isoformat()} "
            f"вне допустимого диапазона: с 01.01.2000 по {latest.strftime('%d.%m.%Y')} "
            "(не позже чем через год от сегодняшнего дня). Проверьте год.",
            fields={"date": "вне допустимого диапазона"},
        )


def parse_document_date(value: object) -> dt.date | None:
    """A document date from a form or an API body (ГГГГ-ММ-ДД); empty means today."""
    if value in (None, ""):
        return None
    try:
        on = dt.date.fromisoformat(str(value).strip())
    except ValueError as err:
        raise ValidationError(
            "Дата документа — в формате ГГГГ-ММ-ДД.", fields={"date": "неверный формат"}
        ) from err
    check_document_date(on)
    return on
