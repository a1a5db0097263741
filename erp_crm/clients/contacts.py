"""Contact persons of a client and their channels (phones, e-mails): data, validation, add,
update, (de)activate."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.clients import access, cleaning
from erp_crm.clients.models import Client, ContactChannel, ContactPerson
from erp_crm.clients.services import curator_problem
from erp_crm.core import text
from erp_crm.db import column_length
from erp_crm.errors import NotFound, PermissionDenied, ValidationError

CONTACT_LABELS = {
    "full_name": "ФИО",
    "position": "Должность",
    "phones": "Телефоны",
    "emails": "Электронная почта",
    "birthday": "День рождения",
    "notes": "Заметки",
    "curator_id": "Куратор контакта",
}
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)


@dataclass
class ContactData:
    full_name: str | None = None
    position: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    birthday: dt.date | str | None = None
    notes: str | None = None
    curator_id: int | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ContactData:
        """From a form or a JSON body: phones and e-mails as a list, or as text one per line (or
        comma-separated). Anything else is kept as it is for validate_contact to refuse."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("phones", "emails"):
            raw = values.get(key)
            if raw is None:
                raw = []
            if isinstance(raw, str):
                raw = [part for chunk in raw.splitlines() for part in chunk.split(",")]
            if isinstance(raw, list | tuple):
                raw = [v.strip() if isinstance(v, str) else v for v in raw]
                raw = [v for v in raw if v != ""]
            values[key] = raw
        return cls(**values)


def _channels(errors: dict[str, str], key: str, raw: Any) -> list[str]:
    """The phones or e-mails of a contact as a list of text, or an error under `key`."""
    if not isinstance(raw, list | tuple) or not all(isinstance(v, str) for v in raw):
        errors[key] = f"{CONTACT_LABELS[key]}: ожидается список строк."
        return []
    if any("\x00" in v for v in raw):
        errors[key] = cleaning.nul_message(CONTACT_LABELS[key])
        return []
    return list(raw)


# A plain ASCII address (dot-separated atoms, LDH domain labels, a letters-only TLD) that
# email-validator accepts as it is: taken without the library's full parse, which costs a third
# of a file row's validation. Anything else — Unicode, quotes, special-use domains — goes to it.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def _plain_email(raw: str) -> str | None:
    if len(raw) > 254 or not _PLAIN_EMAIL.fullmatch(raw):
        return None
    local, _, domain = raw.rpartition("@")
    domain = domain.lower()
    if len(local) > 64 or any(
        domain == name or domain.endswith("." + name) for name in _SPECIAL_USE
    ):
        return None
    return raw.lower()


def normalize_email(raw: str) -> str | None:
    """The address as stored (validated, lower case; no DNS lookup), None when it is none."""
    plain = _plain_email(raw)
    if plain is not None:
        return plain
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


CHANNEL_RULES: dict[str, tuple[Callable[[str], str | None], str]] = {
    "phones": (text.normalize_phone, "Неверный номер телефона"),
    "emails": (normalize_email, "Неверный адрес электронной почты"),
}


def clean_channels(
    errors: dict[str, str],
    key: str,
    raw: list[str],
    normalize: Callable[[str], str | None] | None = None,
) -> list[str]:
    """A contact's phones ("phones") or e-mails ("emails") normalized, each once, in order; the
    first one that is no phone / address goes into `errors[key]`. `normalize` replaces the
    rule's own function (the importer passes a cached one)."""
    rule, message = CHANNEL_RULES[key]
    normalize = normalize or rule
    cleaned: list[str] = []
    for value in raw:
        normal = normalize(value)
        if normal is None:
            errors[key] = f"{message}: {value}"
            break
        if normal not in cleaned:
            cleaned.append(normal)
    return cleaned


def _birthday(value: Any) -> dt.date | None:
    """A date, or an ISO text of one (ГГГГ-ММ-ДД); not in the future, not before 1900."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise cleaning.BadValue("Дата рождения в формате ГГГГ-ММ-ДД.") from None
    elif isinstance(value, dt.datetime):
        value = value.date()
    elif value is not None and not isinstance(value, dt.date):
        raise cleaning.BadValue("Дата рождения в формате ГГГГ-ММ-ДД.")
    if value is None:
        return None
    if value > dt.date.today():
        raise cleaning.BadValue("Дата рождения не может быть в будущем.")
    if value < EARLIEST_BIRTHDAY:
        raise cleaning.BadValue(
            f"Дата рождения не может быть раньше {EARLIEST_BIRTHDAY.year} года."
        )
    return value


def validate_contact(
    session: Session, data: ContactData, *, current_curator_id: int | None = None
) -> tuple[ContactData, list[str], list[str]]:
    """Return the cleaned data with phones in E.164 and e-mails normalized, or raise.

    `current_curator_id`: the contact's own curator now (an edit keeps them while active)."""
    errors: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    for key in ("full_name", "position", "notes"):
        try:
            texts[key] = cleaning.clean_text(
                getattr(data, key),
                CONTACT_LABELS[key],
                limit=column_length(ContactPerson.__table__.c[key]),
            )
        except cleaning.BadValue as bad:
            errors[key] = bad.message
            texts[key] = None
    name = texts["full_name"]
    if not name and "full_name" not in errors:
        errors["full_name"] = "Укажите ФИО контактного лица."
    phones = clean_channels(errors, "phones", _channels(errors, "phones", data.phones))
    emails = clean_channels(errors, "emails", _channels(errors, "emails", data.emails))
    try:
        birthday = _birthday(data.birthday)
    except cleaning.BadValue as bad:
        errors["birthday"] = bad.message
        birthday = None
    try:
        curator_id = cleaning.clean_user_id(data.curator_id)
    except cleaning.BadValue as bad:
        errors["curator_id"] = bad.message
        curator_id = None
    if curator_id is not None and (
        problem := curator_problem(session, curator_id, current=current_curator_id)
    ):
        errors["curator_id"] = problem
    if errors:
        raise ValidationError(cleaning.fields_message(errors, CONTACT_LABELS), fields=errors)
    cleaned = ContactData(
        full_name=name,
        position=texts["position"],
        phones=phones,
        emails=emails,
        birthday=birthday,
        notes=texts["notes"],
        curator_id=curator_id,
    )
    return cleaned, phones, emails


def _set_channels(contact: ContactPerson, phones: list[str], emails: list[str]) -> dict:
    before = {"phones": contact.phones, "emails": contact.emails}
    contact.channels = [ContactChannel(kind="phone", value=p) for p in phones] + [
        ContactChannel(kind="email", value=e) for e in emails
    ]
    after = {"phones": phones, "emails": emails}
    return {k: [before[k], after[k]] for k in after if before[k] != after[k]}


def add_contact(
    session: Session, client: Client, data: ContactData, *, actor: User
) -> ContactPerson:
    if not access.can_edit_client(actor, client):
        raise PermissionDenied("Добавлять контакты может куратор клиента, руководитель ОП или ИАО.")
    data, phones, emails = validate_contact(session, data)
    contact = ContactPerson(
        client=client,
        full_name=data.full_name,
        name_norm=text.normalize(data.full_name)[:300],
        position=data.position,
        birthday=data.birthday,
        notes=data.notes,
        curator_id=data.curator_id,
    )
    _set_channels(contact, phones, emails)  # before the flush: the create snapshot lists them
    session.add(contact)
    session.flush()
    return contact


def update_contact(
    session: Session, contact: ContactPerson, data: ContactData, *, actor: User
) -> ContactPerson:
    if not access.can_edit_contact(actor, contact):
        raise PermissionDenied()
    data, phones, emails = validate_contact(session, data, current_curator_id=contact.curator_id)
    contact.full_name = data.full_name or contact.full_name
    contact.name_norm = text.normalize(contact.full_name)[:300]
    contact.position = data.position
    contact.birthday = data.birthday  # type: ignore[assignment]
    contact.notes = data.notes
    contact.curator_id = data.curator_id
    channel_changes = _set_channels(contact, phones, emails)
    session.flush()
    if channel_changes:
        audit.record(session, contact, "update", channel_changes)
    return contact


def set_contact_active(
    session: Session, contact: ContactPerson, active: bool, *, actor: User
) -> None:
    """Contacts are archived, not deleted: activities and documents may name them."""
    if not access.can_edit_contact(actor, contact):
        raise PermissionDenied()
    contact.is_active = active
    session.flush()


def get_contact(session: Session, contact_id: int) -> ContactPerson:
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("Контактное лицо не найдено.")
    return contact
