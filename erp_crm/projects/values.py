"""Reading values as people type them: «1 234,50», «12.5», dates, and Russian or English names
of stand types and positions. One set of rules for the pages, the API and the stand import.

Every reader takes the field name and an `errors` dict: it records a Russian message there and
returns None, so a service can collect every wrong field before raising one ValidationError.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_TYPE_LABELS,
    StandPosition,
    StandType,
)

VAT_SETTINGS = {
    "auto": "По дате документа (20% / 22%)",
    "22": "22%",
    "10": "10%",
    "0": "0%",
    "none": "Без НДС",
}
SURCHARGE_KINDS = {"percent": "процент", "amount": "сумма"}
# How a price is quoted (documents.money.VAT_MODES): VAT included or net with VAT on top.
VAT_MODE_LABELS = {"included": "НДС в т.ч.", "on_top": "НДС сверху"}

MONEY_MAX = Decimal("999999999999.99")  # Numeric(14, 2)
METRES_MAX = Decimal("999999.99")  # Numeric(8, 2)
AREA_MAX = Decimal("99999999.99")  # Numeric(10, 2)

_SPACES = re.compile(r"[\s\u00a0\u202f']")


def text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def decimal(
    value: Any,
    field: str,
    errors: dict[str, str],
    *,
    label: str,
    required: bool = False,
    positive: bool = False,
    maximum: Decimal = MONEY_MAX,
    places: int = 2,
) -> Decimal | None:
    """A non-negative number with at most `places` decimals; «1 234,5» and 1234.5 alike.

    `label` (accusative: «площадь», «цену») names the field in «Укажите …».
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[field] = f"Укажите {label}."
        return None
    if isinstance(value, bool):
        errors[field] = "Нужно число."
        return None
    if isinstance(value, float):
        value = repr(value)
    raw = _SPACES.sub("", str(value)).replace(",", ".")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        errors[field] = "Нужно число, например 1 250,50."
        return None
    if not number.is_finite():
        errors[field] = "Нужно число."
        return None
    if number < 0:
        errors[field] = "Значение не может быть отрицательным."
        return None
    if positive and number == 0:
        errors[field] = "Значение должно быть больше нуля."
        return None
    if number > maximum:
        errors[field] = "Слишком большое значение."
        return None
    if -number.as_tuple().exponent > places and number != number.quantize(
        Decimal(1).scaleb(-places)
    ):
        errors[field] = f"Не больше {places} знаков после запятой."
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def date(value: Any, field: str, errors: dict[str, str]) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = str(value).strip()
    for parse in (dt.date.fromisoformat, lambda s: dt.datetime.strptime(s, "%d.%m.%Y").date()):
        try:
            return parse(raw)
        except ValueError:
            continue
    errors[field] = "Дата в формате ДД.ММ.ГГГГ или ГГГГ-ММ-ДД."
    return None


def user_id(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors[field] = "Неверный пользователь."
        return None


def vat_setting(value: Any, field: str, errors: dict[str, str]) -> str:
    raw = (text(value) or "auto").lower().rstrip("%")
    if raw in ("без ндс", "без_ндс"):
        raw = "none"
    if raw not in VAT_SETTINGS:
        errors[field] = "Ставка НДС: по дате, 22%, 10%, 0% или без НДС."
        return "auto"
    return raw


def vat_mode(value: Any, field: str, errors: dict[str, str]) -> str:
    raw = text(value) or "included"
    if raw not in VAT_MODE_LABELS:
        errors[field] = "Цена: «НДС в т.ч.» или «НДС сверху»."
        return "included"
    return raw


def _norm(value: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", value.casefold().replace("ё", "е")).strip()


_TYPE_NAMES = {
    **{_norm(t.value): t.value for t in StandType},
    **{_norm(label): t.value for t, label in STAND_TYPE_LABELS.items()},
    "необорудованная": StandType.RAW.value,
    "необорудованный": StandType.RAW.value,
    "площадь без застройки": StandType.RAW.value,
    "space only": StandType.RAW.value,
    "оборудованная": StandType.SHELL.value,
    "оборудованный": StandType.SHELL.value,
    "оборудованная площадь": StandType.SHELL.value,
    "стандартная застройка": StandType.SHELL.value,
    "shell scheme": StandType.SHELL.value,
    "открытая": StandType.OPEN.value,
    "открытый": StandType.OPEN.value,
    "open air": StandType.OPEN.value,
    "outdoor": StandType.OPEN.value,
}
_POSITION_NAMES = {
    **{_norm(p.value): p.value for p in StandPosition},
    **{_norm(label): p.value for p, label in STAND_POSITION_LABELS.items()},
    "линейная": StandPosition.ROW.value,
    "рядный": StandPosition.ROW.value,
    "в ряду": StandPosition.ROW.value,
    "inline": StandPosition.ROW.value,
    "in line": StandPosition.ROW.value,
    "угловая": StandPosition.CORNER.value,
    "угол": StandPosition.CORNER.value,
    "полуостровной": StandPosition.PENINSULA.value,
    "островной": StandPosition.ISLAND.value,
    "островная": StandPosition.ISLAND.value,
}


def stand_type(value: Any, field: str, errors: dict[str, str]) -> str | None:
    raw = text(value)
    if raw is None:
        return StandType.RAW.value
    found = _TYPE_NAMES.get(_norm(raw))
    if found is None:
        errors[field] = (
            "Тип стенда: необорудованная площадь, оборудованный стенд или открытая площадь."
        )
    return found


def stand_position(value: Any, field: str, errors: dict[str, str]) -> str | None:
    raw = text(value)
    if raw is None:
        return StandPosition.ROW.value
    found = _POSITION_NAMES.get(_norm(raw))
    if found is None:
        errors[field] = "Расположение: линейный, угловой, полуостров или остров."
    return found
