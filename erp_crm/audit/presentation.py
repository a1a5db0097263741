"""How audit rows read on the pages: the generic renderer, with the words the areas registered.

The rows keep raw column names and values (exact, machine-readable); this turns them into
«Куратор: Иванов → Петров» for the history pages and the client card's timeline.

- `entry_lines(action, changes, cls, entity_id)` is what a page shows of one row: a list of
  `Line`s (a Russian field name, or none for a sentence, and the text). Creations and deletions
  list the filled fields, changes read «old → new», actions an area summarizes (a merge, a
  reassignment, a project's team) go to its summary; any other explicit record is shown field by
  field, nested values as «name: value».
- Field names come from `__audit_labels__` of the row's model, then the catalog the areas
  registered (`vocabulary.py`), then the raw key; coded values from `__audit_values__` (column →
  {code: label}, Enum keys allowed, a (label, …) tuple reads as its label), then the catalog.
  Users are shown by name, other records (a client, a project, a deal) by their label, looked up
  once per page (`prefetch`) or per row when the page did not prefetch.

Nothing here knows an area above audit: the areas' `audit.py` register their words and summaries
in `vocabulary.py`, and use the helpers below (`field_label`, `value_text`, `user_name`,
`record_name`) to write them.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, g, has_app_context
from sqlalchemy import Numeric, select
from sqlalchemy.orm import Session

from erp_crm.audit import vocabulary as words
from erp_crm.audit.vocabulary import Line  # the areas import it from here too
from erp_crm.core.text import display_phone

SECRET = "***"  # noqa: S105  (what audit.services writes instead of a secret)

# Keys never shown: the row's own id and other machine-only values.
TECHNICAL_KEYS = frozenset({"id", "guid", "sha256", "name_norm", "city_norm"})
# What a secret reads as when its model does not say (`__audit_secret_texts__`): set, changed.
SECRET_DEFAULT = ("задано", "изменено")
LIST_LIMIT = 10  # ids of a list shown by name; the rest are counted

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


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
    if key in words.USER_FIELDS:
        return "users"
    return words.REFERENCE_KEYS.get(key)


def _sub_model(key: str, cls: type | None) -> type | None:
    """Whose fields a nested dict holds: a registered table's (an export's filter), else cls's."""
    table = words.NESTED_TABLES.get(key)
    return model_for(table) if table else cls


def _plain_key(key: Any) -> str:
    return str(key.value if isinstance(key, enum.Enum) else key)


def _value_labels(key: str, cls: type | None) -> dict[str, str]:
    own = (getattr(cls, "__audit_values__", None) or {}).get(key)
    labels = own if own is not None else words.VALUE_LABELS.get(key)
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


def user_name(user_id: Any) -> str:
    """A user's name, «пользователь № 7» when unknown."""
    return _user_names().get(user_id, f"пользователь № {user_id}")


def record_name(table: str, record_id: int) -> str | None:
    """The label of a record named by id (looked up once per request), None when unknown."""
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


# --- fields and values ---------------------------------------------------------------------------


def entity_title(entity_type: str) -> str:
    model = model_for(entity_type)
    return getattr(model, "__audit_title__", "") or words.ENTITY_TITLES.get(
        entity_type, entity_type
    )


def action_label(action: str) -> str:
    return words.ACTION_LABELS.get(action, action.replace("_", " "))


def field_label(key: str, cls: type | str | None = None) -> str:
    cls = model_for(cls)
    own = getattr(cls, "__audit_labels__", None) or {}
    label = own.get(key) or words.FIELD_LABELS.get(key)
    if label:
        return label
    if "." in key:  # "price.raw": the price of a stand type
        prefix, _, code = key.partition(".")
        if prefix in own or prefix in words.FIELD_LABELS:
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
            return user_name(value)
        name = record_name(table, value)
        text = words.RECORD_TEXTS.get(table)
        return text(name, value) if text else name or f"№ {value}"
    if key in words.PHONE_FIELDS and isinstance(value, str):
        return display_phone(value)
    if isinstance(value, str) and (_DATE.match(value) or _DATETIME.match(value)):
        return _date_text(value)
    scale = _numeric_scale(key, cls)
    if scale is not None and isinstance(value, str | int | float):
        from erp_crm.ui import ru_number

        try:
            return ru_number(Decimal(str(value)), scale)
        except InvalidOperation:
            return str(value)
    return str(value)


def _numeric_scale(key: str, cls: type | None) -> int | None:
    """Money and quantities (a Numeric column of the model) read «75 000,00», not 75000.00."""
    table = getattr(cls, "__table__", None)
    column = table.c.get(key) if table is not None else None
    if column is not None and isinstance(column.type, Numeric) and column.type.scale:
        return int(column.type.scale)
    return None


# --- rows ----------------------------------------------------------------------------------------


def _secret_texts(cls: type | None) -> dict[str, tuple[str, str]]:
    return getattr(cls, "__audit_secret_texts__", None) or {}


def _secret(key: str, cls: type | None, changes: bool) -> str | None:
    """«задан»/«изменён» for a secret of the model, else None."""
    if key not in (getattr(cls, "__audit_secret__", None) or ()):
        return None
    texts = _secret_texts(cls).get(key, SECRET_DEFAULT)
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
            if key in _secret_texts(cls):
                lines.append(Line(field_label(key, cls), secret))
            continue
        if _empty(value):
            continue
        lines.append(Line(field_label(key, cls), value_text(key, value, cls)))
    return lines


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
            side = words.DIFF_ACTIONS.get(action) or value_text
            old, new = side(key, value[0], cls), side(key, value[1], cls)
            lines.append(Line(label, f"{old} → {new}"))
        else:
            lines.append(Line(label, value_text(key, value, cls)))
    return lines


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
    summary = words.SUMMARIES.get(action)
    if summary is not None:
        return summary(action, changes, cls, entity_id)
    if action in words.DIFF_ACTIONS:
        return _diff_lines(action, changes, cls)
    if action in ("create", "delete"):
        return _snapshot_lines(changes, cls)
    return _generic_lines(changes, cls)


def add_template_globals(app: Flask) -> None:
    app.add_template_global(action_label, "audit_action")
    app.add_template_global(field_label, "audit_field")
    app.add_template_global(value_text, "audit_value")
    app.add_template_global(entry_lines, "audit_lines")
    app.add_template_global(entity_title, "audit_entity")
