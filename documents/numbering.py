"""Document number formats: a pattern per organization and kind, e.g. «СЧ-{n:05}/{yy}».

The sequence itself (gapless, per organization, kind and year) lives in the app's database; here
only the formatting. Patterns come from admins, so they are parsed by a tiny grammar, never by
str.format (which would let `{n.__class__}` reach attributes).
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"\{(n|year|yy|project)(?::0([1-9]))?\}")
ALLOWED_TEXT = re.compile(r"^[\w\-/.№ ]*$")
MAX_PATTERN = 40

DEFAULT_PATTERNS = {
    "application": "З-{n}",
    "contract": "{n}/{yy}",
    "checklist": "ЧЛ-{n}",
    "invoice": "{n}",
    "act": "{n}",
    "vat_invoice": "{n}",
}


def validate_pattern(pattern: str) -> list[str]:
    errors = []
    if not pattern or len(pattern) > MAX_PATTERN:
        errors.append(f"Формат номера: от 1 до {MAX_PATTERN} символов.")
    if "{n" not in pattern or not any(m.group(1) == "n" for m in TOKEN.finditer(pattern)):
        errors.append("Формат номера должен содержать {n} — порядковый номер.")
    rest = TOKEN.sub("", pattern)
    if "{" in rest or "}" in rest:
        errors.append("Допустимые поля: {n}, {n:05}, {year}, {yy}, {project}.")
    elif not ALLOWED_TEXT.match(rest):
        errors.append("В формате номера допустимы буквы, цифры, пробел и знаки - / . №")
    return errors


def format_number(pattern: str, *, n: int, year: int, project: str = "") -> str:
    def sub(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name == "n":
            return str(n).zfill(int(width)) if width else str(n)
        if name == "year":
            return str(year)
        if name == "yy":
            return f"{year % 100:02d}"
        return project

    return TOKEN.sub(sub, pattern)
