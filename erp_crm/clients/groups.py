"""Client groups: common ones kept by analysts and the head of sales, personal ones of a manager."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access
from erp_crm.clients.models import (
    GROUP_CATEGORY_LABELS,
    Client,
    ClientGroup,
    GroupKind,
    client_group_members,
)
from erp_crm.errors import NotFound, PermissionDenied, ValidationError


def visible_groups(
    session: Session, actor: User, *, include_archived: bool = False
) -> list[ClientGroup]:
    query = select(ClientGroup).where(
        or_(
            ClientGroup.kind == GroupKind.COMMON.value,
            (ClientGroup.kind == GroupKind.PERSONAL.value) & (ClientGroup.owner_id == actor.id),
        )
    )
    if not include_archived:
        query = query.where(ClientGroup.is_active.is_(True))
    return list(
        session.scalars(query.order_by(ClientGroup.kind, ClientGroup.category, ClientGroup.name))
    )


def get_group(session: Session, group_id: int, *, actor: User) -> ClientGroup:
    group = session.get(ClientGroup, group_id)
    if group is None or not access.can_use_group(actor, group):
        raise NotFound("Группа не найдена.")
    return group


def _validate(name: str, kind: str, category: str) -> dict[str, str]:
    errors = {}
    if not (name or "").strip():
        errors["name"] = "Укажите название группы."
    if kind not in {k.value for k in GroupKind}:
        errors["kind"] = "Выберите: общая или личная группа."
    if category not in GROUP_CATEGORY_LABELS:
        errors["category"] = "Выберите вид группы."
    return errors


def create_group(
    session: Session,
    *,
    name: str,
    kind: str,
    category: str = "other",
    description: str | None = None,
    actor: User,
) -> ClientGroup:
    errors = _validate(name, kind, category)
    if errors:
        raise ValidationError(fields=errors)
    if kind == GroupKind.COMMON.value and not has_permission(actor, Perm.GROUPS_MANAGE_COMMON):
        raise PermissionDenied("Общие группы ведут специалисты ИАО и руководитель ОП.")
    if kind == GroupKind.PERSONAL.value and not has_permission(actor, Perm.GROUPS_PERSONAL):
        raise PermissionDenied()
    group = ClientGroup(
        name=name.strip(),
        kind=kind,
        category=category,
        description=(description or "").strip() or None,
        owner_id=actor.id if kind == GroupKind.PERSONAL.value else None,
    )
    session.add(group)
    session.flush()
    return group


def update_group(
    session: Session,
    group: ClientGroup,
    *,
    name: str,
    category: str,
    description: str | None,
    is_active: bool,
    actor: User,
) -> ClientGroup:
    if not access.can_manage_group(actor, group):
        raise PermissionDenied()
    errors = _validate(name, group.kind, category)
    if errors:
        raise ValidationError(fields=errors)
    group.name = name.strip()
    group.category = category
    group.description = (description or "").strip() or None
    group.is_active = is_active
    session.flush()
    return group


def _checked_ids(session: Session, client_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in client_ids})
    if not ids:
        raise ValidationError("Отметьте хотя бы одного контрагента.")
    found = set(
        session.scalars(
            select(Client.id).where(Client.id.in_(ids), Client.merged_into_id.is_(None))
        )
    )
    return [i for i in ids if i in found]


def add_to_group(
    session: Session, group: ClientGroup, client_ids: Iterable[int], *, actor: User
) -> int:
    """Add clients in bulk; returns how many were not in the group yet."""
    if not access.can_manage_group(actor, group):
        raise PermissionDenied("В эту группу добавлять клиентов вы не можете.")
    ids = _checked_ids(session, client_ids)
    present = set(
        session.scalars(
            select(client_group_members.c.client_id).where(
                client_group_members.c.group_id == group.id,
                client_group_members.c.client_id.in_(ids),
            )
        )
    )
    new = [i for i in ids if i not in present]
    if new:
        session.execute(
            insert(client_group_members), [{"group_id": group.id, "client_id": i} for i in new]
        )
        audit.record(session, group, "members_added", {"client_ids": new})
    session.expire(group, ["clients"])
    return len(new)


def remove_from_group(
    session: Session, group: ClientGroup, client_ids: Iterable[int], *, actor: User
) -> int:
    if not access.can_manage_group(actor, group):
        raise PermissionDenied("Из этой группы удалять клиентов вы не можете.")
    ids = _checked_ids(session, client_ids)
    removed = session.execute(
        delete(client_group_members).where(
            client_group_members.c.group_id == group.id, client_group_members.c.client_id.in_(ids)
        )
    ).rowcount
    if removed:
        audit.record(session, group, "members_removed", {"client_ids": ids})
    session.expire(group, ["clients"])
    return removed or 0
