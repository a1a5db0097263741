"""How audit rows read on the pages: Russian action and field names, values as people know them.

The rows keep raw column names and values (exact, machine-readable); this turns them into
«Куратор: Иванов → Петров» for the history pages and the client card's timeline.

- `entry_lines(action, changes, cls, entity_id)` is what a page shows of one row: a list of
  `Line`s (a Russian field name, or none for a sentence, and the text). Creations and deletions
  list the filled fields, changes read «old → new», merges and reassignments are summarized;
  any other explicit record is shown field by field, nested values as «name: value».
- Field names come from `__audit_labels__` of the row's model, then `FIELD_LABELS`; coded values
  from `__audit_values__` (column → {code: label}, Enum keys allowed, a (label, …) tuple reads as
  its label). Users are shown by name, other records (a client, a project, a deal) by their
  label, looked up once per page (`prefetch`) or per row when the page did not prefetch.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from flask import Flask, g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.core.text import display_phone, quoted

SECRET = "***"  # noqa: S105  (what audit.services writes instead of a secret)

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
    "clients_reassigned": "клиенты переданы другим кураторам",
    "reserved": "стенд забронирован",
    "released": "бронь стенда снята",
    "sold": "стенд продан",
    "hold_expired": "срок брони стенда истёк",
    "team": "изменена команда проекта",
    "price_list": "изменён прайс-лист",
    "sales_plan": "изменён план продаж",
    "budget_lines": "изменены строки бюджета",
    "settings": "изменены настройки обмена с 1С",
}

# Rows of what is not an audited model (an adapter writes them), by their entity type.
ENTITY_TITLES = {"exchange_state": "Настройки обмена с 1С"}

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
    "created_by_id": "Создал",
    "approved_by_id": "Утвердил",
    "cancelled_by_id": "Аннулировал",
    "issued_by_id": "Выставил",
    "uploaded_by_id": "Загрузил",
    "handled_by_id": "Обработал",
    "mailing_consent": "Согласие на рассылку",
    "notes": "Заметки",
    "external_id": "Внешний код",
    "merged_into_id": "Объединена с",
    "merged_at": "Дата объединения",
    "is_active": "Активна",
    "position": "Порядок",
    "phones": "Телефоны",
    "emails": "E-mail",
    "birthday": "День рождения",
    "client_id": "Контрагент",
    "project_id": "Проект",
    "deal_id": "Сделка",
    "contact_id": "Контактное лицо",
    "organization_id": "Организация",
    "document_id": "Документ",
    "payment_id": "Платёж",
    "article_id": "Статья бюджета",
    "status": "Статус",
    "amount": "Сумма",
    "vat_amount": "Сумма НДС",
    "vat_rate": "Ставка НДС",
    "area_m2": "Площадь, м²",
    "description": "Описание",
    "category": "Категория",
    "email": "E-mail",
    "phone": "Телефон",
    "role": "Роль",
    "username": "Логин",
    "password_hash": "Пароль",
    "created_at": "Создана",
    "updated_at": "Изменена",
    "exhibition": "Выставка",
    "year": "Год",
    "month": "Месяц",
    "code": "Код",
    "number": "Номер",
    "title": "Название",
    "comment": "Комментарий",
    "organizer": "Организатор",
    "until": "Бронь до",
    "team": "Команда проекта",
    "client_ids": "Контрагенты",
    # clients_exported: the format, the row count and the list's filter
    "format": "Формат",
    "rows": "Строк",
    "filter": "Отбор",
    "q": "Поиск",
    "group_id": "Группа",
    "competitor_id": "Участник выставки конкурента",
    "project_outcome": "Участие в проекте",
    "include_merged": "С объединёнными записями",
    "sort": "Сортировка",
    "direction": "Порядок",
    # settings of the exchange with 1C
    "url": "Адрес сервиса",
    "password_changed": "Пароль изменён",
}

# Values shown by name whatever the model (a model's `__audit_values__` comes first).
VALUE_LABELS: dict[str, dict[Any, str]] = {
    "format": {"xlsx": "Excel (XLSX)", "csv": "CSV"},
    "direction": {"asc": "по возрастанию", "desc": "по убыванию"},
    "sort": {
        "name": "по наименованию",
        "created": "по дате создания",
        "readiness": "по готовности",
        "city": "по городу",
        "inn": "по ИНН",
    },
    "project_outcome": {"won": "участник", "open": "в работе", "lost": "отказ"},
    "mailing_consent": {"yes": "есть", "no": "нет"},  # the client list's filter
}

# Keys never shown: the row's own id and other machine-only values.
TECHNICAL_KEYS = frozenset({"id", "guid", "sha256", "name_norm", "city_norm"})

# Columns that hold a user's id when the model does not say (no foreign key to look at).
USER_FIELDS = frozenset(
    {"curator_id", "manager_id", "owner_id", "actor_id", "created_by_id", "user_id", "team"}
)
# Keys that hold ids of other records when the model does not say: key → table.
REFERENCE_KEYS = {
    "client_id": "clients",
    "client_ids": "clients",
    "merged_into_id": "clients",
    "survivor_id": "clients",
    "duplicate_id": "clients",
    "group_id": "client_groups",
    "competitor_id": "competitor_exhibitions",
    "project_id": "projects",
    "deal_id": "deals",
}
PHONE_FIELDS = frozenset({"phone", "phones"})
# What «Пароль: задан / изменён» says of a secret (a created row, a change); others read neutral.
SECRET_TEXTS = {"password_hash": ("задан", "изменён")}
SECRET_DEFAULT = ("задано", "изменено")

# What else a merge moves, by table (the later areas' records): «сделок 2».
MOVED_LABELS = {
    "deals": "сделок",
    "documents": "документов",
    "payments": "платежей",
    "leads": "заявок",
}
MERGE_ACTIONS = frozenset({"merged", "merged_into", "unmerged"})
# Explicit records whose values are [old, new] pairs, like an update's.
DIFF_ACTIONS = frozenset({"update", "price_list", "sales_plan", "budget_lines"})
LIST_LIMIT = 10  # ids of a list shown by name; the rest are counted

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


class Line(NamedTuple):
    """One line of a row's details: «label: text», or a sentence when `label` is None."""

    label: str | None
    text: str


# --- models and their attributes ------------------------------------------------------------


@functools.cache
def _models() -> dict[str, type]:
    """Mapped classes by table name (all models are imported once the app exists)."""
    from erp_crm.db import Base

    return {
        mapper.class_.__tablename__: mapper.class_
        for mapper in Base.registry.mappers
        if hasattr(mapper.class_, "__tablename__")
    }


def model_for(cls: type | str | None) -> type | None:
    """The model class itself, or the one of a table name (None when unknown)."""
    if cls is None or isinstance(cls, type):
        return cls
    if cls not in _models():
        _models.cache_clear()  # a model imported after the first look-up
    return _models().get(cls)


def _reference(key: str, cls: type | None) -> str | None:
    """The table a key's ids point to: the model's foreign key, else the usual names."""
    if cls is not None:
        table = getattr(cls, "__table__", None)
        column = table.c.get(key) if table is not None else None
        if column is not None:
            for fk in column.foreign_keys:
                return fk.column.table.name
            return None
    if key in USER_FIELDS:
        return "users"
    return REFERENCE_KEYS.get(key)


def _sub_model(key: str, cls: type | None) -> type | None:
    """Whose fields a nested dict holds: the client list's filter (of an export), else cls's."""
    return model_for("clients") if key == "filter" else cls


def _plain_key(key: Any) -> str:
    return str(key.value if isinstance(key, enum.Enum) else key)


def _value_labels(key: str, cls: type | None) -> dict[str, str]:
    own = (getattr(cls, "__audit_values__", None) or {}).get(key)
    labels = own if own is not None else VALUE_LABELS.get(key)
    if not labels:
        return {}
    return {
        _plain_key(code): label[0] if isinstance(label, tuple) else str(label)
        for code, label in labels.items()
    }


# --- names of users and records, once per page ------------------------------------------------


def _user_names() -> dict[int, str]:
    """All users' names, read once per request (a few dozen rows)."""
    if not has_app_context():
        return {}
    if "audit_user_names" not in g:
        from erp_crm.auth.models import User
        from erp_crm.db import db

        g.audit_user_names = dict(db.session.execute(select(User.id, User.full_name)).all())
    return g.audit_user_names


def _ids(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, list):
        for item in value[:LIST_LIMIT] if value and not isinstance(value[0], list) else value:
            yield from _ids(item)


def _load_names(wanted: dict[str, set[int]], session: Session | None = None) -> None:
    """Labels of the records named by id, one query per table, kept for the request."""
    if not has_app_context():
        return
    if session is None:
        from erp_crm.db import db

        session = db.session
    cache: dict[str, dict[int, str | None]] = g.setdefault("audit_record_names", {})
    models = _models()
    for table, ids in wanted.items():
        known = cache.setdefault(table, {})
        missing = {i for i in ids if i not in known}
        model = models.get(table)
        if not missing or model is None or table == "users" or not hasattr(model, "id"):
            continue
        for record in session.scalars(select(model).where(model.id.in_(sorted(missing)))):
            label = record.audit_label() if hasattr(record, "audit_label") else None
            known[record.id] = label or getattr(record, "name", None)
        for record_id in missing:
            known.setdefault(record_id, None)


def _record_name(table: str, record_id: int) -> str | None:
    if not has_app_context():
        return None
    known = g.get("audit_record_names", {}).get(table, {})
    if record_id not in known:
        _load_names({table: {record_id}})
        known = g.audit_record_names.get(table, {})
    return known.get(record_id)


def _references(action: str, changes: Any, cls: type | None) -> Iterator[tuple[str, int]]:
    if not isinstance(changes, dict):
        return
    for key, value in changes.items():
        if isinstance(value, dict):
            sub_cls = _sub_model(key, cls)
            yield from _references(action, value, sub_cls)
            continue
        table = _reference(key, cls)
        if table and table != "users":
            for record_id in _ids(value):
                yield table, record_id


def prefetch(
    rows: Iterable[tuple[type | str | None, str, Any]], session: Session | None = None
) -> None:
    """Look up the records a page's rows name (cls, action, changes): one query per table.

    Rows rendered without it look theirs up row by row."""
    wanted: dict[str, set[int]] = {}
    for cls, action, changes in rows:
        for table, record_id in _references(action, changes, model_for(cls)):
            wanted.setdefault(table, set()).add(record_id)
    _load_names(wanted, session)


def _client_ref(client_id: Any, name: str | None = None) -> str:
    """«ООО «Ромашка»» (№ 3), the name as stored in the row or looked up."""
    if not isinstance(client_id, int):
        return quoted(name) if name else "другая запись"
    name = name or _record_name("clients", client_id)
    return f"{quoted(name)} (№ {client_id})" if name else f"№ {client_id}"


# --- fields and values ---------------------------------------------------------------------------


def entity_title(entity_type: str) -> str:
    model = model_for(entity_type)
    return getattr(model, "__audit_title__", "") or ENTITY_TITLES.get(entity_type, entity_type)


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " "))


def field_label(key: str, cls: type | str | None = None) -> str:
    cls = model_for(cls)
    own = getattr(cls, "__audit_labels__", None) or {}
    label = own.get(key) or FIELD_LABELS.get(key)
    if label:
        return label
    if "." in key:  # "price.raw": the price of a stand type
        prefix, _, code = key.partition(".")
        if prefix in own or prefix in FIELD_LABELS:
            return f"{field_label(prefix, cls)} — {value_text(prefix, code, cls)}"
    return key


def _date_text(value: str) -> str:
    from erp_crm.ui import ru_datetime

    try:
        if _DATE.match(value):
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return ru_datetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def value_text(key: str, value: Any, cls: type | str | None = None) -> str:
    """One value as people read it: names for codes, users and records, phones, dates."""
    cls = model_for(cls)
    if _empty(value):
        return "—"
    if isinstance(value, list):
        shown = [value_text(key, v, cls) for v in value[:LIST_LIMIT]]
        more = len(value) - LIST_LIMIT
        return ", ".join(shown) + (f" и ещё {more}" if more > 0 else "")
    if isinstance(value, dict):
        sub_cls = _sub_model(key, cls)
        return "; ".join(
            f"{field_label(k, sub_cls)}: {value_text(k, v, sub_cls)}"
            for k, v in value.items()
            if k not in TECHNICAL_KEYS
        )
    if isinstance(value, bool):
        return "да" if value else "нет"
    labels = _value_labels(key, cls)
    if labels and _plain_key(value) in labels:
        return labels[_plain_key(value)]
    table = _reference(key, cls)
    if table and isinstance(value, int):
        if table == "users":
            return _user_names().get(value, f"пользователь № {value}")
        name = _record_name(table, value)
        if table == "clients":
            return f"{name} (№ {value})" if name else f"№ {value}"
        return name or f"№ {value}"
    if key in PHONE_FIELDS and isinstance(value, str):
        return display_phone(value)
    if isinstance(value, str) and (_DATE.match(value) or _DATETIME.match(value)):
        return _date_text(value)
    return str(value)


# --- rows ----------------------------------------------------------------------------------------


def _secret(key: str, cls: type | None, changes: bool) -> str | None:
    """«задан»/«изменён» for a secret of the model, else None."""
    if key not in (getattr(cls, "__audit_secret__", None) or ()):
        return None
    texts = SECRET_TEXTS.get(key, SECRET_DEFAULT)
    return texts[1] if changes else texts[0]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _snapshot_lines(changes: dict[str, Any], cls: type | None) -> list[Line]:
    """A created or deleted record: its filled fields (empty ones and technical keys left out)."""
    lines = []
    for key, value in changes.items():
        if key in TECHNICAL_KEYS:
            continue
        secret = _secret(key, cls, changes=False)
        if secret is not None:
            # Only the password is always set; other secrets (images) may be empty: unsaid.
            if key in SECRET_TEXTS:
                lines.append(Line(field_label(key, cls), secret))
            continue
        if _empty(value):
            continue
        lines.append(Line(field_label(key, cls), value_text(key, value, cls)))
    return lines


def _price_value(key: str, value: Any, cls: type | None) -> str:
    """A price list's "price.<type>" [price, VAT] or "surcharge.<position>" [kind, value]."""
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


def _diff_lines(action: str, changes: dict[str, Any], cls: type | None) -> list[Line]:
    lines = []
    for key, value in changes.items():
        if key in TECHNICAL_KEYS:
            continue
        label = field_label(key, cls)
        secret = _secret(key, cls, changes=True)
        if secret is not None or value == [SECRET, SECRET]:
            lines.append(Line(label, secret or SECRET_DEFAULT[1]))
        elif isinstance(value, list) and len(value) == 2:
            if action == "price_list":
                old, new = _price_value(key, value[0], cls), _price_value(key, value[1], cls)
            else:
                old, new = value_text(key, value[0], cls), value_text(key, value[1], cls)
            lines.append(Line(label, f"{old} → {new}"))
        else:
            lines.append(Line(label, value_text(key, value, cls)))
    return lines


def _counts(parts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{label} {count}" for label, count in parts if count)


def _moved(by_table: Any) -> list[tuple[str, int]]:
    """{"deals.client_id": [ids] or a count, …} → [("сделок", 2), …], the known tables first."""
    if not isinstance(by_table, dict):
        return []
    totals: dict[str, int] = {}
    for name, rows in by_table.items():
        table = str(name).split(".", 1)[0]
        count = len(rows) if isinstance(rows, list) else rows if isinstance(rows, int) else 0
        totals[table] = totals.get(table, 0) + count
    models = _models()
    ordered = [t for t in MOVED_LABELS if t in totals] + sorted(
        t for t in totals if t not in MOVED_LABELS
    )
    result = []
    for table in ordered:
        label = MOVED_LABELS.get(table)
        if label is None:
            title = getattr(models.get(table), "__audit_title__", "") or table
            label = f"записей «{title}»"
        result.append((label, totals[table]))
    return result


def _length(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def _filled(filled: Any, cls: type | None, *, values: bool = True) -> str:
    if not isinstance(filled, dict) or not filled:
        return ""
    if not values:
        return ", ".join(field_label(k, cls) for k in filled)
    return "; ".join(f"{field_label(k, cls)} — {value_text(k, v, cls)}" for k, v in filled.items())


def _merge_lines(
    action: str, details: dict[str, Any], cls: type | None, entity_id: int | None
) -> list[Line]:
    """A merge or its undo, summarized: with which record, what moved, which fields were filled."""
    cls = cls or model_for("clients")
    survivor = _client_ref(details.get("survivor_id"), details.get("survivor_name"))
    duplicate = _client_ref(details.get("duplicate_id"), details.get("duplicate_name"))
    lines = []
    if action == "unmerged":
        if entity_id is not None and entity_id == details.get("duplicate_id"):
            lines.append(Line(None, f"Отменено объединение с {survivor}"))
        else:
            lines.append(Line(None, f"Отделена запись {duplicate}"))
        returned = _counts(
            [
                ("контактов", _length(details.get("contact_ids"))),
                ("групп", _length(details.get("group_ids"))),
                ("участий в выставках конкурентов", _length(details.get("participation_ids"))),
                ("ранее объединённых записей", _length(details.get("repointed_ids"))),
                *_moved(details.get("moved_back_from_hooks")),
            ]
        )
        if returned:
            lines.append(Line(None, f"Возвращено: {returned}"))
        kept = _filled(details.get("filled_kept"), cls, values=False)
        if kept:
            lines.append(Line(None, f"Заполненные при объединении поля остались: {kept}"))
        return lines

    if action == "merged":
        lines.append(Line(None, f"Присоединена запись {duplicate}"))
    else:
        lines.append(Line(None, f"Объединена с {survivor}"))
    moved = _counts(
        [
            ("контактов", _length(details.get("contact_ids"))),
            ("групп", _length(details.get("group_ids"))),
            ("участий в выставках конкурентов", _length(details.get("participation_ids"))),
            ("ранее объединённых записей", _length(details.get("repointed_ids"))),
            *_moved(details.get("moved_by_hooks")),
        ]
    )
    lines.append(Line(None, f"Перенесено: {moved}" if moved else "Переносить было нечего"))
    left = _counts(
        [
            ("участий в выставках конкурентов", _length(details.get("participation_ids_kept"))),
            *_moved(details.get("left_on_duplicate")),
        ]
    )
    if left:
        lines.append(Line(None, f"Осталось на объединённой записи: {left}"))
    filled = _filled(details.get("filled"), cls)
    if filled:
        where = "Заполнено из объединённой записи" if action == "merged" else "Заполнено у основной"
        lines.append(Line(None, f"{where}: {filled}"))
    return lines


def _reassign_lines(details: dict[str, Any]) -> list[Line]:
    """«Клиенты переданы: 86 (Иванов — 43, Петров — 43), открытых сделок 26, контактов 4»."""
    names = _user_names()
    to = details.get("to") if isinstance(details.get("to"), dict) else {}
    heirs = ", ".join(
        f"{names.get(int(uid), f'пользователь № {uid}') if str(uid).isdigit() else uid} — {n}"
        for uid, n in to.items()
    )
    text = f"Клиенты переданы: {details.get('clients', 0)}" + (f" ({heirs})" if heirs else "")
    # What the later areas moved along, labelled by them in Russian: {"открытых сделок": 26}.
    along = [
        (str(k), v)
        for k, v in details.items()
        if k not in {"clients", "contacts", "to"} and isinstance(v, int)
    ]
    extra = _counts([*along, ("контактов", details.get("contacts") or 0)])
    return [Line(None, f"{text}, {extra}" if extra else text)]


def _team_lines(changes: dict[str, Any]) -> list[Line]:
    team = changes.get("team")
    names = _user_names()

    def listed(ids: list) -> str:
        return ", ".join(names.get(i, f"пользователь № {i}") for i in ids) or "—"

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


def _generic_lines(changes: dict[str, Any], cls: type | None) -> list[Line]:
    return [
        Line(field_label(key, cls), value_text(key, value, cls))
        for key, value in changes.items()
        if key not in TECHNICAL_KEYS
    ]


def entry_lines(
    action: str,
    changes: Any,
    cls: type | str | None = None,
    entity_id: int | None = None,
) -> list[Line]:
    """The details of an audit row (its action and changes, of a record of `cls`) as lines."""
    cls = model_for(cls)
    if not isinstance(changes, dict):
        return [] if _empty(changes) else [Line(None, value_text("", changes, cls))]
    if action in MERGE_ACTIONS:
        return _merge_lines(action, changes, cls, entity_id)
    if action == "clients_reassigned":
        return _reassign_lines(changes)
    if action == "team":
        return _team_lines(changes)
    if action in DIFF_ACTIONS:
        return _diff_lines(action, changes, cls)
    if action in ("create", "delete"):
        return _snapshot_lines(changes, cls)
    return _generic_lines(changes, cls)


def register(app: Flask) -> None:
    app.add_template_global(action_label, "audit_action")
    app.add_template_global(field_label, "audit_field")
    app.add_template_global(value_text, "audit_value")
    app.add_template_global(entry_lines, "audit_lines")
    app.add_template_global(entity_title, "audit_entity")
