"""Money arithmetic of Russian sales documents: rounding, VAT by rate and date, amounts in words.

Amounts are Decimal, rounded half-up to kopecks; VAT is computed per line and totals are sums of
rounded lines (see shared REFERENCE). A price either includes VAT («в т.ч. НДС»: the VAT is
extracted from the gross) or is net with VAT on top («НДС сверху»: VAT = net × rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
VAT_2026 = dt.date(2026, 1, 1)
NO_VAT = "none"
# How a price is quoted: VAT included in it (the gross stays on a document of another rate), or
# net with VAT on top (the net stays, the VAT follows the document's rate).
VAT_INCLUDED = "included"
VAT_ON_TOP = "on_top"
VAT_MODES = {VAT_INCLUDED: "НДС в т.ч.", VAT_ON_TOP: "НДС сверху"}


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


def add_vat(net: Decimal, rate: Decimal | None) -> VatSplit:
    """VAT on top of a net amount: net × rate / 100, rounded per line; gross = net + VAT."""
    net = money(net)
    if rate is None or rate == 0:
        return VatSplit(gross=net, vat=money(0), net=net)
    vat = money(net * rate / Decimal(100))
    return VatSplit(gross=net + vat, vat=vat, net=net)


def split(amount: Decimal, rate: Decimal | None, mode: str | None) -> VatSplit:
    """`amount` is the gross of a VAT-included line, the net of a line with VAT on top."""
    return add_vat(amount, rate) if mode == VAT_ON_TOP else split_gross(amount, rate)


def rate_label(rate: Decimal | None) -> str:
    if rate is None:
        return "Без НДС"
    return f"{rate.normalize():f}%"
