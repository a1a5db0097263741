"""How the projects' audit rows read: stands held and sold, price lists, the team, sales plans.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of projects.
"""

from __future__ import annotations

from typing import Any

from documents.money import VAT_MODES
from erp_crm.audit import vocabulary
from erp_crm.audit.presentation import Line, field_label, user_name, value_text


def _price_value(key: str, value: Any, cls: type | None) -> str:
    """A price list's "price.<type>" [price, VAT], "mode.<type>" (VAT included or on top) or
    "surcharge.<position>" [kind, value]."""
    if key.startswith("mode.") or key == "registration_vat_mode":
        return VAT_MODES.get(value, "—") if value else "—"
    if not isinstance(value, list) or len(value) != 2:
        return value_text(key, value, cls)
    first, second = value
    if key.startswith("price."):
        vat = value_text("default_vat_rate", second, cls)
        return f"{first} ₽ за м², НДС: {vat}" if first is not None else "—"
    if key.startswith("surcharge."):
        if second is None:
            return "—"
        return f"{second} %" if first == "percent" else f"{second} ₽"
    return value_text(key, value, cls)


def _team_lines(
    _action: str, changes: dict[str, Any], _cls: type | None, _entity_id: int | None
) -> list[Line]:
    team = changes.get("team")

    def listed(ids: list) -> str:
        return ", ".join(user_name(i) for i in ids) or "—"

    if isinstance(team, list) and len(team) == 2 and all(isinstance(t, list) for t in team):
        before, after = team
        lines = []
        added = [i for i in after if i not in before]
        removed = [i for i in before if i not in after]
        if added:
            lines.append(Line("Добавлены в команду", listed(added)))
        if removed:
            lines.append(Line("Убраны из команды", listed(removed)))
        return lines
    return [Line(field_label("team"), listed(team if isinstance(team, list) else []))]


vocabulary.register(
    actions={
        "reserved": "стенд забронирован",
        "released": "бронь стенда снята",
        "sold": "стенд продан",
        "hold_expired": "срок брони стенда истёк",
        "team": "изменена команда проекта",
        "price_list": "изменён прайс-лист",
        "sales_plan": "изменён план продаж",
    },
    fields={
        "project_id": "Проект",
        "vat_rate": "Ставка НДС",
        "area_m2": "Площадь, м²",
        "exhibition": "Выставка",
        "until": "Бронь до",
        "team": "Команда проекта",
    },
    users=("team",),
    references={"project_id": "projects"},
    summaries={"team": _team_lines},
    diff_actions={"price_list": _price_value, "sales_plan": None},
)
