"""One row of a file: its cells parsed into a client's fields and a contact (ИНН/КПП as people
paste them, the kind and the curator recognized), and the contact checked as the service does."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients import contacts
from erp_crm.clients.importing.mapping import FIELD_LABELS
from erp_crm.clients.models import CLIENT_KIND_LABELS, Client, ClientKind, ContactPerson
from erp_crm.core import requisites as rq
from erp_crm.core import text
from erp_crm.db import column_length
from erp_crm.errors import ValidationError

GENERAL_CONTACT = "Общий контакт"  # the contact that gets phones/e-mails of a row without a name

_KINDS = {
    **{text.normalize(label): kind.value for kind, label in CLIENT_KIND_LABELS.items()},
    **{kind.value: kind.value for kind in ClientKind},
    "юрлицо": "legal",
    "юр лицо": "legal",
    "юл": "legal",
    "организация": "legal",
    "legal entity": "legal",
    "company": "legal",
    "ип": "sole_trader",
    "sole trader": "sole_trader",
    "физлицо": "person",
    "физ лицо": "person",
    "фл": "person",
    "individual": "person",
}
# Lengths of free-text columns (ИНН, КПП, ОГРН and the kind are checked by the service).
_COLUMN_LENGTHS = {
    c.name: c.type.length
    for c in Client.__table__.columns
    if getattr(c.type, "length", None)
    and c.name in FIELD_LABELS
    and c.name not in ("inn", "kpp", "ogrn", "kind")
}
_CONTACT_LENGTHS = {"contact_name": 300, "contact_position": 200}
# The columns' limits check_contact compares with (read once, not twice a row).
_NAME_LIMIT = column_length(ContactPerson.__table__.c.full_name)
_POSITION_LIMIT = column_length(ContactPerson.__table__.c.position)


@dataclass
class ParsedRow:
    number: int
    changes: dict[str, Any]  # ClientData fields with non-empty values
    contact: contacts.ContactData | None
    errors: dict[str, str]
    # The contact cleaned (or its ValidationError), when Engine.prepare checked it already.
    checked_contact: contacts.ContactData | ValidationError | None = None

    @property
    def external_id(self) -> str | None:
        return self.changes.get("external_id")

    @property
    def requisites(self) -> tuple[str, str | None] | None:
        inn = self.changes.get("inn")
        return (inn, self.changes.get("kpp")) if inn else None

    @property
    def name_key(self) -> str | None:
        """A row with neither external id nor ИНН is matched by its normalized name."""
        if self.external_id or self.requisites or not self.changes.get("name"):
            return None
        names = [self.changes.get("name"), self.changes.get("full_name")]
        return text.normalize(" ".join(filter(None, names)))[:500]


def _digits(value: str, pad_to: tuple[tuple[int, int], ...]) -> str:
    """ИНН/КПП as people paste them; a number Excel stripped of its leading zero is restored."""
    digits = rq.digits(value).upper()  # the same cleaning as the service's
    for short, full in pad_to:
        if digits.isdigit() and len(digits) == short:
            return digits.zfill(full)
    return digits


def _split(value: str, pattern: re.Pattern[str]) -> list[str]:
    # The compiled pattern's own split: re.split looks the pattern up in re's cache every call.
    return [part for part in map(str.strip, pattern.split(value)) if part]


_PHONE_SEPARATORS = re.compile(r"[;,\n]+")
_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")


# Contact validation, as contacts.validate_contact does it, with the costly parts (phonenumbers,
# email-validator: ~70 % of a row's validation) cached by the raw cell text: a file repeats
# numbers and addresses (a company's switchboard, a re-imported file), and the result of either
# depends on the text only. Bounded, so a huge file does not keep every value.
@functools.lru_cache(maxsize=20_000)
def _phone_e164(raw: str) -> str | None:
    found = _DISPLAYED_RU.fullmatch(raw)
    if found is None:
        return text.normalize_phone(raw)
    national = "".join(found.groups())
    if national[0] == "0":
        return text.normalize_phone(raw)
    # The form the app shows and exports a Russian number in (display_phone: «+7 846 207-11-44»,
    # so a re-imported export and most pasted lists): the number is known without parsing it,
    # phonenumbers only says whether it is valid. parse() was half of a phone's cost; the same
    # answers as normalize_phone for a number of every 5-digit prefix (checked: 100 000 numbers).
    number = phonenumbers.PhoneNumber(country_code=7, national_number=int(national))
    return f"+7{national}" if phonenumbers.is_valid_number(number) else None


_DISPLAYED_RU = re.compile(r"\+7 (\d{3}) (\d{3})-(\d{2})-(\d{2})")


@functools.lru_cache(maxsize=20_000)
def _email_normalized(raw: str) -> str | None:
    return contacts.normalize_email(raw)


def _text_or_none(value: Any) -> str | None:
    """cleaning.clean_text without its checks: stripped text, None for nothing."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def validate_contact(session: Session, data: contacts.ContactData) -> contacts.ContactData:
    """contacts.validate_contact for a file row's contact (name, position, phones, e-mails):
    the same cleaning, the same errors and messages, the lookups cached. Anything else a contact
    may carry (birthday, curator, notes: never read from a file) goes to the service itself."""
    checked = check_contact(data)
    if checked is None:
        cleaned, _, _ = contacts.validate_contact(session, data)
        return cleaned
    if isinstance(checked, ValidationError):
        raise checked
    return checked


def check_contact(data: contacts.ContactData) -> contacts.ContactData | ValidationError | None:
    """validate_contact without a session (so a thread may run it): the cleaned contact or the
    error to raise; None for a contact only the service can check (it has a birthday, curator or
    notes)."""
    if data.birthday is not None or data.curator_id not in (None, "") or data.notes is not None:
        return None
    for value, limit in ((data.full_name, _NAME_LIMIT), (data.position, _POSITION_LIMIT)):
        if isinstance(value, str) and (
            "\x00" in value or len(value.strip()) > (limit or len(value))
        ):
            return None  # a NUL or an over-long value: the service says so, in its words
    errors: dict[str, str] = {}
    name = _text_or_none(data.full_name)
    if not name:
        errors["full_name"] = "Укажите ФИО контактного лица."
    phones = contacts.clean_channels(errors, "phones", data.phones, _phone_e164)
    emails = contacts.clean_channels(errors, "emails", data.emails, _email_normalized)
    if errors:
        return ValidationError(fields=errors)
    return contacts.ContactData(
        full_name=name,
        position=_text_or_none(data.position),
        phones=phones,
        emails=emails,
        birthday=None,
        notes=None,
        curator_id=None,
    )


class RowParser:
    """A file row's cells -> a ParsedRow, by the confirmed mapping; curators by login or name."""

    def __init__(self, mapping: dict[int, str]):
        self.mapping = mapping
        self.curators_loaded = False
        self.logins: dict[str, int] = {}
        self.full_names: dict[str, int | None] = {}

    def load_curators(self, session: Session) -> None:
        """Users by login and by full name (a full name two users share is ambiguous: None)."""
        self.logins = {}
        self.full_names = {}
        for user_id, username, full_name in session.execute(
            select(User.id, User.username, User.full_name)
        ):
            self.logins[username.casefold()] = user_id
            key = text.normalize(full_name)
            self.full_names[key] = None if key in self.full_names else user_id
        self.curators_loaded = True

    def parse(self, number: int, cells: list[str | None]) -> ParsedRow:
        values: dict[str, list[str]] = {}
        for index, key in self.mapping.items():
            value = cells[index] if index < len(cells) else None
            if value:
                values.setdefault(key, []).append(value)
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {}
        for key, items in values.items():
            if key.startswith("contact_"):
                continue
            value = "\n".join(items) if key == "notes" else items[0]
            if key == "inn":
                value = _digits(value, ((9, 10), (11, 12)))
            elif key == "kpp":
                value = _digits(value, ((8, 9),))
            elif key == "ogrn":
                value = _digits(value, ())
            elif key == "kind":
                kind = _KINDS.get(text.normalize(value).replace(".", ""))
                if kind is None:
                    errors["kind"] = f"Вид «{value}» не распознан: юрлицо, ИП или физлицо."
                    continue
                value = kind
            elif key == "curator":
                curator_id, problem = self._curator(value)
                if problem:
                    errors["curator_id"] = problem
                else:
                    changes["curator_id"] = curator_id
                continue
            limit = _COLUMN_LENGTHS.get(key)
            if limit and len(value) > limit:
                errors[key] = f"Слишком длинное значение: больше {limit} символов."
                continue
            changes[key] = value
        contact = None
        name = (values.get("contact_name") or [None])[0]
        position = (values.get("contact_position") or [None])[0]
        phones = [p for v in values.get("contact_phone", []) for p in _split(v, _PHONE_SEPARATORS)]
        emails = [e for v in values.get("contact_email", []) for e in _split(v, _EMAIL_SEPARATORS)]
        for key, value in (("contact_name", name), ("contact_position", position)):
            if value and len(value) > _CONTACT_LENGTHS[key]:
                errors["contact." + ("full_name" if key == "contact_name" else "position")] = (
                    f"Слишком длинное значение: больше {_CONTACT_LENGTHS[key]} символов."
                )
        if name or phones or emails:
            contact = contacts.ContactData(
                full_name=name or GENERAL_CONTACT, position=position, phones=phones, emails=emails
            )
        return ParsedRow(number=number, changes=changes, contact=contact, errors=errors)

    def _curator(self, value: str) -> tuple[int | None, str | None]:
        assert self.curators_loaded, "load_curators() first"
        if (user_id := self.logins.get(value.strip().casefold())) is not None:
            return user_id, None
        key = text.normalize(value)
        if key in self.full_names:
            user_id = self.full_names[key]
            if user_id is None:
                return None, f"Несколько пользователей с ФИО «{value}»: укажите логин куратора."
            return user_id, None
        return None, f"Куратор «{value}» не найден: укажите логин или ФИО пользователя."
