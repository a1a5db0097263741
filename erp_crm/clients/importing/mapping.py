"""The fields a file's columns may feed, and which column feeds which.

The header row gives a suggested mapping of columns to fields (Russian and English synonyms);
the page (or the API's overrides) confirms or changes it, and check_mapping refuses a mapping
the import cannot run with.
"""

from __future__ import annotations

import re
from typing import Any

from erp_crm.errors import ValidationError

FIELD_LABELS: dict[str, str] = {
    "name": "Наименование",
    "full_name": "Полное наименование",
    "kind": "Вид (юрлицо / ИП / физлицо)",
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
    "curator": "Куратор (логин или ФИО)",
    "notes": "Примечание",
    "mailing_consent": "Согласие на рассылку",
    "external_id": "Внешний код",
    "contact_name": "Контактное лицо: ФИО",
    "contact_position": "Контактное лицо: должность",
    "contact_phone": "Контактное лицо: телефон",
    "contact_email": "Контактное лицо: e-mail",
}
# Fields several columns may feed ("Телефон", "Телефон 2"); any other field takes one column.
MULTI_FIELDS = frozenset({"contact_phone", "contact_email", "notes"})
IDENTIFYING_FIELDS = ("name", "inn", "external_id")

# Header synonyms, compared after normalize_header() (lower case, ё -> е, no punctuation).
# fmt: off
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "наименование", "название", "наименование организации", "название организации",
        "наименование компании", "название компании", "краткое наименование", "компания",
        "организация", "контрагент", "клиент", "name", "company", "company name",
        "organization", "organisation", "client",
    ),
    "full_name": (
        "полное наименование", "полное название", "полное наименование организации",
        "legal name", "full company name",
    ),
    "kind": ("вид", "вид контрагента", "тип контрагента", "тип клиента", "kind", "client type"),
    "inn": ("инн", "инн организации", "инн контрагента", "inn", "tax id", "taxpayer id"),
    "kpp": ("кпп", "kpp"),
    "ogrn": ("огрн", "огрнип", "огрн огрнип", "ogrn"),
    "legal_address": (
        "юр адрес", "юридический адрес", "адрес юридический", "адрес регистрации", "адрес",
        "legal address", "address",
    ),
    "postal_address": (
        "почтовый адрес", "фактический адрес", "факт адрес", "адрес для корреспонденции",
        "postal address", "mailing address",
    ),
    "region": ("регион", "область", "субъект рф", "регион рф", "region"),
    "city": ("город", "населенный пункт", "нас пункт", "city", "town"),
    "industry": ("отрасль", "сфера деятельности", "вид деятельности", "industry", "sector"),
    "website": ("сайт", "веб сайт", "вебсайт", "web", "website", "web site", "site", "url", "www"),
    "source": ("источник", "источник контакта", "источник клиента", "source", "lead source"),
    "curator": (
        "куратор", "ответственный", "менеджер", "ответственный менеджер", "curator", "manager",
        "owner",
    ),
    "notes": (
        "примечание", "примечания", "комментарий", "комментарии", "заметки", "notes", "note",
        "comment", "comments",
    ),
    "mailing_consent": (
        "согласие на рассылку", "рассылка", "согласие", "mailing consent", "mailing",
        "subscribed",
    ),
    "external_id": (
        "внешний код", "внешний id", "внешний идентификатор", "код", "код клиента", "код 1с",
        "id", "external id", "external code", "code",
    ),
    "contact_name": (
        "контактное лицо", "фио", "фио контакта", "фио контактного лица", "контакт",
        "contact", "contact name", "contact person",
    ),
    "contact_position": ("должность", "должность контакта", "position", "job title", "title"),
    "contact_phone": (
        "телефон", "тел", "номер телефона", "мобильный", "моб телефон", "мобильный телефон",
        "рабочий телефон", "phone", "tel", "telephone", "mobile",
    ),
    "contact_email": (
        "e mail", "email", "почта", "эл почта", "электронная почта",
        "адрес электронной почты", "mail",
    ),
}
# fmt: on
# The contact columns of our own export (several contacts joined): never mapped automatically.
_NEVER_SUGGESTED = {"контактные лица", "телефоны контактов", "e mail контактов"}
_HEADER_INDEX = {syn: key for key, words in _SYNONYMS.items() for syn in words}


def normalize_header(value: str | None) -> str:
    """'Юр. адрес:' -> 'юр адрес', 'E-mail' -> 'e mail'."""
    value = (value or "").casefold().replace("ё", "е")
    return " ".join(re.sub(r"[^\w]+", " ", value).split())


def suggest_field(header: str) -> str | None:
    norm = normalize_header(header)
    if not norm or norm in _NEVER_SUGGESTED:
        return None
    if norm in _HEADER_INDEX:
        return _HEADER_INDEX[norm]
    stripped = re.sub(r"\s*\d+$", "", norm)  # "Телефон 2"
    if stripped in _HEADER_INDEX:
        return _HEADER_INDEX[stripped]
    words = set(norm.split())
    if "адрес" in words and ("почтовый" in words or "фактический" in words):
        return "postal_address"
    if "адрес" in words and ("юр" in words or "юридический" in words):
        return "legal_address"
    if "телефон" in norm or "тел" in words or "phone" in norm or "mobile" in words:
        return "contact_phone"
    if "mail" in norm or "почта" in words:
        return "contact_email"
    return None


def suggest_mapping(header: list[str]) -> dict[int, str]:
    """Column index -> field; a single-column field goes to the first column that names it."""
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, title in enumerate(header):
        key = suggest_field(title)
        if key is None or (key in taken and key not in MULTI_FIELDS):
            continue
        mapping[index] = key
        taken.add(key)
    return mapping


def check_mapping(mapping: dict[int, str], width: int) -> dict[int, str]:
    """A clean mapping (unknown columns dropped) or a ValidationError naming the problem."""
    clean: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, key in mapping.items():
        if not key:
            continue
        if key not in FIELD_LABELS:
            raise ValidationError(fields={"mapping": f"Неизвестное поле «{key}»."})
        if not 0 <= index < width:
            raise ValidationError(fields={"mapping": f"В файле нет столбца № {index + 1}."})
        if key in seen and key not in MULTI_FIELDS:
            raise ValidationError(
                fields={
                    "mapping": f"Поле «{FIELD_LABELS[key]}» выбрано для двух столбцов "
                    f"(№ {seen[key] + 1} и № {index + 1}): оставьте один."
                }
            )
        seen[key] = index
        clean[index] = key
    if not any(key in IDENTIFYING_FIELDS for key in clean.values()):
        raise ValidationError(
            fields={
                "mapping": "Сопоставьте хотя бы один из столбцов: «Наименование», «ИНН» или "
                "«Внешний код»."
            }
        )
    return clean


def error_label(key: str) -> str:
    """The Russian name of a report's error key ('inn', 'contact.phones', 'row')."""
    if key == "row":
        return "Строка"
    if key.startswith("contact."):
        return {
            "contact.full_name": "Контактное лицо",
            "contact.phones": "Телефон",
            "contact.emails": "E-mail",
            "contact.position": "Должность",
        }.get(key, "Контактное лицо")
    if key == "curator_id":
        return "Куратор"
    return FIELD_LABELS.get(key, key)


def resolve_mapping(header: list[str], overrides: dict[str, Any] | None) -> dict[int, str]:
    """The suggested mapping with `overrides` ({header or column index: field or ""}) applied,
    checked as the import page checks it: `header` is the preview's (padded_header), a column
    number beyond it is refused."""
    mapping = suggest_mapping(header)
    for raw_key, value in (overrides or {}).items():
        key = str(raw_key).strip()
        if key.isdigit():
            index = int(key)
        else:
            wanted = normalize_header(key)
            matches = [i for i, title in enumerate(header) if normalize_header(title) == wanted]
            if not matches:
                raise ValidationError(fields={"mapping": f"В файле нет столбца «{key}»."})
            index = matches[0]
        if value in (None, ""):
            mapping.pop(index, None)
        else:
            mapping[index] = str(value)
    return check_mapping(mapping, len(header))
