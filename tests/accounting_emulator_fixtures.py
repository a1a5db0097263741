"""Builders of exchange messages for the SOAP tests (plain data, no database, no zeep)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from accounting_sync.messages import (
    Budget,
    BudgetLine,
    Counterparty,
    Document,
    DocumentLine,
    new_guid,
)

USER = "Обмен"
PASSWORD = "Пароль-обмена-1"
ORGANIZATION_INN = "7701234567"
#: The emulator's "today" in the tests: October and November 2026 are past months.
TODAY = date(2026, 12, 15)


def counterparty(inn: str = "7707083893", kpp: str | None = "773601001", **fields) -> Counterparty:
    """A legal entity with full requisites."""
    values = {
        "guid": new_guid(),
        "kind": "legal",
        "name": "Ромашка",
        "full_name": 'ООО "Ромашка"',
        "inn": inn,
        "kpp": kpp,
        "ogrn": "1027700132195",
        "legal_address": "г. Москва, ул. Выставочная, д. 1",
        "phone": "+7 495 123-45-67",
        "email": "buh@romashka.example",
    }
    values.update(fields)
    return Counterparty(**values)


def line(
    no: int, quantity: str, price: str, rate: str = "22", description: str = "Стенд"
) -> DocumentLine:
    """A line whose VAT is included in the amount, rounded half-up to kopecks."""
    amount = (Decimal(quantity) * Decimal(price)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    vat = Decimal("0.00")
    if rate not in ("0", "none"):
        vat = (amount * Decimal(rate) / (100 + Decimal(rate))).quantize(
            Decimal("0.01"), ROUND_HALF_UP
        )
    return DocumentLine(
        line_no=no,
        description=description,
        unit="м2",
        unit_code="055",
        quantity=Decimal(quantity),
        price=Decimal(price),
        amount=amount,
        vat_rate=rate,
        vat_amount=vat,
    )


def document(
    cp: Counterparty,
    number: str = "15",
    kind: str = "invoice",
    lines: tuple[DocumentLine, ...] | None = None,
    **fields,
) -> Document:
    """A document whose totals are the sums of its lines."""
    lines = lines if lines is not None else (line(1, "12.5", "8000.00"), line(2, "1", "4500.50"))
    values = {
        "guid": new_guid(),
        "kind": kind,
        "number": number,
        "date": date(2026, 11, 1),
        "status": "issued",
        "organization_inn": ORGANIZATION_INN,
        "counterparty_guid": cp.guid,
        "contract_number": "Д-7/2026",
        "contract_date": date(2026, 10, 1),
        "amount": sum((ln.amount for ln in lines), Decimal("0.00")),
        "vat_amount": sum((ln.vat_amount for ln in lines), Decimal("0.00")),
        "lines": lines,
    }
    values.update(fields)
    return Document(**values)


def budget(project_guid: str, version: int = 1, guid: str | None = None) -> Budget:
    """A budget with expenses in past (Oct, Nov 2026) and future (Jan 2027) months and income."""
    return Budget(
        guid=guid or new_guid(),
        project_guid=project_guid,
        project_code="EXPO-26",
        project_name="Выставка «Стройэкспо-2026»",
        version=version,
        lines=(
            BudgetLine(
                article_code="100",
                article_name="Продажа стендов",
                direction="income",
                month=date(2026, 11, 1),
                amount=Decimal("500000.00"),
            ),
            BudgetLine(
                article_code="200",
                article_name="Аренда павильона",
                direction="expense",
                month=date(2026, 10, 1),
                amount=Decimal("150000.00"),
            ),
            BudgetLine(
                article_code="210",
                article_name="Застройка",
                direction="expense",
                month=date(2026, 11, 1),
                amount=Decimal("80000.55"),
            ),
            BudgetLine(
                article_code="200",
                article_name="Аренда павильона",
                direction="expense",
                month=date(2027, 1, 1),
                amount=Decimal("150000.00"),
            ),
        ),
    )
