"""Duplicate candidates over the whole base, for the duplicates page and the API: ИНН twins and
shared channels by SQL, names compared with blocking (see `_name_signals`), scored, kept in a
short-lived cache and served a page at a time. Merged clients are never candidates."""

from __future__ import annotations

import bisect
import itertools
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from erp_crm.clients.dedupe.scoring import (
    DEFAULT_MIN_SCORE,
    MAX_CLIENTS_PER_CHANNEL,
    MIN_KEY_LENGTH,
    NAME_THRESHOLD,
    Evidence,
    inn_relation,
    name_keys,
    name_numbers,
)
from erp_crm.clients.models import (
    Client,
    ContactChannel,
    ContactPerson,
)


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


def _inn_signals(session: Session, evidence: dict[tuple[int, int], Evidence]) -> None:
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
            relation, _ = inn_relation(a.inn, a.kpp, b.inn, b.kpp)
            evidence[(a.id, b.id)].inn = relation


def _channel_signals(session: Session, evidence: dict[tuple[int, int], Evidence]) -> None:
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
    rows: Iterable[tuple[int, str, str | None]], evidence: dict[tuple[int, int], Evidence]
) -> None:
    """Near-identical names in the same city, compared only within small blocks.

    Only names of one normalized city are compared. Identical keys, in either form (see
    `name_keys`), pair at once. Other word-sorted keys are compared within two passes of blocks —
    the same first three letters, then the same last three — and only with keys whose length
    allows the threshold at all: names within the threshold differ by a typo or two, which leave
    one end of the key intact, and the comparisons stay far below n².
    """
    by_city: dict[str | None, list[tuple[int, tuple[str, str]]]] = defaultdict(list)
    for client_id, name, city_norm in rows:
        keys = name_keys(name)
        if len(keys[1]) >= MIN_KEY_LENGTH:
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
    evidence: dict[tuple[int, int], Evidence],
    city_known: bool,
) -> None:
    block.sort(key=len)
    lengths = [len(k) for k in block]
    numbers_of = {k: name_numbers(k) for k in block}
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
    evidence: dict[tuple[int, int], Evidence],
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
    evidence: dict[tuple[int, int], Evidence] = defaultdict(Evidence)
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
