"""Matching: which existing client a row is, the base seen as the rows before it left it.

A row is matched against the client base as the rows above it in the file have left it: a
client whose ИНН, КПП, external id or name an earlier row changed is found by the new values
(and no longer by the old ones), a client an earlier row created is found like any other. The
real run writes every batch before the next one is looked up, so across batches the database
has it; within a batch `Batch` keeps its indexes current as rows are applied. The dry run
writes nothing: `Overlay` remembers, for the whole file, the clients it would have created and
the identifying fields it would have changed, and every batch adds them to what it finds in
the database. So the dry run predicts what the run will do.

Rows are matched by external id first, then by ИНН+КПП (an ИНН without КПП matches a client
with that ИНН and no КПП); a row with neither by its normalized name (and city, when both have
one). A row whose external id and ИНН+КПП point to two different clients is rejected. Lookups
are made per batch (IN (...)), not per row.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from erp_crm.clients import services
from erp_crm.clients.importing.rows import ParsedRow
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.core import text


def _req_key(inn: str | None, kpp: str | None) -> tuple[str, str | None] | None:
    return (inn, kpp or None) if inn else None


def _push(index: dict[Any, Any], key: Any, item: Any) -> None:
    """Add to a key's entries: the item itself while it is the only one, else a list."""
    held = index.get(key)
    if held is None:
        index[key] = item
    elif type(held) is list:
        held.append(item)
    else:
        index[key] = [held, item]


def _drop(index: dict[Any, Any], key: Any, item: Any) -> None:
    held = index.get(key)
    if held is item:
        del index[key]
    elif type(held) is list:
        rest = [x for x in held if x is not item]
        if len(rest) == 1:
            index[key] = rest[0]
        elif rest:
            index[key] = rest
        else:
            del index[key]


def _entries(index: dict[Any, Any], key: Any) -> list[Any]:
    held = index.get(key)
    if held is None:
        return []
    return list(held) if type(held) is list else [held]


class Shadow:
    """The dry run's picture of a client after the rows so far: one the file would create (id
    None) or an existing one whose fields a row would change (its id). It keeps what matching,
    the access rules and the cross-field checks of a later row need, not the whole client."""

    # fmt: off
    FIELDS = (
        "external_id", "inn", "kpp", "ogrn", "kind", "name", "full_name", "city", "curator_id",
    )
    # fmt: on
    __slots__ = (*FIELDS, "id", "seq")
    merged_into_id = None
    is_merged = False

    def __init__(self, client_id: int | None, seq: int, data: services.ClientData):
        self.id = client_id
        self.seq = seq
        self.set(self.values_of(data))

    # As services._apply derives them; computed when asked (a file with an ИНН in every row
    # never asks), not kept: a dry run of 100 000 new clients keeps 100 000 shadows.
    @property
    def name_norm(self) -> str:
        return services.name_norm(self.name, self.full_name)

    @property
    def city_norm(self) -> str | None:
        return services.city_norm(self.city)

    @classmethod
    def values_of(cls, obj: Any) -> tuple[Any, ...]:
        return tuple(getattr(obj, name) for name in cls.FIELDS)

    def values(self) -> tuple[Any, ...]:
        return self.values_of(self)

    def set(self, values: tuple[Any, ...]) -> None:
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)

    def applied_to(self, data: services.ClientData) -> services.ClientData:
        return replace(data, **{name: getattr(self, name) for name in self.FIELDS})

    def data(self) -> services.ClientData:
        return services.ClientData(**{name: getattr(self, name) for name in self.FIELDS})


class Overlay:
    """The dry run's memory of the file so far (see above): shadows of the clients it would
    create and of the existing ones whose fields it would change, by external id, ИНН and name.

    Changes are journaled per batch, so a batch (or a row) that fails is taken back. The index
    by name is built when a batch first has rows matched by name (most files have none).
    """

    def __init__(self) -> None:
        self.overrides: dict[int, Shadow] = {}  # existing client id -> its shadow
        self.by_ext: dict[str, Shadow] = {}
        self.by_inn: dict[str, Any] = {}  # ИНН -> a shadow or a list of them (_push)
        self.by_name: dict[str, Any] | None = None  # name_norm -> the same; None: not built
        self.seq = 0
        self._journal: list[tuple[Shadow, tuple[Any, ...] | None]] = []

    def find(self, ext_ids: set[str], inns: set[str], names: set[str]) -> list[Shadow]:
        """The shadows holding any of these keys."""
        if names and self.by_name is None:
            self._build_name_index()
        found: dict[int, Shadow] = {}
        for code in ext_ids:
            if (shadow := self.by_ext.get(code)) is not None:
                found[id(shadow)] = shadow
        for index, keys in ((self.by_inn, inns), (self.by_name or {}, names)):
            for key in keys:
                found.update((id(s), s) for s in _entries(index, key))
        return sorted(found.values(), key=lambda s: s.seq)

    def _build_name_index(self) -> None:
        # Every shadow so far has a code or an ИНН: one with neither comes from a row matched
        # by name, whose batch built the index before it was applied. Overrides: for certainty.
        everyone: dict[int, Shadow] = {id(s): s for s in self.overrides.values()}
        everyone.update((id(s), s) for s in self.by_ext.values())
        for held in self.by_inn.values():
            everyone.update((id(s), s) for s in (held if type(held) is list else [held]))
        self.by_name = {}
        for shadow in sorted(everyone.values(), key=lambda s: s.seq):
            _push(self.by_name, shadow.name_norm, shadow)

    def add(self, client_id: int | None, data: services.ClientData) -> Shadow:
        self.seq += 1
        shadow = Shadow(client_id, self.seq, data)
        if client_id is not None:
            self.overrides[client_id] = shadow
        self._index(shadow)
        self._journal.append((shadow, None))
        return shadow

    def change(self, shadow: Shadow, data: services.ClientData) -> None:
        self._journal.append((shadow, shadow.values()))
        self._unindex(shadow)
        shadow.set(Shadow.values_of(data))
        self._index(shadow)

    def _index(self, shadow: Shadow) -> None:
        if shadow.external_id:
            self.by_ext[shadow.external_id] = shadow
        if shadow.inn:
            _push(self.by_inn, shadow.inn, shadow)
        if self.by_name is not None:
            _push(self.by_name, shadow.name_norm, shadow)

    def _unindex(self, shadow: Shadow) -> None:
        if shadow.external_id and self.by_ext.get(shadow.external_id) is shadow:
            del self.by_ext[shadow.external_id]
        if shadow.inn:
            _drop(self.by_inn, shadow.inn, shadow)
        if self.by_name is not None:
            _drop(self.by_name, shadow.name_norm, shadow)

    def mark(self) -> int:
        return len(self._journal)

    def undo(self, mark: int = 0) -> None:
        """Take back the changes journaled since `mark` (begin() clears the journal)."""
        while len(self._journal) > mark:
            shadow, values = self._journal.pop()
            self._unindex(shadow)
            if values is None:
                if shadow.id is not None:
                    self.overrides.pop(shadow.id, None)
            else:
                shadow.set(values)
                self._index(shadow)

    def begin(self) -> None:
        self._journal.clear()


class Batch:
    """The clients (and their contacts) a batch of rows may touch, looked up with IN (...), and
    indexed by their external id, ИНН+КПП and name as the rows before have left them.

    Entries are the session's clients, the `bulk.NewRecord`s this batch creates (the run) and the
    overlay's shadows of clients the file creates (the dry run). `state(entry)` is what a row
    sees of an entry: the dry run's shadow of an existing client it changed, else the entry.
    """

    def __init__(
        self,
        session: Session,
        rows: list[ParsedRow],
        *,
        overlay: Overlay | None = None,
        with_contacts: bool = True,
    ):
        ext_ids = {r.external_id for r in rows if r.external_id}
        inns = {r.requisites[0] for r in rows if r.requisites}
        names = {r.name_key for r in rows if r.name_key}
        self.overrides: dict[int, Shadow] = overlay.overrides if overlay is not None else {}
        self.by_ext: dict[str, Any] = {}
        self.by_req: dict[tuple[str, str | None], list[Any]] = {}
        self.by_name: dict[str, list[Any]] = {}
        self._keys: dict[int, tuple[Any, Any, Any]] = {}  # id(entry) -> the keys it is under
        self._names = bool(names)  # by_name is asked only for rows matched by name
        loaded: dict[int, Client] = {}
        if ext_ids:
            for client in session.scalars(select(Client).where(Client.external_id.in_(ext_ids))):
                loaded[client.id] = client
        if inns:
            query = select(Client).where(Client.inn.in_(inns), Client.merged_into_id.is_(None))
            loaded.update((c.id, c) for c in session.scalars(query))
        if names:
            query = select(Client).where(
                Client.name_norm.in_(names), Client.merged_into_id.is_(None)
            )
            loaded.update((c.id, c) for c in session.scalars(query))
        shadows = overlay.find(ext_ids, inns, names) if overlay is not None else []
        # Existing clients the dry run changed so that they now hold a key of these rows.
        missing = {s.id for s in shadows if s.id is not None and s.id not in loaded}
        if missing:
            query = select(Client).where(Client.id.in_(missing))
            loaded.update((c.id, c) for c in session.scalars(query))
        self.survivors = self._survivors(session, [c for c in loaded.values() if c.merged_into_id])
        loaded.update((c.id, c) for c in self.survivors.values())
        self.loaded = [loaded[key] for key in sorted(loaded)]
        for client in self.loaded:
            self._index(client)
        for shadow in shadows:
            if shadow.id is None:
                self._index(shadow)
        self.contacts: dict[int, dict[str, ContactPerson]] = {}
        if with_contacts and self.loaded:
            query = (
                select(ContactPerson)
                .where(ContactPerson.client_id.in_([c.id for c in self.loaded]))
                .options(selectinload(ContactPerson.channels))
                .order_by(ContactPerson.id)
            )
            for contact in session.scalars(query):
                self.contacts.setdefault(contact.client_id, {}).setdefault(
                    contact.name_norm, contact
                )

    def _survivors(self, session: Session, merged: list[Client]) -> dict[int, Client]:
        """Merged clients found by external id -> the client they were merged into."""
        result: dict[int, Client] = {}
        pending = {c.id: c.merged_into_id for c in merged}
        for _ in range(5):  # merge chains are short
            if not pending:
                break
            found = {
                c.id: c
                for c in session.scalars(select(Client).where(Client.id.in_(set(pending.values()))))
            }
            next_pending = {}
            for origin, target_id in pending.items():
                target = found.get(target_id)  # type: ignore[arg-type]
                if target is None:
                    continue
                if target.merged_into_id:
                    next_pending[origin] = target.merged_into_id
                else:
                    result[origin] = target
            pending = next_pending
        return result

    def state(self, entry: Any) -> Any:
        """The entry as the rows so far have left it (the dry run's shadow of its changes)."""
        if self.overrides and entry.id is not None:
            return self.overrides.get(entry.id, entry)
        return entry

    def _keys_of(self, entry: Any) -> tuple[Any, Any, Any]:
        """(external id, (ИНН, КПП), name_norm) the entry is found by; a merged client by its
        code only, to lead to the survivor."""
        state = self.state(entry)
        if state.merged_into_id:
            return state.external_id, None, None
        name = state.name_norm if self._names else None
        return state.external_id, _req_key(state.inn, state.kpp), name

    def _index(self, entry: Any, keys: tuple[Any, Any, Any] | None = None) -> None:
        ext, req, name = keys = keys or self._keys_of(entry)
        if ext:
            self.by_ext[ext] = entry
        if req:
            self.by_req.setdefault(req, []).append(entry)
        if name is not None:
            self.by_name.setdefault(name, []).append(entry)
        self._keys[id(entry)] = keys

    def reindex(self, entry: Any) -> None:
        """After a row changed the entry: found by its new keys, no longer by the old ones."""
        keys = self._keys_of(entry)
        old = self._keys.get(id(entry))
        if old == keys:
            return
        if old is not None:
            ext, req, name = old
            if ext and self.by_ext.get(ext) is entry:
                del self.by_ext[ext]
            for index, key in ((self.by_req, req), (self.by_name, name)):
                if key is not None and key in index:
                    index[key] = [e for e in index[key] if e is not entry]
        self._index(entry, keys)

    def remember(self, client: Any) -> None:
        """A client this batch (or, for the dry run, the file) creates."""
        self._index(client)
        if client.id is not None:
            self.contacts.setdefault(client.id, {})

    def existing(self) -> list[Client]:
        """The clients of the database the batch found."""
        return list(self.loaded)

    def replace(self, old: Any, new: Client) -> None:
        """A client the batch created (written now) is continued as the session's object."""
        for key, client in list(self.by_ext.items()):
            if client is old:
                self.by_ext[key] = new
        for index in (self.by_req, self.by_name):
            for clients in index.values():
                for position, client in enumerate(clients):
                    if client is old:
                        clients[position] = new
        if (keys := self._keys.pop(id(old), None)) is not None:
            self._keys[id(new)] = keys

    def reload_contacts(self, session: Session, client_id: int) -> None:
        query = (
            select(ContactPerson)
            .where(ContactPerson.client_id == client_id)
            .options(selectinload(ContactPerson.channels))
            .order_by(ContactPerson.id)
        )
        known: dict[str, ContactPerson] = {}
        for contact in session.scalars(query):
            known.setdefault(contact.name_norm, contact)
        self.contacts[client_id] = known

    def external_id_owner(self, external_id: str) -> int | None:
        """Who holds a code: the batch looked every code of its rows up (and keeps new ones)."""
        client = self.by_ext.get(external_id)
        if client is None:
            return None
        return client.id if client.id is not None else -1


def _quoted(batch: Batch, entry: Any) -> str:
    return f"«{batch.state(entry).name}»"


def _numbers(batch: Batch, found: list[Any]) -> str:
    return ", ".join(f"№ {c.id}" if c.id is not None else _quoted(batch, c) for c in found[:5])


def find_target(row: ParsedRow, batch: Batch) -> tuple[Any, dict[str, str]]:
    """The matched client (or the dry run's shadow of one the file creates), or None (a new
    one); or errors. The batch's indexes show the base as the rows before left it."""
    ext = row.external_id
    if ext:
        client = batch.by_ext.get(ext)
        if client is not None:
            if client.merged_into_id:
                survivor = batch.survivors.get(client.id)
                if survivor is None:
                    return None, {"external_id": "Контрагент с этим кодом объединён с другим."}
                row.changes.pop("external_id", None)  # the survivor keeps its own code
                client = survivor
            return _requisites_clash(row, ext, client, batch)
    key = row.requisites
    if key:
        found = batch.by_req.get(key, [])
        if len(found) > 1:
            numbers = _numbers(batch, found)
            return None, {
                "inn": f"В базе несколько контрагентов с этими ИНН/КПП ({numbers}): объедините "
                "дубли или укажите внешний код."
            }
        if found:
            client = found[0]
            code = batch.state(client).external_id
            if ext and code and code != ext:
                number = f"№ {client.id}" if client.id is not None else _quoted(batch, client)
                return None, {
                    "external_id": f"У контрагента {number} с этими ИНН/КПП другой "
                    f"внешний код: {code}."
                }
            return client, {}
    name = row.name_key
    if name:
        city = text.normalize(row.changes.get("city")) or None
        found = [
            c
            for c in batch.by_name.get(name, [])
            if not city or not (c_city := batch.state(c).city_norm) or c_city == city
        ]
        if len(found) > 1:
            return None, {
                "name": "В базе несколько контрагентов с таким наименованием "
                f"({_numbers(batch, found)}): укажите ИНН или внешний код."
            }
        if found:
            return found[0], {}
    return None, {}


def _requisites_clash(
    row: ParsedRow, ext: str, client: Any, batch: Batch
) -> tuple[Any, dict[str, str]]:
    """A row found by its external id: rejected when its ИНН/КПП would give the client the
    requisites of another one (the file's ИНН+КПП points to another client)."""
    key = row.requisites
    if key is None:
        return client, {}
    state = batch.state(client)
    current = _req_key(state.inn, state.kpp)
    after = _req_key(key[0], key[1] if "kpp" in row.changes else state.kpp)
    if after == current:
        return client, {}  # the row leaves the requisites as they are
    others: list[Any] = []
    for found in (batch.by_req.get(key, []), batch.by_req.get(after, [])):  # type: ignore[arg-type]
        others.extend(c for c in found if c is not client and all(c is not o for o in others))
    if not others:
        return client, {}
    holders = ", ".join(_quoted(batch, c) for c in others[:3])
    return None, {
        "external_id": f"Внешний код {ext} у {_quoted(batch, client)}, а ИНН/КПП — у "
        f"{holders}: строка не загружена."
    }
