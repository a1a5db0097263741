"""The batch write path of the client import: the services' rules, a few statements per batch.

`BatchWriter` applies the same cleaning, validation, curator and relationship rules as
`services.create_client` / `update_client` / `add_contact`, but:

- the per-row lookups of validation (is the curator active, who holds an external code) come from
  data preloaded once per batch;
- new clients, their contacts and contact channels are collected as transient objects and written
  by `flush()`, followed by their audit rows, built like the automatic audit writer's own
  `_row`/`_snapshot`, so the history pages and the client card's timeline show exactly what they
  show for a form's create. The ids of new clients and contacts are reserved first (PostgreSQL:
  `nextval` of the table's sequence; SQLite: after `max(id)`, which is how SQLite numbers rows
  anyway), so their children can reference them without RETURNING. Then each table gets one COPY
  on PostgreSQL (psycopg parses a multi-row INSERT of SQLAlchemy's insertmanyvalues in Python on
  every execute: a quarter of the import's time went there) and one executemany of a single-row
  INSERT on SQLite (with RETURNING in parameter order SQLite needs a statement per row);
- updates of existing clients stay ORM changes, flushed once per batch: the automatic audit writer
  records their diffs as for any update;
- the relationship type of a new client is derived without queries (a new client has no deals),
  that of existing ones from one grouped query per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, func, insert, inspect, select
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, contacts, services
from erp_crm.clients.models import Client, ContactChannel, ContactPerson, Readiness
from erp_crm.core import text
from erp_crm.db import utcnow
from erp_crm.errors import PermissionDenied, ValidationError

_CLIENT_TABLE: Table = Client.__table__  # type: ignore[assignment]
_CONTACT_TABLE: Table = ContactPerson.__table__  # type: ignore[assignment]
_CHANNEL_TABLE: Table = ContactChannel.__table__  # type: ignore[assignment]
_AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]
_SKIPPED = {"id", "created_at", "updated_at"}  # the id is reserved; timestamps set by flush()
_CLIENT_COLUMNS = [c.key for c in _CLIENT_TABLE.columns if c.key not in _SKIPPED]
_CONTACT_COLUMNS = [c.key for c in _CONTACT_TABLE.columns if c.key not in _SKIPPED]
_COLUMNS: dict[type, list[str]] = {Client: _CLIENT_COLUMNS, ContactPerson: _CONTACT_COLUMNS}
# What flush() writes of each table, in this order (COPY and INSERT alike).
_CLIENT_WRITE = ["id", *_CLIENT_COLUMNS, "created_at", "updated_at"]
_CONTACT_WRITE = ["id", *_CONTACT_COLUMNS, "created_at", "updated_at"]
_CHANNEL_WRITE = ["contact_id", "kind", "value"]
_AUDIT_WRITE = ["at", "actor_id", "entity_type", "entity_id", "action", "label", "changes"]
# audit._plain returns values of exactly these types unchanged (an enum, a str subclass, is not).
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})

EDIT_DENIED = "Изменять контрагента может его куратор, руководитель ОП или ИАО."
CURATOR_CHANGE_DENIED = "Сменить куратора может руководитель ОП или ИАО."
CONTACT_DENIED = "Добавлять контакты может куратор клиента, руководитель ОП или ИАО."


class NewRecord:
    """A client or contact the batch creates: plain attributes, no ORM instrumentation.

    It answers what matching, the access rules and the audit snapshot ask of a Client or a
    ContactPerson; `flush()` writes it and sets its id.
    """

    def __init__(self, model: type, **values: Any):
        self.__dict__.update(dict.fromkeys(_COLUMNS[model]), id=None, **values)
        self.model = model

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    def row(self, now: Any) -> tuple[Any, ...]:
        """The values of _CLIENT_WRITE / _CONTACT_WRITE."""
        values = self.__dict__
        return (values["id"], *[values[key] for key in _COLUMNS[self.model]], now, now)

    def audit_row(self, actor_id: int | None) -> dict[str, Any]:
        """What the automatic audit writer records for the create of such an object."""
        keys = _audit_keys(self.model)
        values = self.__dict__
        # audit._plain for what is not already plain (it is called ~20 times a row otherwise).
        snapshot = {
            key: value if type(value) in _PLAIN_TYPES else audit._plain(value)
            for key in keys
            for value in (values[key],)
        }
        if self.model is ContactPerson:
            snapshot.update(phones=list(self.phones), emails=list(self.emails))
        label = self.name if self.model is Client else self.full_name
        return {
            "at": utcnow(),
            "actor_id": actor_id,
            "entity_type": self.model.__tablename__,
            "entity_id": self.id,
            "action": "create",
            "label": (label or "")[:255],
            "changes": snapshot,
        }


_AUDIT_KEYS: dict[type, list[str]] = {}


def _audit_keys(model: type) -> list[str]:
    """audit.services._columns of the model, in the same order."""
    if model not in _AUDIT_KEYS:
        excluded = model.__audit_exclude__ | {"created_at", "updated_at"}
        _AUDIT_KEYS[model] = [
            attr.key for attr in inspect(model).column_attrs if attr.key not in excluded
        ]
    return _AUDIT_KEYS[model]


class ContactDenied(PermissionDenied):
    """The actor may write the client but not add its contact: the row is rejected whole."""


def active_user_ids(session: Session) -> set[int]:
    return set(session.scalars(select(User.id).where(User.is_active.is_(True))))


class BatchWriter:
    """Collects one batch's writes; `flush()` sends them. Use within the batch's transaction."""

    def __init__(self, session: Session, actor: User, existing: Iterable[Client] = ()):
        self.session = session
        self.actor = actor
        self.active_users = active_user_ids(session)
        self.can_create = has_permission(actor, Perm.CLIENTS_CREATE)
        self.can_change_curator = access.can_change_curator(actor)
        self.new_clients: list[NewRecord] = []
        self.new_contacts: list[tuple[NewRecord, Any]] = []
        self._pending: set[int] = set()  # id() of transient objects created by this batch
        self._sales: dict[int, int] | None = None
        self._open: set[int] = set()
        self._known: set[int] = set()  # the clients _sales and _open were asked for
        self._prepare_relationships({c.id for c in existing if c.id is not None})

    # -- rules

    def curator_active(self, user_id: int) -> bool:
        return user_id in self.active_users

    def is_pending(self, obj: Any) -> bool:
        """Created by this batch (written by flush() or still waiting): not in the session."""
        return id(obj) in self._pending

    def create_client(
        self,
        data: services.ClientData,
        *,
        external_id_owner: Any,
        with_contact: bool = False,
    ) -> Any:
        """services.create_client's rules: a NewRecord of a Client, written by flush()."""
        if not self.can_create:
            raise PermissionDenied()
        data = services.check_client(
            data,
            None,
            curator_active=self.curator_active,
            external_id_owner=external_id_owner,
        )
        if not self.can_change_curator:
            data.curator_id = self.actor.id
        client: Any = NewRecord(Client, created_by_id=self.actor.id)
        services._apply(client, data)
        # A new client has no deals: only its readiness can show interest.
        client.relationship_type = services.derive_relationship(
            0, client.readiness >= Readiness.CONSIDERING
        ).value
        if with_contact and not access.can_edit_client(self.actor, client):
            raise ContactDenied(CONTACT_DENIED)
        self.new_clients.append(client)
        self._pending.add(id(client))
        return client

    def update_client(
        self,
        client: Client,
        data: services.ClientData,
        *,
        external_id_owner: Any,
        with_contact: bool = False,
    ) -> Client:
        """services.update_client's rules; the change is flushed (and audited) by flush()."""
        if not access.can_edit_client(self.actor, client):
            raise PermissionDenied(EDIT_DENIED)
        data = services.check_client(
            data,
            client.id,
            curator_active=self.curator_active,
            external_id_owner=external_id_owner,
        )
        if data.curator_id != client.curator_id and not self.can_change_curator:
            raise ValidationError(fields={"curator_id": CURATOR_CHANGE_DENIED})
        if with_contact:
            after = Client(curator_id=data.curator_id, merged_into_id=client.merged_into_id)
            if not access.can_edit_client(self.actor, after):
                raise ContactDenied(CONTACT_DENIED)
        services._apply(client, data)
        self._refresh_relationship(client)
        return client

    def add_contact(
        self, client: Client, data: contacts.ContactData, phones: list[str], emails: list[str]
    ) -> Any:
        """contacts.add_contact with data validate_contact cleaned: a NewRecord, see flush()."""
        if not access.can_edit_client(self.actor, client):
            raise ContactDenied(CONTACT_DENIED)
        contact = NewRecord(
            ContactPerson,
            full_name=data.full_name,
            name_norm=text.normalize(data.full_name)[:300],
            position=data.position,
            birthday=data.birthday,
            notes=data.notes,
            curator_id=data.curator_id,
            is_active=True,
            phones=phones,
            emails=emails,
        )
        self.new_contacts.append((contact, client))
        self._pending.add(id(contact))
        return contact

    # -- relationship type

    def _prepare_relationships(self, ids: set[int]) -> None:
        """Won sales and open business of the batch's existing clients, asked once per batch
        (signals.client_sales: the deals area answers in two grouped queries)."""
        facts = services.sales_facts(self.session, ids)
        self._sales = {client_id: sales for client_id, (sales, _) in facts.items()}
        self._open = {client_id for client_id, (_, business) in facts.items() if business}
        self._known = ids

    def _refresh_relationship(self, client: Client) -> None:
        if self._sales is None or client.id not in self._known:
            services.refresh_relationship(self.session, client)
            return
        sales = self._sales.get(client.id, 0)
        interest = client.readiness >= Readiness.CONSIDERING or client.id in self._open
        client.relationship_type = services.derive_relationship(sales, interest).value

    # -- writing

    def flush(self) -> None:
        """Write what is collected: the new rows and their audit rows, then the ORM changes."""
        session = self.session
        connection = session.connection()
        actor_id = audit._actor_id(session)
        now = utcnow()  # created_at/updated_at of the new rows, as their column defaults would
        audit_rows: list[dict[str, Any]] = []
        if self.new_clients:
            clients, self.new_clients = self.new_clients, []
            ids = reserve_ids(connection, _CLIENT_TABLE, len(clients))
            for client, new_id in zip(clients, ids, strict=True):
                client.id = new_id
            write_rows(connection, _CLIENT_TABLE, _CLIENT_WRITE, [c.row(now) for c in clients])
            audit_rows.extend(c.audit_row(actor_id) for c in clients)
        if self.new_contacts:
            contacts, self.new_contacts = self.new_contacts, []
            ids = reserve_ids(connection, _CONTACT_TABLE, len(contacts))
            channels: list[tuple[Any, ...]] = []
            for (contact, client), new_id in zip(contacts, ids, strict=True):
                contact.id = new_id
                contact.client_id = client.id
                channels.extend((new_id, "phone", p) for p in contact.phones)
                channels.extend((new_id, "email", e) for e in contact.emails)
            rows = [contact.row(now) for contact, _ in contacts]
            write_rows(connection, _CONTACT_TABLE, _CONTACT_WRITE, rows)
            if channels:
                write_rows(connection, _CHANNEL_TABLE, _CHANNEL_WRITE, channels)
            audit_rows.extend(contact.audit_row(actor_id) for contact, _ in contacts)
        if audit_rows:
            # Clients first, then contacts: the order (and so the ids) of the INSERTs before.
            write_rows(
                connection,
                _AUDIT_TABLE,
                _AUDIT_WRITE,
                [tuple(row[key] for key in _AUDIT_WRITE) for row in audit_rows],
                json_columns=("changes",),
            )
        session.flush()  # updates of existing clients: audited by the automatic writer


# --- bulk writing helpers ---------------------------------------------------------------------


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids of `table`'s integer primary key "id", ascending, for rows about to be
    written with them.

    PostgreSQL: from the column's sequence, as an INSERT would take them (safe under concurrency).
    SQLite: the ids after the greatest one, which is what SQLite gives rows without an id (the
    tables have no AUTOINCREMENT); the caller's transaction writes them before anyone else can,
    as SQLite has one writer at a time.
    """
    if count <= 0:
        return []
    if connection.dialect.name == "postgresql":
        query = sql_text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return sorted(connection.execute(query, {"table": table.name, "n": count}).scalars())
    last = connection.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(last + 1, last + 1 + count))


def write_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    json_columns: Sequence[str] = (),
) -> None:
    """INSERT `rows` (tuples of `columns`' values) into `table` in one go.

    PostgreSQL: COPY FROM STDIN on the session's own connection (same transaction); a database
    error is raised as SQLAlchemy's (IntegrityError, DataError…), so callers' handling of a failed
    INSERT applies unchanged. SQLite: one executemany of a single-row INSERT, the values converted
    by the columns' own bind processors (what SQLAlchemy would store) but without its per-row
    parameter building, a tenth of the import's time on SQLite. Elsewhere: SQLAlchemy's
    executemany INSERT.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy_rows(connection, table, columns, rows, json_columns)
    elif dialect.name == "sqlite" and dialect.paramstyle == "qmark":
        _executemany_rows(connection, table, columns, rows)
    else:
        keys = list(columns)
        connection.execute(insert(table), [dict(zip(keys, row, strict=True)) for row in rows])


def _executemany_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    # Identifiers come from the table's metadata (quoted); every value is a bound parameter.
    names = ", ".join(preparer.quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {preparer.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608
    # The processors SQLAlchemy's compiled INSERT applies (datetimes to SQLite's text format,
    # booleans to 0/1, JSON to text); columns without one take the value as it is.
    processors = [
        (index, processor)
        for index, name in enumerate(columns)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        is not None
    ]
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for index, processor in processors:
                values[index] = processor(values[index])
            converted.append(tuple(values))
        rows = converted
    # exec_driver_sql: SQLAlchemy's error wrapping and events, the DBAPI's executemany.
    connection.exec_driver_sql(statement, list(rows))


def _copy_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    json_columns: Sequence[str],
) -> None:
    import psycopg
    from psycopg.types.json import Json

    preparer = connection.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) "
        "FROM STDIN"
    )
    wrap = [index for index, name in enumerate(columns) if name in json_columns]
    # The driver connection of the session's connection: COPY joins its open transaction. JSON
    # goes in psycopg's Json, as SQLAlchemy's JSON type sends it (the connection's json dumps).
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                if wrap:
                    row = list(row)
                    for index in wrap:
                        row[index] = Json(row[index])
                copy.write_row(row)
    except psycopg.Error as err:
        raise DBAPIError.instance(
            statement, None, err, psycopg.Error, dialect=connection.dialect
        ) from err
