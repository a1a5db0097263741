"""Pricing of deal lines: m² × price + position surcharge, services, registration fee, discount,
VAT per line. Pure functions over Decimal: what the tests pin to the kopeck.

A line's price either includes VAT («в т.ч. НДС»: VAT is extracted from the amount) or is net
with VAT on top («НДС сверху»: the discount applies to the net, VAT = net × rate, amount =
net + VAT). VAT is rounded half-up per line; totals are sums of the rounded lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from documents.money import VAT_INCLUDED, VAT_ON_TOP, money, resolve_rate, split
from erp_crm.errors import ValidationError

M2_UNIT = ("м²", "055")


@dataclass(frozen=True)
class PricedLine:
    kind: str
    description: str
    unit: str
    unit_code: str
    quantity: Decimal
    unit_price: Decimal
    surcharge: Decimal
    base_amount: Decimal
    vat_rate: Decimal | None
    # The rate setting the rate came from («auto»: the general rate on a date; documents resolve
    # it again on their own dates).
    vat_setting: str = "auto"
    # VAT_INCLUDED: unit_price, base_amount and discount include VAT; VAT_ON_TOP: they are net.
    vat_mode: str = VAT_INCLUDED
    discount: Decimal = Decimal("0.00")
    amount: Decimal = Decimal("0.00")
    vat_amount: Decimal = Decimal("0.00")
    area_m2: Decimal = Decimal("0")
    stand_id: int | None = None
    service_item_id: int | None = None

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.vat_amount

    def with_discount(self, discount: Decimal) -> PricedLine:
        parts = split(self.base_amount - discount, self.vat_rate, self.vat_mode)
        return replace(self, discount=discount, amount=parts.gross, vat_amount=parts.vat)


def _mode(vat_mode: str | None) -> str:
    if vat_mode in (None, "", VAT_INCLUDED):
        return VAT_INCLUDED
    if vat_mode != VAT_ON_TOP:
        raise ValidationError(fields={"vat_mode": "Цена: «НДС в т.ч.» или «НДС сверху»."})
    return VAT_ON_TOP


def _line(**kw) -> PricedLine:
    line = PricedLine(**kw)
    return line.with_discount(Decimal("0.00"))


def surcharge_for(base: Decimal, rule: tuple[str, Decimal] | None) -> Decimal:
    """A position surcharge: ('percent', 10) of the stand's price, or ('amount', 5000)."""
    if rule is None:
        return Decimal("0.00")
    kind, value = rule
    return money(base * value / 100) if kind == "percent" else money(value)


def stand_line(
    *,
    stand_id: int,
    description: str,
    area_m2: Decimal,
    price_per_m2: Decimal,
    surcharge_rule: tuple[str, Decimal] | None,
    vat_setting: str,
    on: dt.date,
    vat_mode: str = VAT_INCLUDED,
) -> PricedLine:
    base = money(area_m2 * price_per_m2)
    surcharge = surcharge_for(base, surcharge_rule)
    return _line(
        kind="stand",
        description=description,
        unit=M2_UNIT[0],
        unit_code=M2_UNIT[1],
        quantity=area_m2,
        unit_price=money(price_per_m2),
        surcharge=surcharge,
        base_amount=base + surcharge,
        vat_rate=resolve_rate(vat_setting, on),
        vat_setting=vat_setting or "auto",
        vat_mode=_mode(vat_mode),
        area_m2=area_m2,
        stand_id=stand_id,
    )


def space_line(
    *,
    description: str,
    area_m2: Decimal,
    price_per_m2: Decimal,
    vat_setting: str,
    on: dt.date,
    vat_mode: str = VAT_INCLUDED,
) -> PricedLine:
    if area_m2 <= 0:
        raise ValidationError(fields={"area_m2": "Площадь должна быть больше нуля."})
    return _line(
        kind="space",
        description=description,
        unit=M2_UNIT[0],
        unit_code=M2_UNIT[1],
        quantity=area_m2,
        unit_price=money(price_per_m2),
        surcharge=Decimal("0.00"),
        base_amount=money(area_m2 * price_per_m2),
        vat_rate=resolve_rate(vat_setting, on),
        vat_setting=vat_setting or "auto",
        vat_mode=_mode(vat_mode),
        area_m2=area_m2,
    )


def service_line(
    *,
    service_item_id: int,
    description: str,
    unit: str,
    unit_code: str,
    quantity: Decimal,
    price: Decimal,
    vat_setting: str,
    on: dt.date,
    vat_mode: str = VAT_INCLUDED,
) -> PricedLine:
    if quantity <= 0:
        raise ValidationError(fields={"quantity": "Количество должно быть больше нуля."})
    return _line(
        kind="service",
        description=description,
        unit=unit,
        unit_code=unit_code,
        quantity=quantity,
        unit_price=money(price),
        surcharge=Decimal("0.00"),
        base_amount=money(quantity * price),
        vat_rate=resolve_rate(vat_setting, on),
        vat_setting=vat_setting or "auto",
        vat_mode=_mode(vat_mode),
        service_item_id=service_item_id,
    )


def registration_line(
    *, fee: Decimal, vat_setting: str, on: dt.date, vat_mode: str = VAT_INCLUDED
) -> PricedLine:
    return _line(
        kind="registration",
        description="Регистрационный сбор",
        unit="усл. ед.",
        unit_code="876",
        quantity=Decimal(1),
        unit_price=money(fee),
        surcharge=Decimal("0.00"),
        base_amount=money(fee),
        vat_rate=resolve_rate(vat_setting, on),
        vat_setting=vat_setting or "auto",
        vat_mode=_mode(vat_mode),
    )


def apply_discount(
    lines: list[PricedLine], kind: str | None, value: Decimal | None
) -> list[PricedLine]:
    """Spread a deal's discount over its lines, so every line (and document) shows its own price.

    percent: each line loses value% of its base, rounded; amount: the amount is split in
    proportion to the lines' bases, the rounding remainder going to the largest line, so the
    lines' discounts add up to the amount exactly. A line with VAT on top loses from its net
    base (its VAT is then computed on the discounted net).
    """
    if not kind or not value:
        return [line.with_discount(Decimal("0.00")) for line in lines]
    total = sum((line.base_amount for line in lines), Decimal("0.00"))
    if kind == "percent":
        if not Decimal(0) < value <= 100:
            raise ValidationError(fields={"discount_value": "Скидка в процентах: от 0 до 100."})
        return [line.with_discount(money(line.base_amount * value / 100)) for line in lines]
    if kind != "amount":
        raise ValidationError(fields={"discount_kind": "Скидка: процент или сумма."})
    value = money(value)
    if value < 0 or value > total:
        raise ValidationError(fields={"discount_value": "Скидка не может превышать сумму сделки."})
    if total == 0:
        return [line.with_discount(Decimal("0.00")) for line in lines]
    shares = [money(value * line.base_amount / total) for line in lines]
    remainder = value - sum(shares, Decimal("0.00"))
    largest = max(range(len(lines)), key=lambda i: lines[i].base_amount)
    shares[largest] += remainder
    return [line.with_discount(share) for line, share in zip(lines, shares, strict=True)]


@dataclass(frozen=True)
class Totals:
    amount: Decimal  # with VAT
    vat_amount: Decimal
    area_m2: Decimal

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.vat_amount


def totals(lines: list[PricedLine]) -> Totals:
    return Totals(
        amount=sum((line.amount for line in lines), Decimal("0.00")),
        vat_amount=sum((line.vat_amount for line in lines), Decimal("0.00")),
        area_m2=sum(
            (line.area_m2 for line in lines if line.kind in ("stand", "space")), Decimal(0)
        ),
    )
