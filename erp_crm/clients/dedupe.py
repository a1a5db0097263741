"""Data quality of the client base: finding duplicates, merging them and undoing a merge.

Signals of a duplicate, each with a score (0–100) and a Russian reason:

- the same ИНН and КПП (or the same ИНН where neither has a КПП) — the same legal entity (100);
  the same ИНН with another КПП is a branch — a weak signal;
- a near-identical name in the same city: `token_sort_ratio` on `core.text.name_key` (legal form,
  quotes and punctuation dropped, ё = е; «Техно-Сервис» = «Техносервис»; «Завод 1» ≠ «Завод 2»),
  threshold NAME_THRESHOLD, candidates only from the same normalized city (`city_norm`);
- the same phone (E.164) or e-mail (lower-case) of a contact.

`likely_duplicates` checks one client being entered; `candidate_pairs` the whole base, with
blocking (see `_name_signals`) and a short-lived cache, for the duplicates page and the API.

Several signals add a little to the strongest one; two different ИНН take a lot away (two legal
entities, however similar their names). Merged clients are never candidates.

Merging moves everything of the duplicate to the survivor and keeps the duplicate as a pointer
(`merged_into_id`); the audit rows of both records say what moved, which is what `unmerge_client`
reads to move it back. Services never commit.
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Column, Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import services
from erp_crm.clients.models import (
    Client,
    ClientGroup,
    ClientKind,
    CompetitorParticipation,
    ContactChannel,
    ContactPerson,
    client_group_members,
)
from erp_crm.core import text
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError

NAME_THRESHOLD = 88  # token_sort_ratio of name keys from which two names count as "similar"
DEFAULT_MIN_SCORE = 75  # the duplicates page hides weaker pairs unless asked
# A phone or e-mail shared by more clients than this is a switchboard or a shared mailbox (a
# business centre, an agency), not a sign of a duplicate; it is ignored by candidate_pairs.
MAX_CLIENTS_PER_CHANNEL = 10
_MIN_KEY_LENGTH = 2

SCORE_INN_KPP = 100
SCORE_INN = 95  # the same ИНН, a КПП on one side only
SCORE_BRANCH = 60  # the same ИНН, another КПП
SCORE_CHANNEL = 80
NAME_WEIGHT = 0.9  # an identical name in the same city scores 90
BONUS_PER_SIGNAL = 5
PENALTY_OTHER_INN = 30


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class _Evidence:
    inn: str | None = None  # "exact" | "no_kpp" | "same" | "branch"
    name: int | None = None  # similarity of the name keys, 0–100
    city_known: bool = True
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    other_inn: bool = False  # both have an ИНН and they differ

    def score(self) -> tuple[int, list[str]]:
        parts: list[tuple[int, str]] = []
        if self.inn == "exact":
            parts.append((SCORE_INN_KPP, "тот же ИНН и КПП"))
        elif self.inn == "no_kpp":  # ИП, физлица: the ИНН alone names them
            parts.append((SCORE_INN_KPP, "тот же ИНН"))
        elif self.inn == "same":
            parts.append((SCORE_INN, "тот же ИНН"))
        elif self.inn == "branch":
            parts.append((SCORE_BRANCH, "тот же ИНН, другой КПП"))
        if self.name is not None:
            where = "в том же городе" if self.city_known else "(город не указан у обоих)"
            reason = (
                f"то же название {where}"
                if self.name >= 100
                else f"похожее название {where} ({self.name}%)"
            )
            parts.append((round(self.name * NAME_WEIGHT), reason))
        if self.phones:
            shown = ", ".join(text.display_phone(p) for p in sorted(self.phones))
            parts.append((SCORE_CHANNEL, f"тот же телефон контакта: {shown}"))
        if self.emails:
            parts.append(
                (SCORE_CHANNEL, "тот же e-mail контакта: " + ", ".join(sorted(self.emails)))
            )
        if not parts:
            return 0, []
        parts.sort(key=lambda p: -p[0])
        score = parts[0][0] + BONUS_PER_SIGNAL * (len(parts) - 1)
        reasons = [reason for _, reason in parts]
        if self.other_inn:
            score -= PENALTY_OTHER_INN
            reasons.append("но ИНН разные")
        return max(0, min(100, score)), reasons


def _inn_relation(inn_a: str | None, kpp_a: str | None, inn_b: str | None, kpp_b: str | None):
    """("exact" | "no_kpp" | "same" | "branch" | None, other_inn) for two clients' requisites."""
    if not inn_a or not inn_b:
        return None, False
    if inn_a != inn_b:
        return None, True
    if not kpp_a and not kpp_b:
        return "no_kpp", False
    if kpp_a == kpp_b:
        return "exact", False
    if kpp_a and kpp_b:
        return "branch", False
    return "same", False


def _name_keys(name: str | None) -> tuple[str, str]:
    """Two forms of the name key (core.text.name_key) that names are compared in:

    - the words sorted, numbers last — `ratio` on these is `token_sort_ratio`: «Плюс Сервис» =
      «Сервис Плюс»;
    - the words joined in their order — «Техно-Сервис» = «Техносервис» = «Техно Сервис».

    Cyrillic а–я is mapped one to one onto Latin-1 à–ÿ (after sorting, so the order is kept):
    rapidfuzz compares one-byte strings about twice as fast, with the same ratio.
    """
    words = text.name_key(name).split()
    in_order = "".join(words)
    words.sort(key=lambda w: (not w.isalpha(), w))
    return " ".join(words).translate(_ONE_BYTE), in_order.translate(_ONE_BYTE)


_ONE_BYTE = str.maketrans({chr(code): chr(0xE0 + code - 0x430) for code in range(0x430, 0x450)})
_DIGITS = re.compile(r"\d+")


def _numbers(key: str) -> list[str]:
    """The numbers in a name: «Завод 1» and «Завод 2», «СМУ-5» and «СМУ-7» are different firms."""
    return sorted(_DIGITS.findall(key)) if _DIGITS.search(key) else []


def _similarity(a: tuple[str, str], b: tuple[str, str]) -> float:
    """How alike two names are (0–100): `token_sort_ratio` of the name keys, 100 when the joined
    forms are identical, 0 when their numbers differ. (The joined forms are not compared fuzzily:
    without the spaces «Медмонтаж-Регион» and «Дормонтаж Регион» would look alike.)"""
    if a[1] == b[1]:
        return 100.0
    if _numbers(a[0]) != _numbers(b[0]):
        return 0.0
    return fuzz.ratio(a[0], b[0])


def _clean_phones(phones: Iterable[str]) -> set[str]:
    return {p for p in (text.normalize_phone(str(raw)) for raw in phones) if p}


def _clean_emails(emails: Iterable[str]) -> set[str]:
    return {str(e).strip().lower() for e in emails if str(e).strip()}


# --- while a client is being created ------------------------------------------------------------


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
    phones_e164 = _clean_phones(phones)
    emails_clean = _clean_emails(emails)
    evidence: dict[int, _Evidence] = defaultdict(_Evidence)

    def live(query):
        query = query.where(Client.merged_into_id.is_(None))
        return query.where(Client.id != exclude_id) if exclude_id is not None else query

    if inn:
        for client_id, other_kpp in session.execute(
            live(select(Client.id, Client.kpp).where(Client.inn == inn))
        ):
            evidence[client_id].inn = _inn_relation(inn, kpp, inn, other_kpp)[0]

    keys = _name_keys(name)
    if len(keys[1]) >= _MIN_KEY_LENGTH:
        city_norm = services.city_norm(city)
        same_city = (
            Client.city_norm == city_norm if city_norm is not None else Client.city_norm.is_(None)
        )
        for client_id, other_name in session.execute(
            live(select(Client.id, Client.name).where(same_city, _name_prefilter(name)))
        ):
            similarity = _similarity(keys, _name_keys(other_name))
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


# --- over the whole base ------------------------------------------------------------------------


@dataclass
class DuplicatePair:
    client_ids: tuple[int, int]  # the smaller id first
    score: int
    reasons: list[str]
    first: Client | None = None  # loaded for the pairs of the requested page only
    second: Client | None = None


@dataclass
class PairPage:
    items: list[DuplicatePair]
    total: int  # pairs at or above min_score in the whole base
    limit: int
    offset: int


def _inn_signals(session: Session, evidence: dict[tuple[int, int], _Evidence]) -> None:
    """ИНН twins and branches: the ИНН that occur more than once, by GROUP BY."""
    shared = (
        select(Client.inn)
        .where(Client.inn.is_not(None), Client.merged_into_id.is_(None))
        .group_by(Client.inn)
        .having(func.count() > 1)
        .subquery()
    )
    rows = session.execute(
        select(Client.id, Client.inn, Client.kpp)
        .join(shared, shared.c.inn == Client.inn)
        .where(Client.merged_into_id.is_(None))
        .order_by(Client.inn, Client.id)
    )
    for _, group in itertools.groupby(rows, key=lambda r: r.inn):
        for a, b in itertools.combinations(list(group), 2):
            relation, _ = _inn_relation(a.inn, a.kpp, b.inn, b.kpp)
            evidence[(a.id, b.id)].inn = relation


def _channel_signals(session: Session, evidence: dict[tuple[int, int], _Evidence]) -> None:
    """The same phone or e-mail on contacts of two clients: a self-join of contact_channels.

    Only values that occur more than once are joined (found on the (kind, value) index alone);
    values shared by more than MAX_CLIENTS_PER_CHANNEL clients are left out.
    """
    repeated = (
        select(ContactChannel.kind, ContactChannel.value)
        .group_by(ContactChannel.kind, ContactChannel.value)
        .having(func.count() > 1)
        .subquery("repeated")
    )
    live = (
        select(ContactChannel.kind, ContactChannel.value, ContactPerson.client_id)
        .distinct()
        .join(
            repeated,
            (repeated.c.kind == ContactChannel.kind) & (repeated.c.value == ContactChannel.value),
        )
        .join(ContactPerson, ContactPerson.id == ContactChannel.contact_id)
        .join(Client, Client.id == ContactPerson.client_id)
        .where(Client.merged_into_id.is_(None))
        .cte("live_channels")
    )
    shared = (
        select(live.c.kind, live.c.value)
        .group_by(live.c.kind, live.c.value)
        .having(func.count().between(2, MAX_CLIENTS_PER_CHANNEL))
        .cte("shared_channels")
    )
    a, b = aliased(live, name="a"), aliased(live, name="b")
    rows = session.execute(
        select(a.c.client_id, b.c.client_id, a.c.kind, a.c.value)
        .join(shared, (shared.c.kind == a.c.kind) & (shared.c.value == a.c.value))
        .join(
            b,
            (b.c.kind == a.c.kind) & (b.c.value == a.c.value) & (b.c.client_id > a.c.client_id),
        )
    )
    for first, second, kind, value in rows:
        ev = evidence[(first, second)]
        (ev.phones if kind == "phone" else ev.emails).add(value)


def _name_signals(
    rows: Iterable[tuple[int, str, str | None]], evidence: dict[tuple[int, int], _Evidence]
) -> None:
    """Near-identical names in the same city, compared only within small blocks.

    Only names of one normalized city are compared. Identical keys, in either form (see
    `_name_keys`), pair at once. Other word-sorted keys are compared within two passes of blocks —
    the same first three letters, then the same last three — and only with keys whose length
    allows the threshold at all: names within the threshold differ by a typo or two, which leave
    one end of the key intact, and the comparisons stay far below n².
    """
    by_city: dict[str | None, list[tuple[int, tuple[str, str]]]] = defaultdict(list)
    for client_id, name, city_norm in rows:
        keys = _name_keys(name)
        if len(keys[1]) >= _MIN_KEY_LENGTH:
            by_city[city_norm].append((client_id, keys))
    for city_norm, entries in by_city.items():
        if len(entries) < 2:
            continue
        city_known = city_norm is not None
        for form in (0, 1):
            by_key: dict[str, list[int]] = defaultdict(list)
            for client_id, keys in entries:
                by_key[keys[form]].append(client_id)
            for ids in by_key.values():
                if len(ids) > 1:
                    _note_names(evidence, ids, ids, 100, city_known)
            if form == 1 or len(by_key) < 2:
                continue  # the joined form pairs only when identical; typos are the sorted form's
            for block_of in (_head, _tail):
                blocks: dict[str, list[str]] = defaultdict(list)
                for key in by_key:
                    blocks[block_of(key)].append(key)
                for block in blocks.values():
                    if len(block) > 1:
                        _compare_block(block, by_key, evidence, city_known)


def _head(key: str) -> str:
    return key[:3]


def _tail(key: str) -> str:
    return key[-3:]


# ratio = 2·matches / (len_a + len_b) reaches the threshold only if len_b <= len_a · this
_LENGTH_SPAN = (200 - NAME_THRESHOLD) / NAME_THRESHOLD


def _compare_block(
    block: list[str],
    by_key: dict[str, list[int]],
    evidence: dict[tuple[int, int], _Evidence],
    city_known: bool,
) -> None:
    block.sort(key=len)
    lengths = [len(k) for k in block]
    numbers_of = {k: _numbers(k) for k in block}
    for i, key in enumerate(block[:-1]):
        end = bisect.bisect_right(lengths, int(len(key) * _LENGTH_SPAN + 1e-9), lo=i + 1)
        if end <= i + 1:
            continue
        numbers = numbers_of[key]
        for other, similarity, _ in process.extract(
            key,
            block[i + 1 : end],
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=NAME_THRESHOLD,
            limit=None,
        ):
            if numbers_of[other] == numbers:
                _note_names(evidence, by_key[key], by_key[other], int(similarity), city_known)


def _note_names(
    evidence: dict[tuple[int, int], _Evidence],
    ids_a: list[int],
    ids_b: list[int],
    similarity: int,
    city_known: bool,
) -> None:
    for x in ids_a:
        for y in ids_b:
            if x == y or (ids_a is ids_b and x > y):
                continue  # within one group of identical keys: each pair once
            ev = evidence[(min(x, y), max(x, y))]
            if ev.name is None or similarity > ev.name:
                ev.name = similarity
                ev.city_known = city_known


def _compute_pairs(session: Session) -> list[tuple[int, int, int, list[str]]]:
    """(first id, second id, score, reasons) of every pair with any signal, strongest first."""
    evidence: dict[tuple[int, int], _Evidence] = defaultdict(_Evidence)
    _inn_signals(session, evidence)
    _channel_signals(session, evidence)
    requisites: dict[int, str | None] = {}
    name_rows = []
    for client_id, name, city_norm, inn in session.execute(
        select(Client.id, Client.name, Client.city_norm, Client.inn).where(
            Client.merged_into_id.is_(None)
        )
    ):
        requisites[client_id] = inn
        name_rows.append((client_id, name, city_norm))
    _name_signals(name_rows, evidence)
    del name_rows

    pairs = []
    for (a, b), ev in evidence.items():
        inn_a, inn_b = requisites.get(a), requisites.get(b)
        ev.other_inn = bool(inn_a and inn_b and inn_a != inn_b)
        score, reasons = ev.score()
        if reasons:
            pairs.append((a, b, score, reasons))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs


# The pairs of the last computation per database (a few seconds on 100 000 clients), so that
# paging through the duplicates page does not recompute them. An entry is used only while the
# fingerprint of the data is the same — any changed client (updated_at: edits, merges), any new
# client, contact or channel changes it — and for at most CACHE_SECONDS, which bounds what the
# fingerprint cannot see (a phone replaced in place under the same row id).
CACHE_SECONDS = 120
_CACHE: dict[str, tuple[tuple, float, list[tuple[int, int, int, list[str]]]]] = {}
_CACHE_SIZE = 4


def _fingerprint(session: Session) -> tuple:
    clients = session.execute(
        select(func.count(), func.max(Client.id), func.max(Client.updated_at))
    ).one()
    channels = session.execute(select(func.count(), func.max(ContactChannel.id))).one()
    contacts = session.execute(select(func.count(), func.max(ContactPerson.updated_at))).one()
    return (*clients, *channels, *contacts)


def clear_cache() -> None:
    _CACHE.clear()


def scored_pairs(session: Session, *, min_score: int = DEFAULT_MIN_SCORE) -> list[DuplicatePair]:
    """Every candidate pair of the base at or above `min_score`, strongest first."""
    cache_key = str(session.get_bind().engine.url)
    fingerprint = _fingerprint(session)
    cached = _CACHE.get(cache_key)
    if (
        cached is not None
        and cached[0] == fingerprint
        and time.monotonic() - cached[1] < CACHE_SECONDS
    ):
        pairs = cached[2]
    else:
        pairs = _compute_pairs(session)
        _CACHE.pop(cache_key, None)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[cache_key] = (fingerprint, time.monotonic(), pairs)
    return [
        DuplicatePair(client_ids=(a, b), score=score, reasons=list(reasons))
        for a, b, score, reasons in itertools.takewhile(lambda p: p[2] >= min_score, pairs)
    ]


def candidate_pairs(
    session: Session, *, limit: int = 50, offset: int = 0, min_score: int = DEFAULT_MIN_SCORE
) -> PairPage:
    """One page of the base's duplicate candidates with both clients loaded."""
    limit = max(1, min(int(limit), 500))
    offset = max(0, int(offset))
    min_score = max(0, min(int(min_score), 100))
    pairs = scored_pairs(session, min_score=min_score)
    items = pairs[offset : offset + limit]
    ids = {i for p in items for i in p.client_ids}
    if ids:
        clients = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_(ids)))}
        for pair in items:
            pair.first, pair.second = (clients[i] for i in pair.client_ids)
    return PairPage(items=items, total=len(pairs), limit=limit, offset=offset)


# --- merging ------------------------------------------------------------------------------------

# Later capabilities (deals, documents, activities) that must do more on a merge than re-point
# their foreign keys connect to `signals.client_merged` and answer None or a JSON-able description.
#
# Undo needs nothing from a receiver that only re-points foreign keys to clients: around the
# signal the merge notes which rows of every other table referencing clients belonged to the
# duplicate and which of them now belong to the survivor ("moved_by_hooks" in the audit row), and
# the undo points exactly those rows back. A receiver that does more (combines or deletes rows)
# also connects to `signals.client_unmerged`, which hands back every description by receiver key
# ("hooks" in the audit row) before the rows are pointed back.


# References to clients that the merge itself moves (or that are the merge).
_MOVED_HERE = {
    ("clients", "merged_into_id"),
    ("contact_persons", "client_id"),
    ("client_group_members", "client_id"),
    ("competitor_participations", "client_id"),
}


def _other_references() -> list[tuple[Table, Column]]:
    """(table, column) of every other foreign key to clients.id, from the metadata."""
    found = []
    for table in Client.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is Client.__table__ and (table.name, fk.parent.name) not in (
                _MOVED_HERE
            ):
                found.append((table, fk.parent))
    return found


def _rows_of(session: Session, table: Table, column: Column, client_id: int) -> set:
    """Primary keys (a value, or a tuple for a composite key) of rows pointing to the client."""
    key = list(table.primary_key.columns)
    rows = session.execute(select(*key).where(column == client_id))
    return {r[0] if len(key) == 1 else tuple(r) for r in rows}


def _pk_condition(table: Table, pks: list) -> Any:
    key = list(table.primary_key.columns)
    if len(key) == 1:
        return key[0].in_(pks)
    return or_(*(and_(*(c == v for c, v in zip(key, pk, strict=True))) for pk in pks))


# Fields filled on the survivor when empty there. Not filled: the name (the survivor's is the
# chosen one), kind, readiness-derived relationship (recomputed), mailing consent (a consent is
# not inferred), external_id (unique; it stays on the duplicate, which points to the survivor).
FILLABLE = (
    "full_name",
    "inn",
    "kpp",
    "ogrn",
    "legal_address",
    "postal_address",
    "region",
    "city",
    "industry",
    "website",
    "source",
    "notes",
    "curator_id",
    "readiness",
)


@dataclass
class MergeResult:
    survivor: Client
    duplicate: Client
    contact_ids: list[int]
    group_ids: list[int]
    participation_ids: list[int]
    filled: dict[str, Any]
    moved: dict[str, list] = field(default_factory=dict)  # "deals.client_id" → ids, and so on


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == 0


def _fill_fields(session: Session, survivor: Client, duplicate: Client) -> dict[str, Any]:
    """Copy the duplicate's values into the survivor's empty fields; values that would not pass
    the survivor's validation (an ИП's ИНН on a legal entity, an inactive curator) are skipped."""
    changes: dict[str, Any] = {}
    for name in FILLABLE:
        mine, theirs = getattr(survivor, name), getattr(duplicate, name)
        if _empty(mine) and not _empty(theirs):
            changes[name] = theirs
    # КПП belongs to its ИНН: taken only together with the ИНН or when the ИНН is the same.
    if "kpp" in changes and survivor.inn and survivor.inn != duplicate.inn:
        del changes["kpp"]
    if "kpp" in changes and survivor.kind != ClientKind.LEGAL.value:
        del changes["kpp"]
    if not changes:
        return {}
    data = services.ClientData.from_model(survivor)
    while changes:
        try:
            cleaned = services.validate_client(session, data.merged_with(changes), survivor)
        except ValidationError as err:
            rejected = set(err.fields) & set(changes)
            if not rejected:  # the survivor's own data does not validate: fill nothing doubtful
                return {}
            for key in rejected:
                del changes[key]
            if "inn" in rejected:
                changes.pop("kpp", None)
            continue
        changes = {key: getattr(cleaned, key) for key in changes}
        break
    for key, value in changes.items():
        setattr(survivor, key, value)
    survivor.name_norm = services.name_norm(survivor.name, survivor.full_name)
    survivor.city_norm = services.city_norm(survivor.city)
    return changes


def _lock(session: Session, *clients: Client) -> None:
    """Row locks on both clients (PostgreSQL), then their current state from the database."""
    session.flush()
    session.execute(
        select(Client)
        .where(Client.id.in_([c.id for c in clients]))
        .order_by(Client.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def _check_merge(survivor: Client, duplicate: Client) -> None:
    if survivor.id == duplicate.id:
        raise ValidationError("Нельзя объединить контрагента с самим собой.")
    if duplicate.is_merged:
        raise Conflict(f"«{duplicate.name}» уже объединён с другой записью.")
    if survivor.is_merged:
        raise Conflict(
            f"«{survivor.name}» уже объединён с другой записью: "
            "выберите основную запись, которая осталась в базе."
        )


def merge_clients(
    session: Session, survivor: Client, duplicate: Client, *, actor: User
) -> MergeResult:
    """Merge `duplicate` into `survivor`: one business action, in the caller's transaction.

    Contacts, group memberships and competitor participations move (nothing is doubled: a group
    the survivor is already in is only noted in the audit row, an (exhibition, year) it already
    has stays on the duplicate); the
    survivor's empty fields are filled from the duplicate; records merged into the duplicate
    earlier now point to the survivor; `signals.client_merged` receivers move the later
    capabilities' records. The duplicate is kept, with merged_into_id and merged_at.
    Both records get an audit row.
    """
    if not has_permission(actor, Perm.CLIENTS_MERGE):
        raise PermissionDenied(
            "Объединять дубли могут руководитель ОП, специалисты ИАО и администратор."
        )
    _check_merge(survivor, duplicate)
    _lock(session, survivor, duplicate)
    _check_merge(survivor, duplicate)  # again, under the locks: a concurrent merge may have won

    contact_ids = [c.id for c in duplicate.contacts]
    for contact in list(duplicate.contacts):
        contact.client = survivor

    dup_groups = set(
        session.scalars(
            select(client_group_members.c.group_id).where(
                client_group_members.c.client_id == duplicate.id
            )
        )
    )
    own_groups = set(
        session.scalars(
            select(client_group_members.c.group_id).where(
                client_group_members.c.client_id == survivor.id
            )
        )
    )
    moved_groups = sorted(dup_groups - own_groups)
    if dup_groups:
        session.execute(
            delete(client_group_members).where(client_group_members.c.client_id == duplicate.id)
        )
    if moved_groups:
        session.execute(
            insert(client_group_members),
            [{"group_id": g, "client_id": survivor.id} for g in moved_groups],
        )

    own_participations = {(p.exhibition_id, p.year) for p in survivor.competitor_participations}
    moved_participations, kept_participations = [], []
    for participation in list(duplicate.competitor_participations):
        if (participation.exhibition_id, participation.year) in own_participations:
            kept_participations.append(participation.id)
        else:
            moved_participations.append(participation.id)
            participation.client = survivor

    filled = _fill_fields(session, survivor, duplicate)

    repointed = list(session.scalars(select(Client).where(Client.merged_into_id == duplicate.id)))
    for earlier in repointed:
        earlier.merged_into_id = survivor.id

    duplicate.merged_into_id = survivor.id
    duplicate.merged_at = utcnow()
    session.flush()

    references = _other_references()
    before = {
        (table, column): _rows_of(session, table, column, duplicate.id)
        for table, column in references
    }
    hooks: dict[str, Any] = {
        signals.receiver_key(receiver): described
        for receiver, described in signals.client_merged.send(
            survivor, session=session, duplicate=duplicate, actor=actor
        )
    }
    session.flush()
    # What the hooks left behind moves here: deals, documents, payments, leads — every record of
    # a later capability that points to the duplicate now points to the survivor, so its card
    # shows the whole history. (Issued documents keep their frozen files and data: only the
    # link to the client record changes.)
    for (table, column), rows in before.items():
        left = _rows_of(session, table, column, duplicate.id) & rows
        if left:
            session.execute(
                update(table)
                .where(_pk_condition(table, sorted(left)), column == duplicate.id)
                .values({column.name: survivor.id})
            )
    if any(before.values()):
        session.expire_all()  # ORM objects of the moved rows may still hold the duplicate's id
    # "moved_by_hooks" (the name kept for the merge records already stored): every row moved to
    # the survivor, by a hook or above; the undo moves exactly these back.
    moved_by_hooks: dict[str, list] = {}
    left_on_duplicate: dict[str, list] = {}
    for (table, column), rows in before.items():
        if not rows:
            continue
        now_on_survivor = _rows_of(session, table, column, survivor.id) & rows
        still_on_duplicate = _rows_of(session, table, column, duplicate.id) & rows
        name = f"{table.name}.{column.name}"
        if now_on_survivor:
            moved_by_hooks[name] = sorted(now_on_survivor)
        if still_on_duplicate:
            left_on_duplicate[name] = sorted(still_on_duplicate)
    services.refresh_relationship(session, survivor)
    session.expire(survivor, ["groups"])
    session.expire(duplicate, ["groups"])

    details = {
        "survivor_id": survivor.id,
        "survivor_name": survivor.name,
        "duplicate_id": duplicate.id,
        "duplicate_name": duplicate.name,
        "contact_ids": contact_ids,
        "group_ids": moved_groups,
        "group_ids_already": sorted(dup_groups & own_groups),
        "participation_ids": moved_participations,
        "participation_ids_kept": kept_participations,
        "filled": filled,
        "repointed_ids": [c.id for c in repointed],
        "hooks": hooks,
        "moved_by_hooks": moved_by_hooks,
        "left_on_duplicate": left_on_duplicate,
    }
    audit.record(session, survivor, "merged", details)
    audit.record(session, duplicate, "merged_into", details)
    return MergeResult(
        survivor=survivor,
        duplicate=duplicate,
        contact_ids=contact_ids,
        group_ids=moved_groups,
        participation_ids=moved_participations,
        filled=filled,
        moved=moved_by_hooks,
    )


def merged_ids(session: Session, client: Client) -> list[int]:
    """The clients merged into `client` (they point to it)."""
    return list(
        session.scalars(
            select(Client.id).where(Client.merged_into_id == client.id).order_by(Client.id)
        )
    )


def resolve(session: Session, client_id: int) -> Client:
    """The live client behind an id: a merged record leads to the survivor (chains followed)."""
    client = session.get(Client, client_id)
    seen = set()
    while client is not None and client.merged_into_id is not None and client.id not in seen:
        seen.add(client.id)
        client = session.get(Client, client.merged_into_id)
    if client is None:
        raise NotFound("Контрагент не найден.")
    return client


# --- undoing a merge ----------------------------------------------------------------------------


def merge_record(session: Session, duplicate: Client) -> AuditEntry | None:
    """The audit row of the duplicate's latest merge (what moved), if it is merged."""
    if not duplicate.is_merged:
        return None
    return session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == Client.__tablename__,
            AuditEntry.entity_id == duplicate.id,
            AuditEntry.action == "merged_into",
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def unmerge_client(session: Session, duplicate: Client, *, actor: User) -> Client:
    """Undo the duplicate's merge from its audit row; returns the former survivor.

    What moved goes back if it is still on the survivor: contacts, participations, group
    memberships (the survivor leaves the groups it joined by the merge, the duplicate rejoins its
    own), re-pointed records, the rows the merge hooks moved (after the hooks' own undo, if they
    registered one). Fields filled on the survivor stay. Refused when the survivor has itself been
    merged since (undo that merge first).
    """
    if not has_permission(actor, Perm.CLIENTS_MERGE):
        raise PermissionDenied(
            "Отменять объединение могут руководитель ОП, специалисты ИАО и администратор."
        )
    if not duplicate.is_merged:
        raise Conflict(f"«{duplicate.name}» не объединён ни с какой записью.")
    entry = merge_record(session, duplicate)
    details = entry.changes if entry is not None and isinstance(entry.changes, dict) else {}
    survivor = session.get(Client, details.get("survivor_id") or -1)
    if survivor is None:
        raise Conflict(
            "Не найдена запись об объединении: отменить его автоматически нельзя. "
            "Состав записи виден в её истории изменений."
        )
    _lock(session, survivor, duplicate)
    if duplicate.merged_into_id != survivor.id or survivor.is_merged:
        target = session.get(Client, survivor.merged_into_id or duplicate.merged_into_id)
        raise Conflict(
            f"«{survivor.name}» с тех пор объединён с «{target.name if target else '?'}»: "
            "сначала отмените то объединение."
        )

    contacts = session.scalars(
        select(ContactPerson).where(
            ContactPerson.id.in_(details.get("contact_ids", [])),
            ContactPerson.client_id == survivor.id,
        )
    ).all()
    for contact in contacts:
        contact.client = duplicate

    participations = session.scalars(
        select(CompetitorParticipation).where(
            CompetitorParticipation.id.in_(details.get("participation_ids", [])),
            CompetitorParticipation.client_id == survivor.id,
        )
    ).all()
    for participation in participations:
        participation.client = duplicate

    joined = details.get("group_ids", [])
    if joined:
        session.execute(
            delete(client_group_members).where(
                client_group_members.c.client_id == survivor.id,
                client_group_members.c.group_id.in_(joined),
            )
        )
    rejoin = list(
        session.scalars(
            select(ClientGroup.id).where(
                ClientGroup.id.in_([*joined, *details.get("group_ids_already", [])])
            )
        )
    )
    if rejoin:
        session.execute(
            insert(client_group_members),
            [{"group_id": g, "client_id": duplicate.id} for g in sorted(rejoin)],
        )

    repointed = session.scalars(
        select(Client).where(
            Client.id.in_(details.get("repointed_ids", [])), Client.merged_into_id == survivor.id
        )
    ).all()
    for earlier in repointed:
        earlier.merged_into_id = duplicate.id

    duplicate.merged_into_id = None
    duplicate.merged_at = None
    session.flush()
    contact_ids = [c.id for c in contacts]
    participation_ids = [p.id for p in participations]
    repointed_ids = [c.id for c in repointed]
    signals.client_unmerged.send(
        survivor,
        session=session,
        duplicate=duplicate,
        actor=actor,
        descriptions=details.get("hooks", {}),
    )
    session.flush()
    moved_back: dict[str, int] = {}
    columns = {
        f"{table.name}.{column.name}": (table, column) for table, column in _other_references()
    }
    for name, pks in details.get("moved_by_hooks", {}).items():
        if name not in columns or not pks:
            continue
        table, column = columns[name]
        pks = [tuple(pk) if isinstance(pk, list) else pk for pk in pks]
        result = session.execute(
            update(table)
            .where(_pk_condition(table, pks), column == survivor.id)
            .values({column.name: duplicate.id})
        )
        moved_back[name] = result.rowcount or 0
    if moved_back:
        session.expire_all()  # ORM objects of those rows may still hold the survivor's id
    services.refresh_relationship(session, survivor)
    services.refresh_relationship(session, duplicate)
    session.expire(survivor, ["groups", "contacts", "competitor_participations"])
    session.expire(duplicate, ["groups", "contacts", "competitor_participations"])

    undone = {
        "survivor_id": survivor.id,
        "duplicate_id": duplicate.id,
        "merge_entry_id": entry.id if entry is not None else None,
        "contact_ids": contact_ids,
        "group_ids": sorted(rejoin),
        "participation_ids": participation_ids,
        "repointed_ids": repointed_ids,
        "moved_back_from_hooks": moved_back,
        "filled_kept": details.get("filled", {}),
    }
    audit.record(session, survivor, "unmerged", undone)
    audit.record(session, duplicate, "unmerged", undone)
    return survivor


def recent_merges(session: Session, *, limit: int = 20) -> list[tuple[Client, Client]]:
    """The latest merges as (duplicate, survivor), newest first: for the undo list."""
    survivor = aliased(Client)
    rows = session.execute(
        select(Client, survivor)
        .join(survivor, survivor.id == Client.merged_into_id)
        .order_by(Client.merged_at.desc(), Client.id.desc())
        .limit(limit)
    ).all()
    return [(dup, surv) for dup, surv in rows]
