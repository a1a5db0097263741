"""The words the history pages use, contributed by the areas: the audit part knows none of them.

Each area says how its audit rows read in its own `audit.py`, beside its models, by calling
`register(...)` once at import (the area's package `__init__` imports it, the way it imports its
`receivers.py`). The audit part itself (`presentation.py`) only renders: it looks up what was
registered here and falls back to the raw key when nobody named it. So the audit package never
imports an area above it; `auth`, below audit, declares its words on the `User` model itself
(`__audit_labels__`, `__audit_values__`, `__audit_secret_texts__`), which the renderer reads.

A model's own `__audit_labels__` / `__audit_values__` come first; what is registered here is
the shared catalog for every table and for explicit records (keys that are not columns). The
same key may be registered by two areas only with the same words (checked at import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple


class Line(NamedTuple):
    """One line of a row's details: «label: text», or a sentence when `label` is None."""

    label: str | None
    text: str


# (action, changes, model class or None, record id) → the row's lines.
Summary = Callable[[str, dict[str, Any], "type | None", "int | None"], list[Line]]
# (key, value, model class or None) → one side of an «old → new» change.
DiffValue = Callable[[str, Any, "type | None"], str]
# (the record's label or None, its id) → how a reference to it reads.
RecordText = Callable[["str | None", int], str]

# --- the generic part: what every table has ------------------------------------------------------

ACTION_LABELS: dict[str, str] = {
    "create": "создание",
    "update": "изменение",
    "delete": "удаление",
}
# Columns of the shared mixins and words of columns most tables have.
FIELD_LABELS: dict[str, str] = {
    "kind": "Вид",
    "name": "Наименование",
    "status": "Статус",
    "amount": "Сумма",
    "description": "Описание",
    "is_active": "Активна",
    "position": "Порядок",
    "code": "Код",
    "number": "Номер",
    "year": "Год",
    "month": "Месяц",
    "created_by_id": "Создал",
    "created_at": "Создана",
    "updated_at": "Изменена",
}
VALUE_LABELS: dict[str, dict[Any, str]] = {}
# Rows of what is not an audited model (an adapter writes them), by their entity type.
ENTITY_TITLES: dict[str, str] = {}
# Keys that hold a user's id when the model does not say (no foreign key to look at).
USER_FIELDS: set[str] = {"actor_id", "created_by_id", "user_id"}
# Keys that hold ids of other records when the model does not say: key → table.
REFERENCE_KEYS: dict[str, str] = {}
PHONE_FIELDS: set[str] = set()
# A nested dict under a key holds the fields of another table's record: key → table.
NESTED_TABLES: dict[str, str] = {}
# How a reference to a record of a table reads (default: its label, else «№ id»).
RECORD_TEXTS: dict[str, RecordText] = {}
# What a merge moves of a table: «сделок» (with its place in the sentence, smaller first).
MOVED_LABELS: dict[str, tuple[int, str]] = {}
# Actions summarized by their area's own function instead of field by field.
SUMMARIES: dict[str, Summary] = {}
# Explicit records whose values are [old, new] pairs, like an update's (with a value formatter
# for the two sides, or None for the usual `value_text`).
DIFF_ACTIONS: dict[str, DiffValue | None] = {"update": None}


_NOTHING: Mapping[Any, Any] = MappingProxyType({})  # the default of register's arguments


def _merge(target: dict[Any, Any], new: Mapping[Any, Any], what: str) -> None:
    for key, value in new.items():
        if key in target and target[key] != value:
            raise ValueError(f"audit vocabulary: {what} {key!r} is already {target[key]!r}")
        target[key] = value


def register(
    *,
    actions: Mapping[str, str] = _NOTHING,
    fields: Mapping[str, str] = _NOTHING,
    values: Mapping[str, Mapping[Any, str]] = _NOTHING,
    titles: Mapping[str, str] = _NOTHING,
    users: Iterable[str] = (),
    references: Mapping[str, str] = _NOTHING,
    phones: Iterable[str] = (),
    nested: Mapping[str, str] = _NOTHING,
    record_texts: Mapping[str, RecordText] = _NOTHING,
    moved: Mapping[str, tuple[int, str]] = _NOTHING,
    summaries: Mapping[str, Summary] = _NOTHING,
    diff_actions: Mapping[str, DiffValue | None] = _NOTHING,
) -> None:
    """Add an area's words: action names, field names, value labels, what its keys point to.

    - `actions`: action code → Russian («стенд забронирован»);
    - `fields`: key → Russian field name, for every table without its own label and for the keys
      of explicit records; `values`: key → {code: label};
    - `titles`: entity type that is no audited model (an adapter's rows) → its Russian title;
    - `users`: keys holding a user's id; `references`: key → the table its ids point to (both
      only where no foreign key says it); `phones`: keys shown as phone numbers;
    - `nested`: key of a nested dict → the table whose fields it holds (an export's filter);
    - `record_texts`: table → how a reference to one of its records reads;
    - `moved`: table → (place, «сделок»), what a merge moved of it;
    - `summaries`: action → the function that turns its row into lines;
    - `diff_actions`: action → how the old and new values read (None: as any value).
    """
    _merge(ACTION_LABELS, actions, "action")
    _merge(FIELD_LABELS, fields, "field")
    _merge(VALUE_LABELS, {k: dict(v) for k, v in values.items()}, "values of")
    _merge(ENTITY_TITLES, titles, "title of")
    USER_FIELDS.update(users)
    _merge(REFERENCE_KEYS, references, "reference")
    PHONE_FIELDS.update(phones)
    _merge(NESTED_TABLES, nested, "nested")
    _merge(RECORD_TEXTS, record_texts, "record text of")
    _merge(MOVED_LABELS, moved, "moved label of")
    _merge(SUMMARIES, summaries, "summary of")
    _merge(DIFF_ACTIONS, diff_actions, "diff action")


def moved_label(table: str) -> str | None:
    """«сделок» for what a merge moved of `table`, None when no area named it."""
    entry = MOVED_LABELS.get(table)
    return entry[1] if entry else None


def moved_tables() -> list[str]:
    """The tables with a moved label, in their place in the sentence."""
    return sorted(MOVED_LABELS, key=lambda table: MOVED_LABELS[table][0])
