"""Undoing a merge from the duplicate's audit row (`signals.client_unmerged` first), and the
list of recent merges to undo."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, aliased

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import services
from erp_crm.clients.dedupe.merging import lock_clients, other_references, pk_condition
from erp_crm.clients.models import (
    Client,
    ClientGroup,
    CompetitorParticipation,
    ContactPerson,
    client_group_members,
)
from erp_crm.errors import Conflict, PermissionDenied


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
    lock_clients(session, survivor, duplicate)
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
        f"{table.name}.{column.name}": (table, column) for table, column in other_references()
    }
    for name, pks in details.get("moved_by_hooks", {}).items():
        if name not in columns or not pks:
            continue
        table, column = columns[name]
        pks = [tuple(pk) if isinstance(pk, list) else pk for pk in pks]
        result = session.execute(
            update(table)
            .where(pk_condition(table, pks), column == survivor.id)
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
