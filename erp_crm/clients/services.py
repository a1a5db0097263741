"""The client itself: its data and validation, create/update, curator rules, the relationship
type, handing clients over between curators. Contacts: contacts.py; competitors' exhibitions:
competitors.py; the card's history: timeline.py."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import ROLE_LABELS, ROLE_PERMISSIONS, Perm, has_permission
from erp_crm.clients import access, cleaning
from erp_crm.clients.models import Client, ClientKind, ContactPerson, Readiness, RelationshipType
from erp_crm.core import requisites as rq
from erp_crm.core import text
from erp_crm.db import MAX_ID, column_length
from erp_crm.errors import NotFound, PermissionDenied, ValidationError

_KIND_VALUES = frozenset(k.value for k in ClientKind)

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
READINESS_MESSAGE = "Готовность — число от 0 до 4."


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
            values[key] = cleaning.clean_text(values[key], CLIENT_LABELS[key])
        except cleaning.BadValue as bad:
            errors[key] = bad.message
            values[key] = None
    for key in ("inn", "kpp", "ogrn"):
        values[key] = rq.digits(values[key]) or None
    if values["kpp"]:
        values["kpp"] = values["kpp"].upper()
    try:
        values["mailing_consent"] = cleaning.clean_bool(values["mailing_consent"])
    except cleaning.BadValue as bad:
        errors["mailing_consent"] = bad.message
        values["mailing_consent"] = False
    kind = values["kind"] or ClientKind.LEGAL.value
    if kind not in _KIND_VALUES and "kind" not in errors:
        errors["kind"] = "Выберите вид: юрлицо, ИП или физлицо."
    values["kind"] = kind
    try:
        values["readiness"] = cleaning.clean_integer(values["readiness"], READINESS_MESSAGE) or 0
        Readiness(values["readiness"])
    except (cleaning.BadValue, ValueError):
        errors["readiness"] = READINESS_MESSAGE
        values["readiness"] = 0
    try:
        values["curator_id"] = cleaning.clean_user_id(values["curator_id"])
    except cleaning.BadValue as bad:
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
            errors[key] = cleaning.too_long(limit)  # says more than "not a site" of a pasted page
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
        raise ValidationError(cleaning.fields_message(errors, CLIENT_LABELS), fields=errors)
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


@dataclass
class ReassignResult:
    clients: int
    contacts: int
    per_user: dict[int, int]
    # what the later capabilities moved along, in Russian: {"открытых сделок": 5}
    moved_along: dict[str, int] = field(default_factory=dict)


def reassign_clients(
    session: Session,
    from_user: User,
    to_users: list[User],
    *,
    actor: User,
    with_receivables: bool = True,
) -> ReassignResult:
    """Hand every client (and contact) curated by `from_user` over to `to_users`, evenly.

    The areas above move their records along (open deals, planned contacts; with
    `with_receivables`, the won deals whose invoices are still unpaid, so somebody collects).

    One business action: every moved client gets its own audit row (curator old → new) and the
    departing manager's record gets a summary row.
    """
    if not has_permission(actor, Perm.CLIENTS_REASSIGN):
        raise PermissionDenied()
    targets = [u for u in to_users if u.id != from_user.id]
    if not targets:
        raise ValidationError(
            fields={"to_users": "Выберите, кому передать клиентов: не самого уходящего сотрудника."}
        )
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
        signals.clients_reassigned,
        from_user,
        session=session,
        to_users=targets,
        actor=actor,
        with_receivables=with_receivables,
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
