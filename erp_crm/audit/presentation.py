"""How audit rows read on the pages: Russian action and field names, values as people know them.

The rows keep raw column names and values (exact, machine-readable); this turns them into
«Куратор: Иванов → Петров» for the history pages and the client card's timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g
from sqlalchemy import select

ACTION_LABELS = {
    "create": "создание",
    "update": "изменение",
    "delete": "удаление",
    "merged": "объединение с дублем",
    "merged_into": "объединена в другую запись",
    "unmerged": "объединение отменено",
    "competitor_added": "отмечено участие в выставке конкурента",
    "competitor_removed": "снято участие в выставке конкурента",
    "members_added": "добавлены участники группы",
    "members_removed": "убраны участники группы",
    "clients_exported": "выгрузка списка контрагентов",
    "reserved": "стенд забронирован",
    "released": "бронь стенда снята",
    "sold": "стенд продан",
    "team": "изменена команда проекта",
    "price_list": "изменён прайс-лист",
    "sales_plan": "изменён план продаж",
    "budget_lines": "изменены строки бюджета",
}

# Field names shared by the audited tables; a model may add its own in `__audit_labels__`.
FIELD_LABELS = {
    "kind": "Вид",
    "name": "Наименование",
    "full_name": "Полное наименование / ФИО",
    "inn": "ИНН",
    "kpp": "КПП",
    "ogrn": "ОГРН / ОГРНИП",
    "legal_address": "Юридический адрес",
    "postal_address": "Почтовый адрес",
    "region": "Регион",
    "city": "Город",
    "industry": "Отрасль",
    "website": "Сайт",
    "source": "Источник",
    "readiness": "Готовность",
    "relationship_type": "Тип отношений",
    "curator_id": "Куратор",
    "manager_id": "Менеджер",
    "owner_id": "Владелец",
    "mailing_consent": "Согласие на рассылку",
    "notes": "Заметки",
    "external_id": "Внешний код",
    "merged_into_id": "Объединена в запись №",
    "merged_at": "Объединена",
    "is_active": "Активна",
    "position": "Должность",
    "phones": "Телефоны",
    "emails": "E-mail",
    "birthday": "День рождения",
    "client_id": "Контрагент №",
    "project_id": "Проект №",
    "status": "Статус",
    "amount": "Сумма",
    "description": "Описание",
    "category": "Категория",
    "email": "E-mail",
    "phone": "Телефон",
    "role": "Роль",
    "username": "Логин",
    "created_at": "Создана",
    "updated_at": "Изменена",
    "exhibition": "Выставка",
    "year": "Год",
}

# Columns that hold a user's id: shown as the user's name.
USER_FIELDS = frozenset({"curator_id", "manager_id", "owner_id", "actor_id", "created_by_id"})


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def field_label(key: str, cls: type | None = None) -> str:
    own = getattr(cls, "__audit_labels__", None) or {}
    return own.get(key) or FIELD_LABELS.get(key, key)


def _user_names() -> dict[int, str]:
    """All users' names, read once per request (a few dozen rows)."""
    if "audit_user_names" not in g:
        from erp_crm.auth.models import User
        from erp_crm.db import db

        g.audit_user_names = dict(db.session.execute(select(User.id, User.full_name)).all())
    return g.audit_user_names


def value_text(key: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if key in USER_FIELDS and isinstance(value, int):
        return _user_names().get(value, f"пользователь № {value}")
    if isinstance(value, list):
        return ", ".join(value_text("", v) for v in value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        from erp_crm.ui import ru_datetime

        return ru_datetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return str(value)


def register(app: Flask) -> None:
    app.add_template_global(action_label, "audit_action")
    app.add_template_global(field_label, "audit_field")
    app.add_template_global(value_text, "audit_value")
