"""The API's one check of a JSON body against the endpoint's request schema.

`api_route` runs it before the view for every endpoint that declares a JSON `request_schema`: each
field's value must have the declared type (string, integer, number, boolean, array of X, object
with its properties), null only where the type allows it, and a string of format date, date-time
or decimal must read as one. A wrong value is a 422 naming the field in Russian — never a
TypeError deep in a service. What the value means (a known id, an allowed status, a length) is the
service's to check, with its own messages; a key the schema does not list is left to the view.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from erp_crm.errors import ValidationError

_KIND_TEXT = {
    "string": "строка",
    "integer": "целое число",
    "number": "число",
    "boolean": "true или false",
    "array": "список",
    "object": "JSON-объект",
}
_ITEMS_TEXT = {
    "string": "список строк",
    "integer": "список целых чисел",
    "number": "список чисел",
    "boolean": "список значений true или false",
    "object": "список JSON-объектов",
    "array": "список списков",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMAT_TEXT = {
    "date": "строка с датой в формате ГГГГ-ММ-ДД",
    "date-time": "строка с датой и временем в формате ISO 8601, например 2027-03-16T10:00:00+03:00",
    "decimal": 'число (строкой или числом), например "1234.50"',
}


def _kinds(schema: dict) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return list(kind) if isinstance(kind, list) else [kind]


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return kind == "null" and value is None


def _format_ok(value: str, fmt: str | None) -> bool:
    if fmt is None or not value.strip():  # an empty text is the service's «не указано»
        return True
    text = value.strip()
    try:
        if fmt == "date":
            return bool(_DATE.match(text)) and dt.date.fromisoformat(text) is not None
        if fmt == "date-time":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) is not None
        if fmt == "decimal":
            number = Decimal(re.sub(r"[\s\u00a0]", "", text).replace(",", "."))
            return number.is_finite()
    except (ValueError, InvalidOperation):
        return False
    return True


def _wanted(kinds: list[str], schema: dict) -> str:
    real = [k for k in kinds if k != "null"]
    if schema.get("format") in _FORMAT_TEXT and "string" in real:
        text = _FORMAT_TEXT[schema["format"]]
        return f"{text} (или null)" if "null" in kinds else text
    words = [_KIND_TEXT.get(k, k) for k in real]
    if real == ["array"] and isinstance(schema.get("items"), dict):
        item_kinds = [k for k in _kinds(schema["items"]) if k != "null"]
        if len(item_kinds) == 1 and item_kinds[0] in _ITEMS_TEXT:
            words = [_ITEMS_TEXT[item_kinds[0]]]
    text = " или ".join(words)
    return f"{text} (или null)" if "null" in kinds else text


def problem(value: Any, schema: dict) -> str | None:
    """What is wrong with `value` for `schema` («ожидается …»), or None when it fits."""
    kinds = _kinds(schema)
    if not kinds:
        return None
    if value is None:
        return None if "null" in kinds else "значение не может быть пустым (null)"
    wanted = _wanted(kinds, schema)
    if not any(_is_kind(value, k) for k in kinds if k != "null"):
        return f"ожидается {wanted}"
    if isinstance(value, str) and not _format_ok(value, schema.get("format")):
        return f"ожидается {wanted}"
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            if problem(item, schema["items"]) is not None:
                return f"ожидается {wanted}"
    return None


def _collect(
    body: dict, schema: dict, labels: dict[str, str], prefix: str, errors: dict[str, str]
) -> None:
    properties = schema.get("properties") or {}
    for key, value in body.items():
        field_schema = properties.get(key)
        if not isinstance(field_schema, dict):
            continue
        name = prefix + key
        wrong = problem(value, field_schema)
        if wrong is not None:
            label = labels.get(name) or field_schema.get("title") or f"«{name}»"
            errors[name] = f"{label}: {wrong}."
        elif isinstance(value, dict) and "properties" in field_schema:
            _collect(value, field_schema, labels, name + ".", errors)
        elif isinstance(value, list) and isinstance(field_schema.get("items"), dict):
            item_schema = field_schema["items"]
            if "properties" in item_schema:
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        _collect(item, item_schema, labels, f"{name}[{index}].", errors)


def check_body(body: Any, schema: dict, labels: dict[str, str] | None = None) -> None:
    """Raise a ValidationError (422) naming every field of `body` whose value does not fit its
    declared schema. A body that is not an object is left to the view's `json_body` (400)."""
    if not isinstance(body, dict):
        return
    errors: dict[str, str] = {}
    _collect(body, schema, labels or {}, "", errors)
    if errors:
        names = ", ".join(labels.get(k, k) if labels else k for k in errors)
        raise ValidationError(f"Проверьте поля: {names}.", fields=errors)
