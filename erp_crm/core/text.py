"""Text normalization for search and duplicate detection (Cyrillic-aware, backend-independent).

SQLite's lower() folds only ASCII, so every searchable name is stored a second time, normalized
in Python, and searched with LIKE on that column on every backend.
"""

from __future__ import annotations

import re

import phonenumbers

_QUOTES = re.compile(r"[«»\"'“”„`]")
_SPACES = re.compile(r"\s+")
_LEGAL_FORMS = re.compile(
    r"\b(ооо|оао|зао|пао|ао|нао|ип|фгуп|гуп|муп|ано|нко|тоо|llc|ltd|inc|gmbh)\b\.?"
)


def normalize(value: str | None) -> str:
    """Case-folded, ё -> е, no quotes, single spaces: «ООО "Ёлка"» -> 'ооо елка'."""
    if not value:
        return ""
    value = _QUOTES.sub(" ", value.casefold().replace("ё", "е"))
    return _SPACES.sub(" ", value).strip()


def name_key(value: str | None) -> str:
    """The part of a company name that identifies it: no legal form, no punctuation."""
    value = _LEGAL_FORMS.sub(" ", normalize(value))
    value = re.sub(r"[^\w\s]", " ", value)
    return _SPACES.sub(" ", value).strip()


def quoted(name: str) -> str:
    """A name in «», unless it carries its own («ООО «Ромашка»» reads badly)."""
    return name if "«" in name or "»" in name else f"«{name}»"


def like_pattern(term: str) -> str:
    """A LIKE pattern for `term` anywhere, with LIKE's wildcards escaped (escape char '\\')."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


EXTENSION = ";ext="


def normalize_phone(value: str | None) -> str | None:
    """E.164 (+78462071144) for a valid number, None when it is not a phone number.

    An extension («доб. 305», «ext. 305», «#305») is kept the way RFC 3966 writes it:
    +78462071144;ext=305 (offices are reached through their PBX; dropping it loses the person).
    """
    if not value or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164}{EXTENSION}{number.extension}" if number.extension else e164


def display_phone(e164: str) -> str:
    """+7 846 207-11-44, with «доб. 305» for an extension."""
    try:
        number = phonenumbers.parse(e164, "RU")
    except phonenumbers.NumberParseException:
        return e164
    extension, number.extension = number.extension, None
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{shown} доб. {extension}" if extension else shown


def phone_digits(value: str) -> str:
    """Digits of a phone query, with a leading 8 read as the Russian trunk prefix (8 -> 7)."""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits
