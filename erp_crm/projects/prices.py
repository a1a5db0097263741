"""A project's price list (price per m² by stand type, position surcharges, registration fee,
VAT settings) and its catalog of extra services.

The deal pricing reads these when a line is added and copies the prices into the line: nothing
here re-prices a deal, a changed price list applies to lines added afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects import values as v
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_TYPE_LABELS,
    PositionSurcharge,
    Project,
    ServiceItem,
    StandPosition,
    StandPrice,
    StandType,
)
from erp_crm.projects.services import require_manage

# Positions that may carry a surcharge (a row stand is the base price).
SURCHARGE_POSITIONS = (StandPosition.CORNER, StandPosition.PENINSULA, StandPosition.ISLAND)


# --- price list ---------------------------------------------------------------------------------


@dataclass
class PriceListData:
    """Registration fee, default VAT, price per m² by stand type, surcharges by position.

    `prices`: {stand type: (price or None = not sold, VAT setting)};
    `surcharges`: {position: (kind 'percent'/'amount', value or None = no surcharge)};
    `modes`: {stand type: 'included' (НДС в т.ч.) | 'on_top' (НДС сверху)}, included when absent;
    `registration_vat_mode`: the same for the registration fee.
    """

    registration_fee: Any = Decimal("0.00")
    default_vat_rate: str = "auto"
    prices: dict[str, tuple[Any, str]] = field(default_factory=dict)
    surcharges: dict[str, tuple[str, Any]] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    registration_vat_mode: str = "included"

    @classmethod
    def from_model(cls, project: Project) -> PriceListData:
        return cls(
            registration_fee=project.registration_fee,
            default_vat_rate=project.default_vat_rate,
            prices={p.stand_type: (p.price_per_m2, p.vat_rate) for p in project.stand_prices},
            surcharges={s.position: (s.kind, s.value) for s in project.surcharges},
            modes={p.stand_type: p.vat_mode for p in project.stand_prices},
            registration_vat_mode=project.registration_vat_mode,
        )

    def as_plain(self) -> dict[str, Any]:
        def s(value: Any) -> str | None:
            return None if value is None else str(value)

        return {
            "registration_fee": s(self.registration_fee),
            "default_vat_rate": self.default_vat_rate,
            "registration_vat_mode": self.registration_vat_mode,
            **{f"price.{t}": [s(p), vat] for t, (p, vat) in sorted(self.prices.items())},
            **{f"mode.{t}": self.modes.get(t, "included") for t in sorted(self.prices)},
            **{
                f"surcharge.{k}": [kind, s(val)]
                for k, (kind, val) in sorted(self.surcharges.items())
            },
        }


def validate_price_list(data: PriceListData) -> PriceListData:
    errors: dict[str, str] = {}
    fee = v.decimal(data.registration_fee, "registration_fee", errors, label="регистрационный сбор")
    default_vat = v.vat_setting(data.default_vat_rate, "default_vat_rate", errors)
    fee_mode = v.vat_mode(data.registration_vat_mode, "registration_vat_mode", errors)
    modes: dict[str, str] = {}
    prices: dict[str, tuple[Decimal, str]] = {}
    for stand_type, (raw_price, raw_vat) in data.prices.items():
        if stand_type not in {t.value for t in StandType}:
            errors[f"price_{stand_type}"] = "Неизвестный тип стенда."
            continue
        price = v.decimal(raw_price, f"price_{stand_type}", errors, label="цену")
        vat = v.vat_setting(raw_vat, f"vat_{stand_type}", errors)
        mode = v.vat_mode(data.modes.get(stand_type), f"mode_{stand_type}", errors)
        if price is not None:
            prices[stand_type] = (price, vat)
            modes[stand_type] = mode
    surcharges: dict[str, tuple[str, Decimal]] = {}
    for position, (kind, raw_value) in data.surcharges.items():
        if position not in {p.value for p in SURCHARGE_POSITIONS}:
            errors[f"surcharge_{position}"] = "Наценка бывает у углового, полуострова и острова."
            continue
        value = v.decimal(raw_value, f"surcharge_{position}", errors, label="наценку")
        if not value:  # empty or zero: no surcharge, whatever the kind says
            continue
        if kind not in v.SURCHARGE_KINDS:
            errors[f"kind_{position}"] = "Наценка: процент или сумма."
        elif kind == "percent" and value > 100:
            errors[f"surcharge_{position}"] = "Наценка в процентах — не больше 100."
        else:
            surcharges[position] = (kind, value)
    if errors:
        raise ValidationError(fields=errors)
    return PriceListData(
        registration_fee=fee if fee is not None else Decimal("0.00"),
        default_vat_rate=default_vat,
        prices=prices,
        surcharges=surcharges,
        modes=modes,
        registration_vat_mode=fee_mode,
    )


def save_price_list(
    session: Session, project: Project, data: PriceListData, *, actor: User
) -> Project:
    """Replace the project's price list. Deals priced earlier keep their copied prices."""
    require_manage(actor)
    cleaned = validate_price_list(data)
    before = PriceListData.from_model(project).as_plain()
    project.registration_fee = cleaned.registration_fee
    project.default_vat_rate = cleaned.default_vat_rate
    project.registration_vat_mode = cleaned.registration_vat_mode
    current_prices = {p.stand_type: p for p in project.stand_prices}
    for stand_type, row in current_prices.items():
        if stand_type not in cleaned.prices:
            project.stand_prices.remove(row)
    for stand_type, (price, vat) in cleaned.prices.items():
        mode = cleaned.modes[stand_type]
        row = current_prices.get(stand_type)
        if row is None:
            project.stand_prices.append(
                StandPrice(stand_type=stand_type, price_per_m2=price, vat_rate=vat, vat_mode=mode)
            )
        else:
            row.price_per_m2, row.vat_rate, row.vat_mode = price, vat, mode
    current_surcharges = {s.position: s for s in project.surcharges}
    for position, row in current_surcharges.items():
        if position not in cleaned.surcharges:
            project.surcharges.remove(row)
    for position, (kind, value) in cleaned.surcharges.items():
        row = current_surcharges.get(position)
        if row is None:
            project.surcharges.append(PositionSurcharge(position=position, kind=kind, value=value))
        else:
            row.kind, row.value = kind, value
    session.flush()
    after = PriceListData.from_model(project).as_plain()
    changes = {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
    if changes:
        audit.record(session, project, "price_list", changes)
    return project


def price_rows(project: Project) -> list[dict[str, Any]]:
    """The price list as the project page shows it: every stand type, priced or not."""
    prices = {p.stand_type: p for p in project.stand_prices}
    return [
        {
            "type": t.value,
            "label": STAND_TYPE_LABELS[t],
            "price": prices[t.value].price_per_m2 if t.value in prices else None,
            "vat": v.VAT_SETTINGS.get(prices[t.value].vat_rate) if t.value in prices else None,
            "mode": prices[t.value].vat_mode if t.value in prices else None,
            "mode_label": (
                v.VAT_MODE_LABELS.get(prices[t.value].vat_mode) if t.value in prices else None
            ),
        }
        for t in StandType
    ]


def surcharge_rows(project: Project) -> list[dict[str, Any]]:
    rules = {s.position: s for s in project.surcharges}
    return [
        {
            "position": p.value,
            "label": STAND_POSITION_LABELS[p],
            "kind": rules[p.value].kind if p.value in rules else None,
            "value": rules[p.value].value if p.value in rules else None,
        }
        for p in SURCHARGE_POSITIONS
    ]


# --- services catalog ---------------------------------------------------------------------------


@dataclass
class ServiceData:
    name: str | None = None
    unit: str | None = "шт"
    unit_code: str | None = "796"
    price: Any = None
    vat_rate: str = "auto"
    vat_mode: str = "included"
    is_active: bool = True

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ServiceData:
        known = {f.name for f in fields(cls)}
        return cls(**{k: val for k, val in data.items() if k in known})


def validate_service(data: ServiceData) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = v.text(data.name)
    if not name:
        errors["name"] = "Укажите название услуги."
    elif len(name) > 300:
        errors["name"] = "Название — не длиннее 300 знаков."
    unit = v.text(data.unit)
    if not unit:
        errors["unit"] = "Укажите единицу измерения, например «шт» или «м²»."
    elif len(unit) > 32:
        errors["unit"] = "Не длиннее 32 знаков."
    unit_code = v.text(data.unit_code) or ""
    if not re.fullmatch(r"\d{3,4}", unit_code):
        errors["unit_code"] = "Код ОКЕИ — три цифры, например 796 (шт) или 055 (м²)."
    price = v.decimal(data.price, "price", errors, label="цену", required=True)
    vat = v.vat_setting(data.vat_rate, "vat_rate", errors)
    mode = v.vat_mode(data.vat_mode, "vat_mode", errors)
    if errors:
        raise ValidationError(fields=errors)
    return {
        "name": name,
        "unit": unit,
        "unit_code": unit_code,
        "price": price,
        "vat_rate": vat,
        "vat_mode": mode,
        "is_active": data.is_active if isinstance(data.is_active, bool) else bool(data.is_active),
    }


def create_service(
    session: Session, project: Project, data: ServiceData, *, actor: User
) -> ServiceItem:
    require_manage(actor)
    item = ServiceItem(project=project, **validate_service(data))
    session.add(item)
    session.flush()
    return item


def update_service(session: Session, item: ServiceItem, data: ServiceData, *, actor: User):
    require_manage(actor)
    for key, value in validate_service(data).items():
        setattr(item, key, value)
    session.flush()
    return item


def get_service(session: Session, item_id: int) -> ServiceItem:
    item = session.get(ServiceItem, item_id)
    if item is None:
        raise NotFound("Услуга не найдена.")
    return item
