"""Money arithmetic of Russian sales documents: rounding, VAT by rate and date, amounts in words.

Amounts are Decimal, rounded half-up to kopecks; VAT is computed per line and totals are sums of
rounded lines (see shared REFERENCE). Prices in this product include VAT («в т.ч. НДС»).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
VAT_2026 = dt.date(2026, 1, 1)
NO_VAT = "none"


def money(value: Decimal | int | str) -> Decimal:
    """Round to kopecks, half up (never banker's rounding)."""
    return Decimal(value).quantize(KOPECK, rounding=ROUND_HALF_UP)


def general_rate_on(date: dt.date) -> Decimal:
    """The general VAT rate: 22% from 1 January 2026 (425-ФЗ), 20% before."""
    return Decimal(22) if date >= VAT_2026 else Decimal(20)


def resolve_rate(setting: str | None, date: dt.date) -> Decimal | None:
    """A rate setting (auto, 22, 10, 0, none …) on a date -> percent, or None (no VAT)."""
    if setting in (None, "", "auto"):
        return general_rate_on(date)
    if setting == NO_VAT:
        return None
    return Decimal(setting)


@dataclass(frozen=True)
class VatSplit:
    gross: Decimal  # with VAT
    vat: Decimal
    net: Decimal  # without VAT


def split_gross(gross: Decimal, rate: Decimal | None) -> VatSplit:
    """VAT contained in a VAT-inclusive amount: gross × rate / (100 + rate), rounded per line."""
    gross = money(gross)
    if rate is None or rate == 0:
        return VatSplit(gross=gross, vat=money(0), net=gross)
    vat = money(gross * rate / (Decimal(100) + rate))
    return VatSplit(gross=gross, vat=vat, net=gross - vat)


def rate_label(rate: Decimal | None) -> str:
    if rate is None:
        return "Без НДС"
    return f"{rate.normalize():f}%"
