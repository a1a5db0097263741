"""Duplicates of one client: while it is being entered (`likely_duplicates`, the warnings
before saving and for a contact's phone or e-mail) and for one already in the base (the merge
page's choice). Merged clients are never candidates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from erp_crm.clients import services
from erp_crm.clients.dedupe.scoring import (
    MIN_KEY_LENGTH,
    NAME_THRESHOLD,
    Evidence,
    clean_emails,
    clean_phones,
    inn_relation,
    name_keys,
    name_similarity,
)
from erp_crm.clients.models import (
    Client,
    ContactChannel,
    ContactPerson,
)
from erp_crm.core import text


@dataclass
class DuplicateCandidate:
    client: Client
    score: int
    reasons: list[str]

    @property
    def id(self) -> int:
        return self.client.id

    @property
    def name(self) -> str:
        return self.client.name


def likely_duplicates(
    session: Session,
    *,
    name: str | None,
    city: str | None,
    inn: str | None,
    kpp: str | None,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateCandidate]:
    """Clients that look like the one being entered, strongest first (merged ones never).

    Accepts raw input: ИНН/КПП with spaces, phones in any format, e-mails in any case.
    """
    inn = "".join(ch for ch in (inn or "") if ch.isdigit()) or None
    kpp = (kpp or "").strip().upper().replace(" ", "") or None
    phones_e164 = clean_phones(phones)
    emails_clean = clean_emails(emails)
    evidence: dict[int, Evidence] = defaultdict(Evidence)

    def live(query):
        query = query.where(Client.merged_into_id.is_(None))
        return query.where(Client.id != exclude_id) if exclude_id is not None else query

    if inn:
        for client_id, other_kpp in session.execute(
            live(select(Client.id, Client.kpp).where(Client.inn == inn))
        ):
            evidence[client_id].inn = inn_relation(inn, kpp, inn, other_kpp)[0]

    keys = name_keys(name)
    if len(keys[1]) >= MIN_KEY_LENGTH:
        city_norm = services.city_norm(city)
        same_city = (
            Client.city_norm == city_norm if city_norm is not None else Client.city_norm.is_(None)
        )
        for client_id, other_name in session.execute(
            live(select(Client.id, Client.name).where(same_city, _name_prefilter(name)))
        ):
            similarity = name_similarity(keys, name_keys(other_name))
            if similarity >= NAME_THRESHOLD:
                evidence[client_id].name = int(similarity)
                evidence[client_id].city_known = city_norm is not None

    if phones_e164 or emails_clean:
        wanted = []
        if phones_e164:
            wanted.append((ContactChannel.kind == "phone") & ContactChannel.value.in_(phones_e164))
        if emails_clean:
            wanted.append((ContactChannel.kind == "email") & ContactChannel.value.in_(emails_clean))
        rows = session.execute(
            live(
                select(ContactPerson.client_id, ContactChannel.kind, ContactChannel.value)
                .join(ContactPerson, ContactPerson.id == ContactChannel.contact_id)
                .join(Client, Client.id == ContactPerson.client_id)
                .where(or_(*wanted))
            )
        )
        for client_id, kind, value in rows:
            target = evidence[client_id].phones if kind == "phone" else evidence[client_id].emails
            target.add(value)

    if not evidence:
        return []
    clients = {
        c.id: c for c in session.scalars(select(Client).where(Client.id.in_(list(evidence))))
    }
    found = []
    for client_id, ev in evidence.items():
        client = clients[client_id]
        if inn and client.inn and client.inn != inn:
            ev.other_inn = True
        score, reasons = ev.score()
        if reasons:
            found.append(DuplicateCandidate(client=client, score=score, reasons=reasons))
    found.sort(key=lambda c: (-c.score, c.client.name_norm, c.client.id))
    return found[:limit]


def _name_prefilter(name: str | None) -> Any:
    """A cheap SQL condition that every name similar enough to `name` meets: it contains the
    first or the last three letters of one of its words (names within the threshold differ by a
    typo or two, which leave one end of a word intact). Keeps big cities from being read whole."""
    fragments = set()
    for word in text.name_key(name).split() or [""]:
        fragments.update({word[:3], word[-3:]} if len(word) > 3 else {word})
    return or_(*(Client.name_norm.like(text.like_pattern(f), escape="\\") for f in fragments))


def duplicates_before_saving(
    session: Session, data: services.ClientData, client: Client | None = None
) -> list[DuplicateCandidate]:
    """What to warn about before saving cleaned `data`: for a new client always; for an edit only
    when it changes what duplicates are recognised by (requisites, name, city). The pages and the
    API ask the user to confirm when this is not empty."""
    if client is not None and (
        (data.inn or None, data.kpp or None) == (client.inn, client.kpp)
        and (data.name or "") == client.name
        and (data.city or None) == client.city
    ):
        return []
    return likely_duplicates(
        session,
        name=data.name or "",
        city=data.city,
        inn=data.inn,
        kpp=data.kpp,
        exclude_id=client.id if client is not None else None,
    )


def shared_channels_warning(session: Session, client: Client, contact: ContactPerson) -> str | None:
    """A Russian warning when the contact's phone or e-mail is found at another client (a likely
    duplicate of `client`), else None: the contact is saved either way."""
    others = likely_duplicates(
        session,
        name=None,
        city=None,
        inn=None,
        kpp=None,
        phones=contact.phones,
        emails=contact.emails,
        exclude_id=client.id,
        limit=5,
    )
    if not others:
        return None
    names = ", ".join(f"{text.quoted(c.name)} (№ {c.id})" for c in others)
    return (
        f"Такой же телефон или e-mail есть у контрагента: {names}. Возможно, это дубль — "
        "проверьте на странице «Дубли»."
    )


def likely_duplicates_of(
    session: Session, client: Client, *, limit: int = 10
) -> list[DuplicateCandidate]:
    """`likely_duplicates` for a client that is already in the base (the merge page's choice)."""
    return likely_duplicates(
        session,
        name=client.name,
        city=client.city,
        inn=client.inn,
        kpp=client.kpp,
        phones=[p for c in client.contacts for p in c.phones],
        emails=[e for c in client.contacts for e in c.emails],
        exclude_id=client.id,
        limit=limit,
    )
