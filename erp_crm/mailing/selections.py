"""Selections («выборки») from the client list's filters, and campaigns whose list is frozen at
the first print, export or send — so one knows later exactly who got what."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.cleaning import BadValue, clean_text
from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    ClientGroup,
    CompetitorExhibition,
    ContactPerson,
)
from erp_crm.clients.search import FILTER_LABELS, PROJECT_OUTCOMES, ClientFilter, client_query
from erp_crm.core import text
from erp_crm.db import column_length, utcnow
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.mailing.models import (
    Campaign,
    CampaignRecipient,
    PostalAddress,
    Selection,
    Unsubscribe,
)
from erp_crm.projects.models import Project

TARGETS = {"clients": "Клиенты (организации)", "contacts": "Контактные лица"}
CONTACT_MODES = {
    "all": "Все контактные лица",
    "main": "Основное контактное лицо (первое в карточке)",
    "position": "По должности",
}
CHANNELS = {"post": "Почта (наклейки, конверты)", "email": "Электронная почта"}
EXCLUSIONS = {
    "no_consent": "Нет согласия на рассылку",
    "unsubscribed": "Отписался от рассылки",
    "no_address": "Нет адреса",
    "bad_address": "Адрес помечен как неверный (письмо вернулось)",
    "duplicate": "Повтор адреса",
}
CHUNK = 500


def ensure_can_work(actor: User) -> None:
    if not has_permission(actor, Perm.MAILING_WORK):
        raise PermissionDenied("Рассылки готовят специалисты ИАО и руководитель отдела продаж.")


@dataclass
class Entry:
    """One addressee of a selection, with the address it would get (or why it is left out)."""

    client_id: int
    client_name: str
    contact_id: int | None
    person: str | None
    recipient: str
    address: PostalAddress | None
    email: str | None
    excluded: str | None = None

    @property
    def reason(self) -> str | None:
        return EXCLUSIONS.get(self.excluded) if self.excluded else None


def _clean(value: Any, label: str, column: Any) -> str | None:
    try:
        return clean_text(value, label, limit=column_length(column))
    except BadValue as err:
        raise ValidationError(f"{label}: {err}", fields={label: str(err)}) from err


def save_selection(
    session: Session,
    *,
    name: Any,
    filter_args: dict[str, Any],
    target: str = "clients",
    contact_mode: str = "all",
    position: Any = None,
    actor: User,
    selection: Selection | None = None,
) -> Selection:
    """Save (or change) a selection with the list filter it was built from."""
    ensure_can_work(actor)
    name = _clean(name, "Название", Selection.name)
    if not name:
        raise ValidationError("Назовите выборку.", fields={"name": "обязательно"})
    if target not in TARGETS:
        raise ValidationError("Выберите, кого включать.", fields={"target": "неизвестно"})
    if contact_mode not in CONTACT_MODES:
        raise ValidationError("Выберите контактных лиц.", fields={"contact_mode": "неизвестно"})
    position = _clean(position, "Должность", Selection.position)
    if target == "contacts" and contact_mode == "position" and not position:
        raise ValidationError(
            "Укажите должность (например, «директор»).", fields={"position": "обязательно"}
        )
    flt = ClientFilter.from_args(filter_args)
    if flt.invalid:
        raise ValidationError(
            "В фильтре есть значения, которые нельзя прочитать: " + ", ".join(flt.invalid),
            fields={"filter": ", ".join(flt.invalid)},
        )
    if selection is None:
        selection = Selection(owner_id=actor.id)
        session.add(selection)
    selection.name = name
    selection.target = target
    selection.contact_mode = contact_mode if target == "contacts" else "all"
    selection.position = position if selection.contact_mode == "position" else None
    selection.filter = {k: v for k, v in flt.as_args().items() if k not in ("sort", "direction")}
    session.flush()
    return selection


def get_selection(session: Session, selection_id: int) -> Selection:
    row = session.get(Selection, selection_id)
    if row is None:
        raise NotFound("Выборка не найдена.")
    return row


def _address_key(recipient: str, address: PostalAddress) -> tuple:
    return tuple(
        text.normalize(v or "")
        for v in (
            recipient,
            address.postcode,
            address.city,
            address.street,
            address.building,
            address.office,
        )
    )


def _client_chunks(session: Session, selection: Selection, actor: User) -> Iterator[list[Client]]:
    flt = ClientFilter.from_args(selection.filter or {})
    ids = list(session.scalars(client_query(flt, actor=actor).with_only_columns(Client.id)))
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        rows = session.scalars(
            select(Client)
            .where(Client.id.in_(part))
            .options(selectinload(Client.contacts).selectinload(ContactPerson.channels))
        ).all()
        by_id = {c.id: c for c in rows}
        yield [by_id[i] for i in part if i in by_id]


def _people(selection: Selection, client: Client) -> list[ContactPerson | None]:
    active = [c for c in client.contacts if c.is_active]
    if selection.target == "clients":
        return [None]
    if selection.contact_mode == "main":
        return active[:1]
    if selection.contact_mode == "position":
        wanted = text.normalize(selection.position or "")
        return [c for c in active if wanted and wanted in text.normalize(c.position or "")]
    return active


def entries(
    session: Session, selection: Selection, *, actor: User, channel: str = "post"
) -> Iterator[Entry]:
    """Every addressee of the selection now, in list order, each with its exclusion reason."""
    unsub_emails = set(session.scalars(select(Unsubscribe.email)))
    seen: set[Any] = set()
    for clients in _client_chunks(session, selection, actor):
        addresses = {
            (a.client_id, a.contact_id): a
            for a in session.scalars(
                select(PostalAddress).where(PostalAddress.client_id.in_([c.id for c in clients]))
            )
        }
        for client in clients:
            active = [c for c in client.contacts if c.is_active]
            for person in _people(selection, client):
                main = person or (active[0] if active else None)
                address = (
                    addresses.get((client.id, person.id)) if person is not None else None
                ) or addresses.get((client.id, None))
                emails = main.emails if main is not None else []
                email = emails[0] if emails else None
                recipient = (address.recipient if address and address.recipient else None) or (
                    client.name
                )
                entry = Entry(
                    client_id=client.id,
                    client_name=client.name,
                    contact_id=person.id if person else None,
                    person=person.full_name if person else None,
                    recipient=recipient,
                    address=address,
                    email=email,
                )
                if email and email in unsub_emails:
                    entry.excluded = "unsubscribed"
                elif not client.mailing_consent:
                    entry.excluded = "no_consent"
                elif channel == "email":
                    if not email:
                        entry.excluded = "no_address"
                    elif email in seen:
                        entry.excluded = "duplicate"
                    else:
                        seen.add(email)
                elif address is None:
                    entry.excluded = "no_address"
                elif address.returned:
                    entry.excluded = "bad_address"
                else:
                    key = _address_key(f"{recipient}|{entry.person or ''}", address)
                    if key in seen:
                        entry.excluded = "duplicate"
                    else:
                        seen.add(key)
                yield entry


def summary(items: list[Entry]) -> dict[str, int]:
    counts = {"included": 0, **dict.fromkeys(EXCLUSIONS, 0)}
    for item in items:
        counts[item.excluded or "included"] += 1
    return counts


# --- campaigns ----------------------------------------------------------------------------------


def create_campaign(
    session: Session,
    selection: Selection,
    *,
    name: Any,
    channel: str,
    actor: User,
    subject: Any = None,
    body: Any = None,
    project_id: int | None = None,
    organization_id: int | None = None,
) -> Campaign:
    ensure_can_work(actor)
    name = _clean(name, "Название", Campaign.name)
    if not name:
        raise ValidationError("Назовите рассылку.", fields={"name": "обязательно"})
    if channel not in CHANNELS:
        raise ValidationError("Выберите канал рассылки.", fields={"channel": "неизвестен"})
    subject = _clean(subject, "Тема письма", Campaign.subject)
    body = _clean(body, "Текст письма", Campaign.body)
    if channel == "email" and (not subject or not body):
        raise ValidationError(
            "Для рассылки по почте нужны тема и текст письма.",
            fields={"subject": "обязательно", "body": "обязательно"},
        )
    campaign = Campaign(
        name=name,
        selection_id=selection.id,
        channel=channel,
        status="draft",
        subject=subject,
        body=body,
        project_id=project_id,
        organization_id=organization_id,
        created_by_id=actor.id,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    row = session.get(Campaign, campaign_id)
    if row is None:
        raise NotFound("Рассылка не найдена.")
    return row


def freeze(session: Session, campaign: Campaign, *, actor: User) -> Campaign:
    """Write the campaign's list as it is now (once): later changes of the base do not reach it."""
    ensure_can_work(actor)
    if campaign.frozen_at is not None:
        return campaign
    rows: list[dict[str, Any]] = []
    position = 0

    def flush_rows() -> None:
        if rows:
            session.execute(insert(CampaignRecipient), rows)
            rows.clear()

    for entry in entries(session, campaign.selection, actor=actor, channel=campaign.channel):
        position += 1
        a = entry.address
        rows.append(
            {
                "campaign_id": campaign.id,
                "position": position,
                "client_id": entry.client_id,
                "contact_id": entry.contact_id,
                "address_id": a.id if a else None,
                "client_name": entry.client_name,
                "person": entry.person,
                "recipient": entry.recipient,
                "postcode": a.postcode if a else None,
                "region": a.region if a else None,
                "city": a.city if a else None,
                "street": a.street if a else None,
                "building": a.building if a else None,
                "office": a.office if a else None,
                "email": entry.email,
                "excluded": entry.excluded,
            }
        )
        if len(rows) >= CHUNK:
            flush_rows()
    flush_rows()
    campaign.frozen_at = utcnow()
    campaign.frozen_by_id = actor.id
    campaign.status = "frozen"
    session.flush()
    session.expire(campaign, ["recipients"])
    return campaign


def included(session: Session, campaign: Campaign) -> Iterator[CampaignRecipient]:
    """The frozen list's addressees (not the excluded), in order, read in chunks."""
    last = 0
    while True:
        chunk = session.scalars(
            select(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.excluded.is_(None),
                CampaignRecipient.position > last,
            )
            .order_by(CampaignRecipient.position)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].position


def recipient_lines(row: CampaignRecipient) -> tuple[list[str], list[str]]:
    """(«Кому» lines, «Куда» lines) of a frozen row."""
    who = [row.recipient or row.client_name]
    if row.person and row.person != who[0]:
        who.append(row.person)
    street = ", ".join(p for p in (row.street, row.building, row.office) if p)
    where = [line for line in (street, row.city, row.region) if line]
    return who, where


EXPORT_HEADER = [
    "№",
    "Клиент",
    "Контактное лицо",
    "Получатель",
    "Индекс",
    "Регион",
    "Город",
    "Улица",
    "Дом",
    "Офис",
    "E-mail",
]


def _export_rows(session: Session, campaign: Campaign) -> Iterator[list[Any]]:
    for row in included(session, campaign):
        yield [
            row.position,
            row.client_name,
            row.person or "",
            row.recipient or "",
            row.postcode or "",
            row.region or "",
            row.city or "",
            row.street or "",
            row.building or "",
            row.office or "",
            row.email or "",
        ]


def export_csv(session: Session, campaign: Campaign, *, actor: User) -> bytes:
    freeze(session, campaign, actor=actor)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(EXPORT_HEADER)
    for row in _export_rows(session, campaign):
        writer.writerow([_safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def _safe_cell(value: Any) -> Any:
    """No formula injection: a text starting with = + - @ is quoted for spreadsheets."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def export_xlsx(session: Session, campaign: Campaign, *, actor: User) -> bytes:
    from openpyxl import Workbook

    freeze(session, campaign, actor=actor)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Список")
    sheet.append(EXPORT_HEADER)
    for row in _export_rows(session, campaign):
        sheet.append([_safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def describe_filter(session: Session, args: dict[str, Any]) -> list[str]:
    """A saved filter as people read it: «Город: Самара», «Группа: VIP», «Вид: ИП» — for the
    selections built from the client list (ids named, codes labelled)."""
    named = {"group_id": ClientGroup, "competitor_id": CompetitorExhibition, "curator_id": User}
    coded = {
        "kind": {k.value: v for k, v in CLIENT_KIND_LABELS.items()},
        "relationship": {k.value: v for k, v in RELATIONSHIP_LABELS.items()},
        "readiness": {str(int(k)): v for k, v in READINESS_LABELS.items()},
        "project_outcome": PROJECT_OUTCOMES,
        "mailing_consent": {"yes": "есть", "no": "нет", "1": "есть", "0": "нет"},
    }
    out = []
    for key, value in args.items():
        if key in ("sort", "direction"):
            continue
        shown = str(value)
        if key in named and _id(value) is not None:
            record = session.get(named[key], _id(value))
            shown = getattr(record, "full_name", None) or getattr(record, "name", None) or shown
        elif key == "project_id" and _id(value) is not None:
            project = session.get(Project, _id(value))
            shown = project.name if project is not None else shown
        elif key in coded:
            shown = coded[key].get(str(value), shown)
        elif isinstance(value, bool):
            shown = "да" if value else "нет"
        out.append(f"{FILTER_LABELS.get(key, key)}: {shown}")
    return out
