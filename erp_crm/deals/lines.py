"""The priced lines of a deal: a stand of the hall plan, m² without a stand, services, the
registration fee; the discount and repricing. Each line copies its price."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.deals import pricing
from erp_crm.deals.models import (
    Deal,
    DealLine,
    LineKind,
)
from erp_crm.deals.services import _ensure_can_work, _ensure_open
from erp_crm.errors import Conflict, ValidationError
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import (
    STAND_TYPE_LABELS,
    PositionSurcharge,
    ServiceItem,
    Stand,
    StandPrice,
)

# --- lines --------------------------------------------------------------------------------------


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
MAX_QUANTITY = Decimal(100_000)  # m² or pieces on one line: more is a typo


def _decimal(value: Any, field: str) -> Decimal:
    """A number as people type it («12,5», «1 000»); exponents («1e3») and junk are refused."""
    text = str(value).replace(",", ".").replace(" ", "").replace("\u00a0", "")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise ValidationError(fields={field: "Введите число, например 12,5."})
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError(fields={field: "Введите число."}) from None
    if abs(number) > MAX_QUANTITY * 1000:
        raise ValidationError(fields={field: "Слишком большое число: проверьте ввод."})
    return number


def ensure_repriceable(session: Session, deal: Deal) -> None:
    """Lines, discount and prices stay as the issued documents say: the documents area refuses
    while any of the deal's documents is issued and not cancelled (signals.deal_pricing_refusal)."""
    for problem in signals.answers(signals.deal_pricing_refusal, deal, session=session):
        raise Conflict(problem)


def _stand_price(session: Session, project_id: int, stand_type: str) -> StandPrice:
    price = session.scalar(
        select(StandPrice).where(
            StandPrice.project_id == project_id, StandPrice.stand_type == stand_type
        )
    )
    if price is None:
        label = STAND_TYPE_LABELS.get(stand_type, stand_type)  # type: ignore[call-overload]
        raise ValidationError(
            fields={"stand_type": f"В прайс-листе проекта нет цены за м² для типа «{label}»."}
        )
    return price


def _store(deal: Deal, line: pricing.PricedLine) -> DealLine:
    row = DealLine(
        kind=line.kind,
        stand_id=line.stand_id,
        service_item_id=line.service_item_id,
        description=line.description,
        unit=line.unit,
        unit_code=line.unit_code,
        quantity=line.quantity,
        unit_price=line.unit_price,
        surcharge=line.surcharge,
        base_amount=line.base_amount,
        discount=line.discount,
        amount=line.amount,
        vat_rate=line.vat_rate,
        vat_setting=line.vat_setting,
        vat_mode=line.vat_mode,
        vat_amount=line.vat_amount,
        area_m2=line.area_m2,
    )
    deal.lines.append(row)
    return row


def add_stand_line(
    session: Session,
    deal: Deal,
    stand: Stand,
    *,
    actor: User,
    hold_until: dt.datetime | None = None,
) -> DealLine:
    """Put a stand into the deal: it is held for the deal (or sold, at a sale stage)."""
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    ensure_repriceable(session, deal)
    if stand.project_id != deal.project_id:
        raise ValidationError(fields={"stand_id": "Стенд относится к другому проекту."})
    if any(line.stand_id == stand.id for line in deal.lines):
        raise Conflict("Этот стенд уже есть в сделке.")
    if deal.stage.is_sale:  # a won deal buys the stand at once (a hold needs an open deal)
        stand_ops.sell(session, [stand.id], deal.id, actor=actor)
    else:
        stand_ops.reserve(session, stand.id, deal.id, until=hold_until, actor=actor)
    price = _stand_price(session, deal.project_id, stand.stand_type)
    rule = session.scalar(
        select(PositionSurcharge).where(
            PositionSurcharge.project_id == deal.project_id,
            PositionSurcharge.position == stand.position,
        )
    )
    line = pricing.stand_line(
        stand_id=stand.id,
        description=f"Выставочная площадь: {STAND_TYPE_LABELS[stand.stand_type].lower()}, "
        f"стенд № {stand.number}, {stand.hall.name}",
        area_m2=stand.area_m2,
        price_per_m2=price.price_per_m2,
        surcharge_rule=(rule.kind, rule.value) if rule else None,
        vat_setting=price.vat_rate,
        vat_mode=price.vat_mode,
        on=deal.pricing_date,
    )
    row = _store(deal, line)
    reprice(session, deal)
    return row


def add_space_line(
    session: Session, deal: Deal, *, stand_type: str, area_m2: Any, actor: User
) -> DealLine:
    """Square metres sold before a stand is chosen (e.g. open area)."""
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    ensure_repriceable(session, deal)
    area = _decimal(area_m2, "area_m2")
    if area > MAX_QUANTITY:
        raise ValidationError(fields={"area_m2": "Площадь больше 100 000 м²: проверьте ввод."})
    price = _stand_price(session, deal.project_id, stand_type)
    line = pricing.space_line(
        description=f"Выставочная площадь: {STAND_TYPE_LABELS[stand_type].lower()}",  # type: ignore[index]
        area_m2=area,
        price_per_m2=price.price_per_m2,
        vat_setting=price.vat_rate,
        vat_mode=price.vat_mode,
        on=deal.pricing_date,
    )
    row = _store(deal, line)
    reprice(session, deal)
    return row


def add_service_line(
    session: Session, deal: Deal, item: ServiceItem, quantity: Any, *, actor: User
) -> DealLine:
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    ensure_repriceable(session, deal)
    if item.project_id != deal.project_id or not item.is_active:
        raise ValidationError(fields={"service_item_id": "Выберите услугу из прайс-листа проекта."})
    if _decimal(quantity, "quantity") > MAX_QUANTITY:
        raise ValidationError(fields={"quantity": "Количество больше 100 000: проверьте ввод."})
    line = pricing.service_line(
        service_item_id=item.id,
        description=item.name,
        unit=item.unit,
        unit_code=item.unit_code,
        quantity=_decimal(quantity, "quantity"),
        price=item.price,
        vat_setting=item.vat_rate,
        vat_mode=item.vat_mode,
        on=deal.pricing_date,
    )
    row = _store(deal, line)
    reprice(session, deal)
    return row


def add_registration_line(session: Session, deal: Deal, *, actor: User) -> DealLine:
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    ensure_repriceable(session, deal)
    if any(line.kind == LineKind.REGISTRATION.value for line in deal.lines):
        raise Conflict("Регистрационный сбор уже в сделке.")
    project = deal.project
    line = pricing.registration_line(
        fee=project.registration_fee,
        vat_setting=project.default_vat_rate,
        vat_mode=project.registration_vat_mode,
        on=deal.pricing_date,
    )
    row = _store(deal, line)
    reprice(session, deal)
    return row


def remove_line(session: Session, line: DealLine, *, actor: User) -> None:
    deal = line.deal
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    ensure_repriceable(session, deal)
    if line.stand_id is not None:
        stand_ops.release(session, line.stand_id, actor=actor, deal_id=deal.id)
    deal.lines.remove(line)
    session.flush()
    reprice(session, deal)


def set_discount(
    session: Session, deal: Deal, kind: str | None, value: Any, reason: str | None, *, actor: User
) -> Deal:
    _ensure_can_work(actor, deal)
    _ensure_open(deal)
    amount = None
    if kind:
        amount = _decimal(value, "discount_value")
        if not (reason or "").strip():
            raise ValidationError(fields={"discount_reason": "Укажите причину скидки."})
    # The same discount sent again (a full PATCH, only the reason reworded) changes no money.
    same = (kind or None) == deal.discount_kind and (amount == deal.discount_value)
    if not same:
        ensure_repriceable(session, deal)
    if kind:
        deal.discount_kind, deal.discount_value = kind, amount
        deal.discount_reason = reason.strip()  # type: ignore[union-attr]
    else:
        deal.discount_kind = deal.discount_value = deal.discount_reason = None
    reprice(session, deal)
    return deal


def _priced(line: DealLine) -> pricing.PricedLine:
    return pricing.PricedLine(
        kind=line.kind,
        description=line.description,
        unit=line.unit,
        unit_code=line.unit_code,
        quantity=line.quantity,
        unit_price=line.unit_price,
        surcharge=line.surcharge,
        base_amount=line.base_amount,
        vat_rate=line.vat_rate,
        vat_setting=line.vat_setting,
        vat_mode=line.vat_mode,
        area_m2=line.area_m2,
        stand_id=line.stand_id,
        service_item_id=line.service_item_id,
    )


def reprice(session: Session, deal: Deal) -> None:
    """Spread the discount over the lines and refresh the deal's totals (prices stay as copied)."""
    priced = pricing.apply_discount(
        [_priced(line) for line in deal.lines], deal.discount_kind, deal.discount_value
    )
    for row, line in zip(deal.lines, priced, strict=True):
        row.discount, row.amount, row.vat_amount = line.discount, line.amount, line.vat_amount
    total = pricing.totals(priced)
    deal.amount, deal.vat_amount, deal.area_m2 = total.amount, total.vat_amount, total.area_m2
    session.flush()
