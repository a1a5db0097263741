"""Postal addresses with their parts, returned mail and the analysts' clean-up list."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients import access as client_access
from erp_crm.clients.cleaning import BadValue, clean_text
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import column_length, utcnow
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.mailing.models import PostalAddress

POSTCODE = re.compile(r"\d{6}")
LABELS = {
    "recipient": "Получатель",
    "postcode": "Индекс",
    "region": "Регион",
    "city": "Город / населённый пункт",
    "street": "Улица",
    "building": "Дом",
    "office": "Офис / квартира",
}
REQUIRED = ("postcode", "city", "street", "building")
RETURN_REASONS = {
    "no_addressee": "Адресат не значится",
    "moved": "Адресат выбыл",
    "wrong_address": "Неверный или неполный адрес",
    "no_such_address": "Нет такого адреса",
    "refused": "Отказ адресата от получения",
    "expired": "Истёк срок хранения",
    "other": "Другое",
}


@dataclass
class AddressData:
    recipient: str | None = None
    postcode: str | None = None
    region: str | None = None
    city: str | None = None
    street: str | None = None
    building: str | None = None
    office: str | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> AddressData:
        return cls(**{f.name: data.get(f.name) for f in fields(cls)})


def clean(data: AddressData) -> dict[str, str | None]:
    """The parts checked: a six-digit postcode, the required parts present, lengths of the
    columns. ValidationError naming every wrong field, in Russian."""
    errors: dict[str, str] = {}
    values: dict[str, str | None] = {}
    for name, label in LABELS.items():
        try:
            # the postcode is checked after its spaces go («443 110»)
            limit = 20 if name == "postcode" else column_length(getattr(PostalAddress, name))
            value = clean_text(getattr(data, name), label, limit=limit)
        except BadValue as err:
            errors[name] = str(err)
            continue
        values[name] = value
    postcode = values.get("postcode")
    if postcode is not None:
        postcode = re.sub(r"\s", "", postcode)
        values["postcode"] = postcode
        if "postcode" not in errors and not POSTCODE.fullmatch(postcode):
            errors["postcode"] = "Индекс — ровно шесть цифр (например, 443110)."
    for name in REQUIRED:
        if name not in errors and not values.get(name):
            errors[name] = f"Укажите: {LABELS[name].lower()}."
    if errors:
        listed = "; ".join(f"{LABELS[k]}: {v}" for k, v in errors.items())
        raise ValidationError(f"Адрес не сохранён. {listed}", fields=errors)
    return values


def address_of(
    session: Session, client_id: int, contact_id: int | None = None
) -> PostalAddress | None:
    query = select(PostalAddress).where(PostalAddress.client_id == client_id)
    query = query.where(
        PostalAddress.contact_id.is_(None)
        if contact_id is None
        else PostalAddress.contact_id == contact_id
    )
    # After a merge the survivor may hold its duplicate's address too: the good, newest one.
    return session.scalar(
        query.order_by(PostalAddress.returned, PostalAddress.updated_at.desc(), PostalAddress.id)
    )


def _ensure_can_edit(actor: User, client: Client, contact: ContactPerson | None) -> None:
    allowed = (
        client_access.can_edit_contact(actor, contact)
        if contact is not None
        else client_access.can_edit_client(actor, client)
    )
    if not allowed:
        raise PermissionDenied("Изменить адрес может куратор клиента или специалист ИАО.")


def set_address(
    session: Session,
    client: Client,
    data: AddressData,
    *,
    actor: User,
    contact: ContactPerson | None = None,
) -> PostalAddress:
    """Save the client's (or a contact's own) postal address. A saved address is a fixed one:
    a returned-mail flag on it is cleared. The client's one-line postal address follows."""
    _ensure_can_edit(actor, client, contact)
    if contact is not None and contact.client_id != client.id:
        raise NotFound("Контактное лицо не найдено.")
    values = clean(data)
    row = address_of(session, client.id, contact.id if contact else None)
    if row is None:
        row = PostalAddress(client_id=client.id, contact_id=contact.id if contact else None)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.returned = False
    row.returned_reason = None
    row.returned_at = None
    row.returned_by_id = None
    if contact is None:
        client.postal_address = row.one_line()
    session.flush()
    return row


def delete_address(
    session: Session, client: Client, *, actor: User, contact: ContactPerson | None = None
) -> None:
    _ensure_can_edit(actor, client, contact)
    row = address_of(session, client.id, contact.id if contact else None)
    if row is None:
        raise NotFound("Адрес не задан.")
    session.delete(row)
    session.flush()


def mark_returned(
    session: Session, address: PostalAddress, reason: str, *, actor: User, note: str = ""
) -> PostalAddress:
    """An analyst marks a letter returned: the address is flagged for update (left out of
    mailings, listed for clean-up) until it is fixed."""
    from erp_crm.auth.permissions import Perm, has_permission

    if not has_permission(actor, Perm.MAILING_WORK):
        raise PermissionDenied("Возврат письма отмечает специалист ИАО.")
    if reason not in RETURN_REASONS:
        raise ValidationError("Выберите причину возврата.", fields={"reason": "не выбрана"})
    try:
        note = clean_text(note, "Комментарий", limit=200) or ""
    except BadValue as err:
        raise ValidationError(str(err), fields={"note": str(err)}) from err
    text = RETURN_REASONS[reason] + (f": {note}" if note else "")
    address.returned = True
    address.returned_reason = text
    address.returned_at = utcnow()
    address.returned_by_id = actor.id
    session.flush()
    return address


def cleanup_list(session: Session, *, limit: int = 500) -> list[PostalAddress]:
    """Addresses flagged after returned mail, oldest first (the analysts' work list)."""
    return list(
        session.scalars(
            select(PostalAddress)
            .where(PostalAddress.returned.is_(True))
            .order_by(PostalAddress.returned_at, PostalAddress.id)
            .limit(limit)
        )
    )


def returned_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(PostalAddress).where(PostalAddress.returned.is_(True))
        )
        or 0
    )


def addresses_of_client(session: Session, client: Client) -> dict[int | None, PostalAddress]:
    """{None: the client's address, contact id: a contact's own} for the card."""
    rows = session.scalars(select(PostalAddress).where(PostalAddress.client_id == client.id))
    return {row.contact_id: row for row in rows}


def get(session: Session, address_id: int) -> PostalAddress:
    row = session.get(PostalAddress, address_id)
    if row is None:
        raise NotFound("Адрес не найден.")
    return row
