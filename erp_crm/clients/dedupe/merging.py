"""Merging a duplicate into the client that stays: everything of the duplicate moves to the
survivor, `signals.client_merged` receivers move the later capabilities' records, and the
duplicate is kept as a pointer (`merged_into_id`); the audit rows of both records say what moved,
which is what unmerging.py reads to move it back. Services never commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import services
from erp_crm.clients.models import Client, ClientKind, client_group_members
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError

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


def other_references() -> list[tuple[Table, Column]]:
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


def pk_condition(table: Table, pks: list) -> Any:
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


def lock_clients(session: Session, *clients: Client) -> None:
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
    lock_clients(session, survivor, duplicate)
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

    references = other_references()
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
                .where(pk_condition(table, sorted(left)), column == duplicate.id)
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
