"""Russian formatting of document values: amounts, amounts in words, dates, quantities.

Pure functions over Decimal and date, used as template filters by documents.sandbox and by the
app's pages. Money is always Decimal; nothing here accepts float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date
from num2words import num2words

from documents.money import money

NBSP = "\u00a0"


def amount(value: Decimal | int | str | None) -> str:
    """«1 234 567,89»: groups by a no-break space, comma decimals, always two kopeck digits."""
    if value is None:
        return ""
    rounded = money(value)
    sign = "-" if rounded < 0 else ""
    rubles, kopecks = f"{abs(rounded):.2f}".split(".")
    groups = []
    while rubles:
        groups.insert(0, rubles[-3:])
        rubles = rubles[:-3]
    return f"{sign}{NBSP.join(groups)},{kopecks}"


def quantity(value: Decimal | int | str | None) -> str:
    """A quantity without trailing zeros: 12 → «12», 12.50 → «12,5»."""
    if value is None:
        return ""
    number = Decimal(value).normalize()
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def amount_in_words(value: Decimal | int | str) -> str:
    """«Сто двадцать три рубля 45 копеек» (num2words, kopecks as digits, first letter capital)."""
    rounded = money(value)
    words = num2words(
        abs(rounded), lang="ru", to="currency", currency="RUB", cents=False, separator=""
    )
    words = ("минус " if rounded < 0 else "") + words
    return words[:1].upper() + words[1:]


def date_long(value: dt.date | None) -> str:
    """«23 ноября 2026 г.» (babel's genitive month names)."""
    if value is None:
        return ""
    return format_date(value, "d MMMM y", locale="ru") + " г."


def date_short(value: dt.date | None) -> str:
    """«23.11.2026»."""
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y")


def date_quoted(value: dt.date | None) -> str:
    """«"23" ноября 2026 г.» — the way contracts write their date."""
    if value is None:
        return ""
    return f"«{value.day:02d}» " + format_date(value, "MMMM y", locale="ru") + " г."


def period(start: dt.date | None, end: dt.date | None) -> str:
    """«12–15 марта 2027 г.», «30 марта – 2 апреля 2027 г.»."""
    if start is None or end is None:
        return date_long(start or end)
    if start == end:
        return date_long(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{date_long(end)}"
    if start.year == end.year:
        return format_date(start, "d MMMM", locale="ru") + " – " + date_long(end)
    return f"{date_long(start)} – {date_long(end)}"


def initials(full_name: str | None) -> str:
    """«Иванов Иван Петрович» → «Иванов И. П.» (signature transcripts)."""
    if not full_name:
        return ""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name
    return parts[0] + " " + " ".join(f"{p[0]}." for p in parts[1:3])
