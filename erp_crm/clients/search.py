"""The client list's filters and search, as one SELECT the pages, the API and export share."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select, union
from stdnum.ru import inn as stdnum_inn

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.clients.models import (
    Client,
    ClientGroup,
    CompetitorParticipation,
    ContactChannel,
    ContactPerson,
    GroupKind,
    client_group_members,
)
from erp_crm.core import text
from erp_crm.db import MAX_ID

SORTS = {
    "name": Client.name_norm,
    "created": Client.created_at,
    "readiness": Client.readiness,
    "city": Client.city_norm,
    "inn": Client.inn,
}


def _int(value: Any) -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is None or -MAX_ID <= number <= MAX_ID else None


def _str(value: Any, limit: int = 200) -> str:
    """A text filter value: stripped, bounded, without NUL (PostgreSQL text cannot hold it)."""
    return (value or "").replace("\x00", "").strip()[:limit]


FILTER_LABELS = {
    "q": "Поиск",
    "kind": "Вид",
    "region": "Регион",
    "city": "Город",
    "industry": "Отрасль",
    "source": "Источник",
    "relationship": "Тип отношений",
    "mailing_consent": "Согласие на рассылку",
    "include_merged": "С объединёнными",
    "sort": "Сортировка",
    "direction": "Порядок",
    "group_id": "Группа",
    "curator_id": "Куратор",
    "readiness": "Готовность",
    "competitor_id": "Выставка конкурента",
    "project_id": "Наш проект",
    "project_outcome": "Участие в проекте",
}
PROJECT_OUTCOMES = {
    "": "Любая сделка",
    "won": "Участник (продажа)",
    "open": "Сделка в работе",
    "lost": "Отказ",
}


@dataclass
class ClientFilter:
    q: str = ""
    kind: str = ""
    region: str = ""
    city: str = ""
    industry: str = ""
    source: str = ""
    group_id: int | None = None
    curator_id: int | None = None
    readiness: int | None = None
    relationship: str = ""
    competitor_id: int | None = None
    project_id: int | None = None
    project_outcome: str = ""
    mailing_consent: str = ""
    include_merged: bool = False
    sort: str = "name"
    direction: str = "asc"
    # the filters given with a value that cannot be read (an id that is no number, an unknown
    # outcome): not applied, and said so — by the page as a notice, by the API as a 422
    invalid: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def from_args(cls, args: Any) -> ClientFilter:
        """From request.args (or any mapping); malformed values are left out and named in
        `invalid`."""
        get = args.get
        invalid = [
            key
            for key in ("group_id", "curator_id", "readiness", "competitor_id", "project_id")
            if (get(key) or "").strip() and _int(get(key)) is None
        ]
        if get("project_outcome") and get("project_outcome") not in PROJECT_OUTCOMES:
            invalid.append("project_outcome")
        return cls(
            q=_str(get("q")),
            kind=_str(get("kind")),
            region=_str(get("region")),
            city=_str(get("city")),
            industry=_str(get("industry")),
            source=_str(get("source")),
            group_id=_int(get("group_id")),
            curator_id=_int(get("curator_id")),
            readiness=_int(get("readiness")),
            relationship=_str(get("relationship")),
            competitor_id=_int(get("competitor_id")),
            project_id=_int(get("project_id")),
            project_outcome=get("project_outcome")
            if get("project_outcome") in PROJECT_OUTCOMES
            else "",
            mailing_consent=_str(get("mailing_consent")),
            include_merged=str(get("include_merged") or "").lower() in {"1", "true", "on"},
            sort=get("sort") if get("sort") in SORTS else "name",
            direction="desc" if get("direction") == "desc" else "asc",
            invalid=invalid,
        )

    def as_args(self) -> dict[str, Any]:
        """The non-default values, for links that keep the filter (pagination, export, saving)."""
        defaults = ClientFilter()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "invalid" and getattr(self, f.name) != getattr(defaults, f.name)
        }

    @property
    def is_empty(self) -> bool:
        return not {k for k in self.as_args() if k not in ("sort", "direction")}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clients_with_channel(kind: str, pattern: str) -> Select:
    return (
        select(ContactPerson.client_id)
        .join(ContactChannel, ContactChannel.contact_id == ContactPerson.id)
        .where(ContactChannel.kind == kind, ContactChannel.value.like(pattern, escape="\\"))
    )


def _clients_with_phone(q: str, digits: str, extension: str | None) -> Select:
    """Clients with a phone matching the typed number.

    A whole number (one that parses as a valid phone: «8 927 555-12-34», «+7 (927) 5551234»,
    «9275551234», with or without «доб. 305») is looked up by its E.164 form, an equality on the
    (kind, value) index — the number alone finds its extensions too; a part of a number
    («555-12-34», «555-12-34 доб. 305») is searched as a substring (trigram index on PostgreSQL).
    """
    whole = text.normalize_phone(q) if len(digits) >= 10 else None
    if whole is None:
        pattern = f"%{digits}%" + (f"{text.EXTENSION}{extension}" if extension else "")
        return _clients_with_channel("phone", pattern)
    value = ContactChannel.value
    matches = value == whole
    if text.EXTENSION not in whole:
        # The number and its extensions ("+7…;ext=…") in ONE index range — an OR of two would
        # make SQLite scan every phone — then only those that are the number or carry ";".
        matches = and_(
            value >= whole,
            value < whole + "<",  # ';' < '<', and digits sort before both
            or_(value == whole, value.startswith(whole + ";", autoescape=True)),
        )
    return (
        select(ContactPerson.client_id)
        .join(ContactChannel, ContactChannel.contact_id == ContactPerson.id)
        .where(ContactChannel.kind == "phone", matches)
    )


# Digits as people type them, with an optional phone extension: «8 (846) 207-11-44 доб. 305»,
# or as the API shows a phone: «+78462071144;ext=305».
_NUMBER = re.compile(
    r"(?P<number>[\d\s()+\-]+?)\s*(?:(?:доб|ext|x|#|;ext=)\.?\s*(?P<extension>\d+))?",
    re.IGNORECASE,
)


def _search_condition(q: str) -> Any:
    """name / ИНН / phone / e-mail, chosen by what the query looks like.

    ИНН, phone and e-mail matches are gathered as a UNION of client ids, each branch on its own
    index (ИНН btree, trigram on contact_channels.value): an OR with a correlated EXISTS made
    PostgreSQL scan the whole base for one ИНН (bench/README.md).
    """
    if "@" in q:
        ids = _clients_with_channel("email", text.like_pattern(q.strip().lower()))
        return Client.id.in_(ids)
    number = _NUMBER.fullmatch(q.strip())
    digits = text.phone_digits(number["number"]) if number else ""
    if number and len(digits) >= 4:
        extension = number["extension"]
        if extension:  # an extension makes it a phone
            return Client.id.in_(_clients_with_phone(q, digits, extension))
        # A number is an ИНН (whole, or its beginning) or a phone, never a name.
        inn = re.sub(r"\D", "", q)
        if len(inn) in (10, 12):
            inn_match = Client.inn == inn
            if stdnum_inn.is_valid(inn) and text.normalize_phone(q) is None:
                # A whole ИНН with a right check digit that is no phone number: nothing else
                return inn_match
        else:
            # The beginning of an ИНН as a range, not LIKE 'x%': a LIKE prefix cannot use the
            # btree index under a non-C collation (nor ever on SQLite, whose LIKE folds case).
            upper = str(int(inn) + 1).zfill(len(inn))
            bounds = [Client.inn >= inn]
            if len(upper) == len(inn):
                bounds.append(Client.inn < upper)
            inn_match = and_(*bounds)
        if len(digits) < 5:
            return inn_match
        by_inn = select(Client.id).where(inn_match)
        return Client.id.in_(union(by_inn, _clients_with_phone(q, digits, None)))
    normalized = text.normalize(q)
    if normalized:
        return Client.name_norm.like(text.like_pattern(normalized), escape="\\")
    return None


def client_query(flt: ClientFilter, *, actor: User, visible_only_own: bool = False) -> Select:
    """The SELECT of clients matching `flt`, sorted; `visible_only_own` limits to the actor's."""
    query = select(Client)
    where = []
    if not flt.include_merged:
        where.append(Client.merged_into_id.is_(None))
    if visible_only_own:
        where.append(Client.curator_id == actor.id)
    if flt.q and (condition := _search_condition(flt.q)) is not None:
        where.append(condition)
    if flt.kind:
        where.append(Client.kind == flt.kind)
    if flt.region:
        where.append(Client.region == flt.region)
    if flt.city:
        where.append(Client.city_norm == text.normalize(flt.city))
    if flt.industry:
        where.append(Client.industry == flt.industry)
    if flt.source:
        where.append(Client.source == flt.source)
    if flt.curator_id is not None:
        where.append(
            Client.curator_id == flt.curator_id if flt.curator_id else Client.curator_id.is_(None)
        )
    if flt.readiness is not None:
        where.append(Client.readiness == flt.readiness)
    if flt.relationship:
        where.append(Client.relationship_type == flt.relationship)
    if flt.mailing_consent in ("yes", "no"):
        where.append(Client.mailing_consent.is_(flt.mailing_consent == "yes"))
    if flt.group_id is not None:
        # Only a group the actor may see: another manager's personal group matches nobody.
        where.append(
            exists().where(
                client_group_members.c.client_id == Client.id,
                client_group_members.c.group_id == flt.group_id,
                ClientGroup.id == client_group_members.c.group_id,
                or_(ClientGroup.kind == GroupKind.COMMON.value, ClientGroup.owner_id == actor.id),
            )
        )
    if flt.project_id is not None:
        # "Took part in our project": the deals area knows what that means (a signal, as
        # deals depend on clients, not the other way round).
        where.extend(
            signals.answers(
                signals.client_project_condition,
                project_id=flt.project_id,
                outcome=flt.project_outcome,
            )
        )
    if flt.competitor_id is not None:
        where.append(
            exists().where(
                CompetitorParticipation.client_id == Client.id,
                CompetitorParticipation.exhibition_id == flt.competitor_id,
            )
        )
    if where:
        query = query.where(and_(*where))
    column = SORTS[flt.sort]
    order = column.desc() if flt.direction == "desc" else column.asc()
    return query.order_by(order, Client.id)
