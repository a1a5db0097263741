"""Message dataclasses <-> lxml elements and <-> JSON, driven by `messages.wire_fields`.

The emulator's side of the wire: it reads requests already validated against the WSDL's schema
and writes answers in the schema's element order, the way 1C does (an unfilled date is written as
1C's empty date 0001-01-01, never omitted).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree

from accounting_sync.messages import (
    EMPTY_DATE,
    EMPTY_DATETIME,
    NAMESPACE,
    WireField,
    WireMessage,
    wire_fields,
)

M = TypeVar("M", bound=WireMessage)

_DATE_PREFIX = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")


def qname(name: str) -> str:
    """The element name in the service namespace (the schema is elementFormDefault=qualified)."""
    return f"{{{NAMESPACE}}}{name}"


# --- XML ------------------------------------------------------------------------------------


def format_scalar(value: Any) -> str:
    """The xs: lexical form of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def append_fields(parent: etree._Element, obj: WireMessage) -> etree._Element:
    """Append `obj`'s fields to `parent` as child elements, in sequence order."""
    for wf in wire_fields(type(obj)):
        value = getattr(obj, wf.name)
        if wf.is_list:
            wrapper = etree.SubElement(parent, qname(wf.xml))
            for item in value:
                append_fields(etree.SubElement(wrapper, qname(wf.item or "")), item)
            continue
        if value is None:
            # 1C has no NULL date: it writes its empty date; other empty optionals are omitted.
            if wf.type is datetime:
                value = EMPTY_DATETIME
            elif wf.type is date:
                value = EMPTY_DATE
            else:
                continue
        etree.SubElement(parent, qname(wf.xml)).text = format_scalar(value)
    return parent


def parse_scalar(wf: WireField, text: str | None) -> Any:
    """Read an xs: lexical value (already schema-valid) as the field's Python type."""
    text = (text or "").strip() if wf.type is not str else (text or "")
    if wf.type is str:
        return text if text or not wf.optional else None
    if not text:
        return None
    if wf.type is int:
        return int(text)
    if wf.type is bool:
        return text in ("true", "1")
    if wf.type is Decimal:
        return Decimal(text)
    if wf.type is datetime:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return None if value.replace(tzinfo=None) == EMPTY_DATETIME else value
    if wf.type is date:
        match = _DATE_PREFIX.match(text)  # xs:date may carry a zone suffix: the day is what counts
        value = date.fromisoformat(match.group(1) if match else text)
        return None if value == EMPTY_DATE else value
    raise TypeError(f"unsupported wire type {wf.type!r}")


def from_element(cls: type[M], element: etree._Element) -> M:
    """Build `cls` from the element whose children are its fields."""
    children: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            children[etree.QName(child).localname] = child
    kwargs: dict[str, Any] = {}
    for wf in wire_fields(cls):
        child = children.get(wf.xml)
        if wf.is_list:
            items = [] if child is None else child.findall(qname(wf.item or ""))
            kwargs[wf.name] = tuple(from_element(wf.type, item) for item in items)
        else:
            kwargs[wf.name] = None if child is None else parse_scalar(wf, child.text)
    return cls(**kwargs)


# --- JSON (formed messages are kept as JSON so a resend is the same message) -----------------


def to_jsonable(obj: WireMessage) -> dict[str, Any]:
    """A message as JSON-able data (Decimal and dates as strings)."""
    out: dict[str, Any] = {}
    for wf in wire_fields(type(obj)):
        value = getattr(obj, wf.name)
        if wf.is_list:
            out[wf.name] = [to_jsonable(item) for item in value]
        elif value is None or isinstance(value, bool | int | str):
            out[wf.name] = value
        else:
            out[wf.name] = format_scalar(value)
    return out


def from_jsonable(cls: type[M], data: dict[str, Any]) -> M:
    """The inverse of `to_jsonable`."""
    kwargs: dict[str, Any] = {}
    for wf in wire_fields(cls):
        value = data.get(wf.name)
        if wf.is_list:
            kwargs[wf.name] = tuple(from_jsonable(wf.type, item) for item in value or ())
        elif value is None or wf.type in (str, int, bool):
            kwargs[wf.name] = value
        elif wf.type is Decimal:
            kwargs[wf.name] = Decimal(value)
        elif wf.type is datetime:
            kwargs[wf.name] = datetime.fromisoformat(value)
        else:
            kwargs[wf.name] = date.fromisoformat(value)
    return cls(**kwargs)
