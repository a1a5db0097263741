"""The batch write path of the client import: the services' rules, a few statements per batch.

`BatchWriter` applies the same cleaning, validation, curator and relationship rules as
`services.create_client` / `update_client` / `add_contact`, but:

- the per-row lookups of validation (is the curator active, who holds an external code) come from
  data preloaded once per batch;
- new clients, their contacts and contact channels are collected as transient objects and written
  by `flush()` with one executemany INSERT per table (RETURNING the ids, in order), followed by one
  INSERT of their audit rows, built by the automatic audit writer's own `_row`/`_snapshot`, so the
  history pages and the client card's timeline show exactly what they show for a form's create;
- updates of existing clients stay ORM changes, flushed once per batch: the automatic audit writer
  records their diffs as for any update;
- the relationship type of a new client is derived without queries (a new client has no deals),
  that of existing ones from one grouped query per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, inspect, select
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, services
from erp_crm.clients.models import Client, ContactChannel, ContactPerson, Readiness
from erp_crm.core import text
from erp_crm.db import utcnow
from erp_crm.errors import PermissionDenied, ValidationError

_CLIENT_TABLE = Client.__table__
_CONTACT_TABLE = ContactPerson.__table__
_CHANNEL_TABLE = ContactChannel.__table__
_SKIPPED = {"id", "created_at", "updated_at"}  # the id is returned; timestamps are defaults
_CLIENT_COLUMNS = [c.key for c in _CLIENT_TABLE.columns if c.key not in _SKIPPED]
_CONTACT_COLUMNS = [c.key for c in _CONTACT_TABLE.columns if c.key not in _SKIPPED]
_COLUMNS: dict[type, list[str]] = {Client: _CLIENT_COLUMNS, ContactPerson: _CONTACT_COLUMNS}

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

    def values(self) -> dict[str, Any]:
        return {key: self.__dict__[key] for key in _COLUMNS[self.model]}

    def audit_row(self, actor_id: int | None) -> dict[str, Any]:
        """What the automatic audit writer records for the create of such an object."""
        keys = _audit_keys(self.model)
        snapshot = {key: audit._plain(self.__dict__[key]) for key in keys}
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
        self, client: Client, data: services.ContactData, phones: list[str], emails: list[str]
    ) -> Any:
        """services.add_contact with data validate_contact cleaned: a NewRecord, see flush()."""
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
        """Won deals and open deals of the batch's existing clients, in two grouped queries."""
        counters, sources = services.sales_counters, services.interest_sources
        if not counters and not sources:
            self._sales, self._open = {}, set()
            return
        try:
            from erp_crm.deals import services as deal_services
            from erp_crm.deals.models import Deal, Outcome
        except ImportError:  # pragma: no cover - deals ship with the app
            return
        if counters != [deal_services.won_deals_count] or sources != [deal_services.has_open_deal]:
            return  # unknown hooks: asked client by client (services.refresh_relationship)
        self._sales, self._open = {}, set()
        if not ids:
            return
        query = (
            select(Deal.client_id, func.count())
            .where(Deal.client_id.in_(ids), Deal.outcome == Outcome.WON.value)
            .group_by(Deal.client_id)
        )
        self._sales = {client_id: count for client_id, count in self.session.execute(query)}
        query = (
            select(Deal.client_id)
            .where(Deal.client_id.in_(ids), Deal.outcome == Outcome.OPEN.value)
            .distinct()
        )
        self._open = set(self.session.scalars(query))
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
        """Write what is collected: INSERTs with RETURNING, audit rows, then the ORM changes."""
        session = self.session
        connection = session.connection()
        actor_id = audit._actor_id(session)
        rows: list[dict[str, Any]] = []
        if self.new_clients:
            statement = insert(_CLIENT_TABLE).returning(
                _CLIENT_TABLE.c.id, sort_by_parameter_order=True
            )
            values = [c.values() for c in self.new_clients]
            ids = connection.execute(statement, values).scalars().all()
            for client, new_id in zip(self.new_clients, ids, strict=True):
                client.id = new_id
                rows.append(client.audit_row(actor_id))
            self.new_clients = []
        if self.new_contacts:
            statement = insert(_CONTACT_TABLE).returning(
                _CONTACT_TABLE.c.id, sort_by_parameter_order=True
            )
            values = []
            for contact, client in self.new_contacts:
                contact.client_id = client.id
                values.append(contact.values())
            ids = connection.execute(statement, values).scalars().all()
            channels = []
            for (contact, _), new_id in zip(self.new_contacts, ids, strict=True):
                contact.id = new_id
                channels.extend(
                    {"contact_id": new_id, "kind": "phone", "value": p} for p in contact.phones
                )
                channels.extend(
                    {"contact_id": new_id, "kind": "email", "value": e} for e in contact.emails
                )
                rows.append(contact.audit_row(actor_id))
            if channels:
                connection.execute(insert(_CHANNEL_TABLE), channels)
            self.new_contacts = []
        if rows:
            connection.execute(insert(AuditEntry), rows)
        session.flush()  # updates of existing clients: audited by the automatic writer
