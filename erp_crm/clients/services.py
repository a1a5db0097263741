"""The client base's business rules: validation, create/update, contacts, curators, timeline."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import ROLE_LABELS, ROLE_PERMISSIONS, Perm, has_permission
from erp_crm.clients import access
from erp_crm.clients.models import (
    Client,
    ClientKind,
    CompetitorExhibition,
    CompetitorParticipation,
    ContactChannel,
    ContactPerson,
    Readiness,
    RelationshipType,
)
from erp_crm.core import requisites as rq
from erp_crm.core import text
from erp_crm.db import MAX_ID, column_length
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError

_TRUE = {"1", "true", "yes", "on", "y", "да"}
_FALSE = {"", "0", "false", "no", "off", "n", "нет", "-"}
_KIND_VALUES = frozenset(k.value for k in ClientKind)
_MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases

# Russian names of the fields, for messages that must say which field is wrong.
CLIENT_LABELS = {
    "name": "Наименование",
    "kind": "Вид",
    "full_name": "Полное наименование",
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
    "readiness": "Готовность к покупке",
    "curator_id": "Куратор",
    "notes": "Заметки",
    "mailing_consent": "Согласие на рассылку",
    "external_id": "Внешний код",
}
CONTACT_LABELS = {
    "full_name": "ФИО",
    "position": "Должность",
    "phones": "Телефоны",
    "emails": "Электронная почта",
    "birthday": "День рождения",
    "notes": "Заметки",
    "curator_id": "Куратор контакта",
}
EXHIBITION_LABELS = {"name": "Название выставки", "organizer": "Организатор", "city": "Город"}
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)
READINESS_MESSAGE = "Готовность — число от 0 до 4."


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


def _text(value: Any, label: str | None = None, *, limit: int | None = None) -> str | None:
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


def _bool(value: Any) -> bool:
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


def _integer(value: Any, message: str) -> int | None:
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


def _user_id(value: Any) -> int | None:
    """A user's id (a curator), None for nothing; never a boolean, never past 32 bits."""
    user_id = _integer(value, "Неверный куратор.")
    if user_id is not None and not 1 <= user_id <= _MAX_ID:
        raise BadValue("Неверный куратор.")
    return user_id


def can_curate(user: User | None) -> bool:
    """An active user whose role works clients: the rule of `curators()`, for one user."""
    return has_permission(user, Perm.CLIENTS_EDIT_OWN) or has_permission(
        user, Perm.CLIENTS_EDIT_ALL
    )


def _curator_roles() -> str:
    labels = [
        ROLE_LABELS[role][:1].lower() + ROLE_LABELS[role][1:]
        for role, granted in ROLE_PERMISSIONS.items()
        if granted & {Perm.CLIENTS_EDIT_OWN, Perm.CLIENTS_EDIT_ALL}
    ]
    return ", ".join(labels[:-1]) + " или " + labels[-1] if len(labels) > 1 else "".join(labels)


CURATOR_ROLE_MESSAGE = (
    f"Куратором может быть только активный менеджер, который ведёт клиентов: {_curator_roles()}."
)
CURATOR_MISSING_MESSAGE = "Куратор не найден или отключён."


def curator_problem(session: Session, user_id: int, *, current: int | None = None) -> str | None:
    """Why `user_id` cannot curate, or None. `current`: the record's curator now, kept as it is
    while active even if their role has changed since (editing other fields stays possible)."""
    curator = session.get(User, user_id)
    if curator is None or not curator.is_active:
        return CURATOR_MISSING_MESSAGE
    if user_id != current and not can_curate(curator):
        return CURATOR_ROLE_MESSAGE
    return None


def fields_message(errors: dict[str, str], labels: dict[str, str]) -> str:
    """The summary of a ValidationError: which fields to check, by their Russian names."""
    names = ", ".join(labels.get(key, key) for key in errors)
    return f"Проверьте поля: {names}."


@dataclass
class ClientData:
    """A client's editable fields, as the form, the API and the importer hand them in."""

    name: str | None = None
    kind: str = ClientKind.LEGAL.value
    full_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    legal_address: str | None = None
    postal_address: str | None = None
    region: str | None = None
    city: str | None = None
    industry: str | None = None
    website: str | None = None
    source: str | None = None
    readiness: int = 0
    curator_id: int | None = None
    notes: str | None = None
    mailing_consent: bool = False
    external_id: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ClientData:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_model(cls, client: Client) -> ClientData:
        return cls(**{f.name: getattr(client, f.name) for f in fields(cls)})

    def merged_with(self, changes: dict[str, Any]) -> ClientData:
        """This data with `changes` applied (a PATCH): unknown keys are ignored."""
        return ClientData.from_mapping({**self.__dict__, **changes})


_CLIENT_TEXT = (
    "name",
    "full_name",
    "legal_address",
    "postal_address",
    "region",
    "city",
    "industry",
    "website",
    "source",
    "notes",
    "external_id",
)


def _clean_client(data: ClientData) -> tuple[ClientData, dict[str, str]]:
    errors: dict[str, str] = {}
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    for key in (*_CLIENT_TEXT, "inn", "kpp", "ogrn", "kind"):
        try:
            values[key] = _text(values[key], CLIENT_LABELS[key])
        except BadValue as bad:
            errors[key] = bad.message
            values[key] = None
    for key in ("inn", "kpp", "ogrn"):
        values[key] = rq.digits(values[key]) or None
    if values["kpp"]:
        values["kpp"] = values["kpp"].upper()
    try:
        values["mailing_consent"] = _bool(values["mailing_consent"])
    except BadValue as bad:
        errors["mailing_consent"] = bad.message
        values["mailing_consent"] = False
    kind = values["kind"] or ClientKind.LEGAL.value
    if kind not in _KIND_VALUES and "kind" not in errors:
        errors["kind"] = "Выберите вид: юрлицо, ИП или физлицо."
    values["kind"] = kind
    try:
        values["readiness"] = _integer(values["readiness"], READINESS_MESSAGE) or 0
        Readiness(values["readiness"])
    except (BadValue, ValueError):
        errors["readiness"] = READINESS_MESSAGE
        values["readiness"] = 0
    try:
        values["curator_id"] = _user_id(values["curator_id"])
    except BadValue as bad:
        errors["curator_id"] = bad.message
        values["curator_id"] = None
    website = values["website"]
    if website and "://" not in website:
        values["website"] = "https://" + website
    if values["website"] and (" " in values["website"] or "." not in values["website"]):
        errors["website"] = "Укажите адрес сайта, например expo-volga.ru."
    # After cleaning (the site's https:// counts). ИНН, КПП, ОГРН: their checks fix the length.
    for key in _CLIENT_TEXT:
        limit = column_length(Client.__table__.c[key])
        if values[key] and limit and len(values[key]) > limit:
            errors[key] = too_long(limit)  # says more than "not a site" of a pasted page
            values[key] = None
    return ClientData(**values), errors


def validate_client(session: Session, data: ClientData, client: Client | None = None) -> ClientData:
    """Clean and check a client's fields; raise ValidationError naming every wrong one."""
    current = client.curator_id if client is not None else None

    def curator_active(user_id: int) -> bool | str:
        return curator_problem(session, user_id, current=current) or True

    def external_id_owner(external_id: str) -> int | None:
        return session.scalar(select(Client.id).where(Client.external_id == external_id))

    return check_client(
        data,
        client.id if client is not None else None,
        curator_active=curator_active,
        external_id_owner=external_id_owner,
    )


def check_client(
    data: ClientData,
    client_id: int | None,
    *,
    curator_active: Callable[[int], bool | str],
    external_id_owner: Callable[[str], int | None],
) -> ClientData:
    """validate_client with its two lookups given (a batch import preloads them).

    `curator_active(user_id)`: True when the user may curate; False when not found or inactive,
    or the message saying why not. `external_id_owner(code)`: the id of the client holding that
    external code, or None. `client_id`: the client being edited.
    """
    data, errors = _clean_client(data)
    if not data.name and "name" not in errors:
        errors["name"] = "Укажите наименование."
    kind = data.kind if data.kind in _KIND_VALUES else None
    if data.inn and (problem := rq.check_inn(data.inn, kind=kind)):
        errors["inn"] = problem
    if data.kpp:
        if kind != ClientKind.LEGAL.value:
            errors["kpp"] = "КПП бывает только у юридического лица."
        elif problem := rq.check_kpp(data.kpp):
            errors["kpp"] = problem
    if data.ogrn:
        if kind == ClientKind.PERSON.value:
            errors["ogrn"] = "У физического лица нет ОГРН."
        elif problem := rq.check_ogrn(data.ogrn, kind=kind):
            errors["ogrn"] = problem
    if data.curator_id is not None:
        verdict = curator_active(data.curator_id)
        if verdict is not True:
            errors["curator_id"] = verdict or CURATOR_MISSING_MESSAGE
    if data.external_id:
        clash = external_id_owner(data.external_id)
        if clash is not None and (client_id is None or clash != client_id):
            errors["external_id"] = "Внешний код уже принадлежит другому контрагенту."
    if errors:
        raise ValidationError(fields_message(errors, CLIENT_LABELS), fields=errors)
    return data


def name_norm(name: str | None, full_name: str | None) -> str:
    """What a client is searched by (`Client.name_norm`): both names, normalized."""
    return text.normalize(" ".join(filter(None, [name, full_name])))[:500]


def city_norm(city: str | None) -> str | None:
    """The city as duplicates and the city filter compare it (`Client.city_norm`)."""
    return text.normalize(city)[:120] or None


def _apply(client: Client, data: ClientData) -> None:
    for f in fields(data):
        setattr(client, f.name, getattr(data, f.name))
    client.name_norm = name_norm(data.name, data.full_name)
    client.city_norm = city_norm(data.city)


def create_client(session: Session, data: ClientData, *, actor: User) -> Client:
    """Create a client. A manager becomes the curator of what they create (unless head/analyst)."""
    if not has_permission(actor, Perm.CLIENTS_CREATE):
        raise PermissionDenied()
    data = validate_client(session, data)
    if not access.can_change_curator(actor):
        data.curator_id = actor.id
    client = Client(created_by_id=actor.id)
    _apply(client, data)
    refresh_relationship(session, client)
    session.add(client)
    session.flush()
    return client


def update_client(session: Session, client: Client, data: ClientData, *, actor: User) -> Client:
    if not access.can_edit_client(actor, client):
        raise PermissionDenied("Изменять контрагента может его куратор, руководитель ОП или ИАО.")
    data = validate_client(session, data, client)
    if data.curator_id != client.curator_id and not access.can_change_curator(actor):
        raise ValidationError(
            fields={"curator_id": "Сменить куратора может руководитель ОП или ИАО."}
        )
    _apply(client, data)
    refresh_relationship(session, client)
    session.flush()
    return client


def get_client(session: Session, client_id: int) -> Client:
    # an id past the database's integers names no client (and the database would refuse it)
    client = session.get(Client, client_id) if abs(client_id) <= MAX_ID else None
    if client is None:
        raise NotFound("Контрагент не найден.")
    return client


# --- relationship type --------------------------------------------------------------------------


def derive_relationship(sales: int, interest: bool) -> RelationshipType:
    if sales > 1:
        return RelationshipType.PERMANENT
    if sales == 1:
        return RelationshipType.CURRENT
    return RelationshipType.POTENTIAL if interest else RelationshipType.COLD


def refresh_relationship(session: Session, client: Client) -> None:
    """cold → potential → current → permanent, from the client's history.

    Interest shown: readiness of "considering" or more, or an open deal.
    """
    sales, business = sales_facts(session, [client.id]).get(client.id, (0, False))
    interest = client.readiness >= Readiness.CONSIDERING or business
    client.relationship_type = derive_relationship(sales, interest).value


def sales_facts(session: Session, client_ids: list[int] | set[int]) -> dict[int, tuple[int, bool]]:
    """{client id: (won sales, has open business)} from the areas above (signals.client_sales);
    a client nobody knows of is absent (no sales, no open business)."""
    facts: dict[int, tuple[int, bool]] = {}
    ids = {client_id for client_id in client_ids if client_id is not None}
    if not ids:
        return facts
    for answer in signals.answers(signals.client_sales, session=session, client_ids=ids):
        for client_id, (sales, business) in answer.items():
            known_sales, known_business = facts.get(client_id, (0, False))
            facts[client_id] = (known_sales + sales, known_business or business)
    return facts


# --- contacts -----------------------------------------------------------------------------------


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
        errors[key] = nul_message(CONTACT_LABELS[key])
        return []
    return list(raw)


def normalize_email(raw: str) -> str | None:
    """The address as stored (validated, lower case; no DNS lookup), None when it is none."""
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
            raise BadValue("Дата рождения в формате ГГГГ-ММ-ДД.") from None
    elif isinstance(value, dt.datetime):
        value = value.date()
    elif value is not None and not isinstance(value, dt.date):
        raise BadValue("Дата рождения в формате ГГГГ-ММ-ДД.")
    if value is None:
        return None
    if value > dt.date.today():
        raise BadValue("Дата рождения не может быть в будущем.")
    if value < EARLIEST_BIRTHDAY:
        raise BadValue(f"Дата рождения не может быть раньше {EARLIEST_BIRTHDAY.year} года.")
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
            texts[key] = _text(
                getattr(data, key),
                CONTACT_LABELS[key],
                limit=column_length(ContactPerson.__table__.c[key]),
            )
        except BadValue as bad:
            errors[key] = bad.message
            texts[key] = None
    name = texts["full_name"]
    if not name and "full_name" not in errors:
        errors["full_name"] = "Укажите ФИО контактного лица."
    phones = clean_channels(errors, "phones", _channels(errors, "phones", data.phones))
    emails = clean_channels(errors, "emails", _channels(errors, "emails", data.emails))
    try:
        birthday = _birthday(data.birthday)
    except BadValue as bad:
        errors["birthday"] = bad.message
        birthday = None
    try:
        curator_id = _user_id(data.curator_id)
    except BadValue as bad:
        errors["curator_id"] = bad.message
        curator_id = None
    if curator_id is not None and (
        problem := curator_problem(session, curator_id, current=current_curator_id)
    ):
        errors["curator_id"] = problem
    if errors:
        raise ValidationError(fields_message(errors, CONTACT_LABELS), fields=errors)
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


# --- competitors' exhibitions -------------------------------------------------------------------


def add_competitor_exhibition(
    session: Session,
    name: str,
    *,
    actor: User,
    organizer: str | None = None,
    city: str | None = None,
) -> CompetitorExhibition:
    if not has_permission(actor, Perm.GROUPS_MANAGE_COMMON):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    values: dict[str, str | None] = {}
    for key, value in (("name", name), ("organizer", organizer), ("city", city)):
        try:
            values[key] = _text(
                value,
                EXHIBITION_LABELS[key],
                limit=column_length(CompetitorExhibition.__table__.c[key]),
            )
        except BadValue as bad:
            errors[key] = bad.message
            values[key] = None
    if not values["name"] and "name" not in errors:
        errors["name"] = "Укажите название выставки."
    if errors:
        raise ValidationError(fields_message(errors, EXHIBITION_LABELS), fields=errors)
    name = values["name"] or ""
    if session.scalar(select(CompetitorExhibition.id).where(CompetitorExhibition.name == name)):
        raise ValidationError(fields={"name": "Такая выставка уже есть в справочнике."})
    exhibition = CompetitorExhibition(name=name, organizer=values["organizer"], city=values["city"])
    session.add(exhibition)
    session.flush()
    return exhibition


def add_competitor_participation(
    session: Session, client: Client, exhibition_id: int, year: int, *, actor: User
) -> CompetitorParticipation:
    if not access.can_edit_client(actor, client):
        raise PermissionDenied()
    try:
        exhibition_id = _integer(exhibition_id, "Выберите выставку из справочника.") or 0
    except BadValue:
        exhibition_id = 0
    exhibition = (
        session.get(CompetitorExhibition, exhibition_id) if 1 <= exhibition_id <= _MAX_ID else None
    )
    if exhibition is None:
        raise ValidationError(fields={"exhibition_id": "Выберите выставку из справочника."})
    try:
        year = _integer(year, "Укажите год участия.") or 0
    except BadValue as bad:
        raise ValidationError(fields={"year": bad.message}) from None
    if not 1990 <= year <= dt.date.today().year + 2:
        raise ValidationError(fields={"year": "Укажите год участия."})
    exists = session.scalar(
        select(CompetitorParticipation.id).where(
            CompetitorParticipation.client_id == client.id,
            CompetitorParticipation.exhibition_id == exhibition_id,
            CompetitorParticipation.year == year,
        )
    )
    if exists:
        raise Conflict("Это участие уже отмечено.")
    participation = CompetitorParticipation(client=client, exhibition=exhibition, year=year)
    session.add(participation)
    session.flush()
    audit.record(session, client, "competitor_added", {"exhibition": exhibition.name, "year": year})
    return participation


def remove_competitor_participation(
    session: Session, participation: CompetitorParticipation, *, actor: User
) -> None:
    client = participation.client
    if not access.can_edit_client(actor, client):
        raise PermissionDenied()
    details = {"exhibition": participation.exhibition.name, "year": participation.year}
    session.delete(participation)
    session.flush()
    audit.record(session, client, "competitor_removed", details)


# --- curators -----------------------------------------------------------------------------------


@dataclass
class ReassignResult:
    clients: int
    contacts: int
    per_user: dict[int, int]
    # what the later capabilities moved along, in Russian: {"открытых сделок": 5}
    moved_along: dict[str, int] = field(default_factory=dict)


def reassign_clients(
    session: Session, from_user: User, to_users: list[User], *, actor: User
) -> ReassignResult:
    """Hand every client (and contact) curated by `from_user` over to `to_users`, evenly.

    One business action: every moved client gets its own audit row (curator old → new) and the
    departing manager's record gets a summary row.
    """
    if not has_permission(actor, Perm.CLIENTS_REASSIGN):
        raise PermissionDenied()
    targets = [u for u in to_users if u.id != from_user.id]
    if not targets:
        raise ValidationError(fields={"to_users": "Выберите, кому передать клиентов."})
    if any(not u.is_active for u in targets):
        raise ValidationError(
            fields={"to_users": "Нельзя передать клиентов отключённому пользователю."}
        )
    clients = session.scalars(
        select(Client)
        .where(Client.curator_id == from_user.id, Client.merged_into_id.is_(None))
        .order_by(Client.name_norm)
    ).all()
    per_user = {u.id: 0 for u in targets}
    for client, target in zip(clients, itertools.cycle(targets), strict=False):
        client.curator_id = target.id
        per_user[target.id] += 1
    session.flush()
    # A contact the leaver curated personally now follows its client's curator: the new one for
    # the clients just moved, the client's own for contacts at other managers' clients.
    contacts = session.scalars(
        select(ContactPerson).where(ContactPerson.curator_id == from_user.id)
    ).all()
    for contact in contacts:  # through the ORM: each change gets its audit row
        contact.curator_id = None
    session.flush()
    moved_contacts = len(contacts)
    moved_along: dict[str, int] = {}
    for answer in signals.answers(
        signals.clients_reassigned, from_user, session=session, to_users=targets, actor=actor
    ):
        for label, count in answer.items():
            moved_along[label] = moved_along.get(label, 0) + count
    audit.record(
        session,
        from_user,
        "clients_reassigned",
        {
            "clients": len(clients),
            "contacts": moved_contacts,
            "to": {str(uid): n for uid, n in per_user.items()},
            **moved_along,
        },
    )
    return ReassignResult(
        clients=len(clients),
        contacts=moved_contacts or 0,
        per_user=per_user,
        moved_along=moved_along,
    )


def curators(session: Session) -> list[User]:
    """Active users who can curate clients (the choices of a curator field)."""
    roles = [
        role.value
        for role, granted in ROLE_PERMISSIONS.items()
        if granted & {Perm.CLIENTS_EDIT_OWN, Perm.CLIENTS_EDIT_ALL}
    ]
    return list(
        session.scalars(
            select(User)
            .where(User.is_active.is_(True), User.role.in_(roles))
            .order_by(User.full_name)
        )
    )


# --- timeline -----------------------------------------------------------------------------------


@dataclass
class TimelineEvent:
    at: dt.datetime
    kind: str
    title: str
    details: dict[str, Any]
    actor_id: int | None


def timeline(session: Session, client: Client, *, limit: int = 100) -> list[TimelineEvent]:
    """The card's events, newest first. An audit event's `details` say which row it is
    (entity_type, entity_id, action) and hold its `changes`, for audit/presentation.py; the
    rows of a duplicate merged into this client say so in their title."""
    from erp_crm.audit.models import AuditEntry
    from erp_crm.audit.presentation import action_label, prefetch

    contact_ids = [c.id for c in client.contacts]
    merged = dict(
        session.execute(
            select(Client.id, Client.name).where(Client.merged_into_id == client.id)
        ).all()
    )
    conditions = [
        (AuditEntry.entity_type == "clients") & (AuditEntry.entity_id.in_([client.id, *merged]))
    ]
    if contact_ids:
        conditions.append(
            (AuditEntry.entity_type == "contact_persons") & (AuditEntry.entity_id.in_(contact_ids))
        )
    from sqlalchemy import or_

    entries = session.scalars(
        select(AuditEntry).where(or_(*conditions)).order_by(AuditEntry.id.desc()).limit(limit)
    ).all()
    # The clients, users … the rows name, looked up at once for the page (in a request).
    prefetch(((e.entity_type, e.action, e.changes) for e in entries), session)
    titles = {
        ("clients", "create"): "Контрагент создан",
        ("clients", "update"): "Изменены данные контрагента",
        ("clients", "merged"): "Объединён с дублем",
        ("clients", "merged_into"): "Запись объединена в другую",
        ("clients", "unmerged"): "Объединение отменено",
        ("clients", "competitor_added"): "Отмечено участие в выставке конкурента",
        ("clients", "competitor_removed"): "Снято участие в выставке конкурента",
        ("contact_persons", "create"): "Добавлено контактное лицо",
        ("contact_persons", "update"): "Изменено контактное лицо",
    }

    def title(e: AuditEntry) -> str:
        text = titles.get((e.entity_type, e.action)) or action_label(e.action).capitalize()
        if e.entity_type == "contact_persons":
            return f"{text}: {e.label}"
        if e.entity_id != client.id:  # a duplicate merged into this client
            return f"{text} (запись № {e.entity_id} «{merged.get(e.entity_id) or e.label}»)"
        return text

    events = [
        TimelineEvent(
            at=e.at,
            kind=f"audit.{e.action}",
            title=title(e),
            details={
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
                "action": e.action,
                "changes": e.changes if isinstance(e.changes, dict) else {},
            },
            actor_id=e.actor_id,
        )
        for e in entries
    ]
    for answer in signals.answers(signals.client_timeline, client, session=session):
        events.extend(answer)
    events.sort(key=lambda ev: ev.at, reverse=True)
    return events[:limit]
