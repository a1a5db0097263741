"""Competitors' exhibitions: the directory, and which client took part in which of them when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, cleaning
from erp_crm.clients.models import Client, CompetitorExhibition, CompetitorParticipation
from erp_crm.db import MAX_ID, column_length
from erp_crm.errors import Conflict, PermissionDenied, ValidationError

EXHIBITION_LABELS = {"name": "Название выставки", "organizer": "Организатор", "city": "Город"}


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
            values[key] = cleaning.clean_text(
                value,
                EXHIBITION_LABELS[key],
                limit=column_length(CompetitorExhibition.__table__.c[key]),
            )
        except cleaning.BadValue as bad:
            errors[key] = bad.message
            values[key] = None
    if not values["name"] and "name" not in errors:
        errors["name"] = "Укажите название выставки."
    if errors:
        raise ValidationError(cleaning.fields_message(errors, EXHIBITION_LABELS), fields=errors)
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
        exhibition_id = (
            cleaning.clean_integer(exhibition_id, "Выберите выставку из справочника.") or 0
        )
    except cleaning.BadValue:
        exhibition_id = 0
    exhibition = (
        session.get(CompetitorExhibition, exhibition_id) if 1 <= exhibition_id <= MAX_ID else None
    )
    if exhibition is None:
        raise ValidationError(fields={"exhibition_id": "Выберите выставку из справочника."})
    try:
        year = cleaning.clean_integer(year, "Укажите год участия.") or 0
    except cleaning.BadValue as bad:
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
