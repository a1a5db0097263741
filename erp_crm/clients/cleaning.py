"""The checks of input values every form of the client base shares: text (no NUL, a length
limit), yes/no, integers, user ids; the Russian messages they raise as BadValue."""

from __future__ import annotations

from typing import Any

from erp_crm.db import MAX_ID

_TRUE = {"1", "true", "yes", "on", "y", "да"}
_FALSE = {"", "0", "false", "no", "off", "n", "нет", "-"}


class BadValue(ValueError):
    """A value of the wrong type or content; the message is Russian and shown as is."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def too_long(limit: int) -> str:
    return f"Слишком длинное значение: не больше {limit} символов."


def nul_message(label: str | None) -> str:
    where = f" «{label}»" if label else ""
    return f"Недопустимый символ в поле{where}: нулевой символ (\\0)."


def clean_text(value: Any, label: str | None = None, *, limit: int | None = None) -> str | None:
    """Stripped text, None for nothing; raise BadValue for what is not text, holds a NUL (which
    PostgreSQL refuses to store) or is longer than `limit`. Numbers are taken as their digits
    (a spreadsheet cell); booleans, lists and objects are refused, not printed as Python."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValue("Ожидается текст.")
    value = str(value).strip()
    if "\x00" in value:
        raise BadValue(nul_message(label))
    if limit is not None and len(value) > limit:
        raise BadValue(too_long(limit))
    return value or None


def clean_bool(value: Any) -> bool:
    """A real boolean, or the words a form or a spreadsheet uses (да/нет, true/false, 1/0)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise BadValue("Ожидается «да» или «нет» (true или false).")


def clean_integer(value: Any, message: str) -> int | None:
    """An integer given as a number or as digits; None for nothing. Booleans are no numbers."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise BadValue(message)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii():
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise BadValue(message)


def clean_user_id(value: Any) -> int | None:
    """A user's id (a curator), None for nothing; never a boolean, never past 32 bits."""
    user_id = clean_integer(value, "Неверный куратор.")
    if user_id is not None and not 1 <= user_id <= MAX_ID:
        raise BadValue("Неверный куратор.")
    return user_id


def fields_message(errors: dict[str, str], labels: dict[str, str]) -> str:
    """The summary of a ValidationError: which fields to check, by their Russian names."""
    names = ", ".join(labels.get(key, key) for key in errors)
    return f"Проверьте поля: {names}."
