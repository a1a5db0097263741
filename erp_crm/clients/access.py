"""Who may see and change which client: the record-level rules of the client base."""

from __future__ import annotations

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client, ClientGroup, ContactPerson, GroupKind


def can_view_client(user: User, client: Client) -> bool:
    """The base is shared: with clients.view every client is visible (read-only if not theirs)."""
    return has_permission(user, Perm.CLIENTS_VIEW)


def can_edit_client(user: User, client: Client) -> bool:
    if client.is_merged:
        return False
    if has_permission(user, Perm.CLIENTS_EDIT_ALL):
        return True
    return has_permission(user, Perm.CLIENTS_EDIT_OWN) and client.curator_id == user.id


def can_change_curator(user: User) -> bool:
    return has_permission(user, Perm.CLIENTS_EDIT_ALL) or has_permission(
        user, Perm.CLIENTS_REASSIGN
    )


def can_edit_contact(user: User, contact: ContactPerson) -> bool:
    """The client's editors, and the contact's own curator."""
    if contact.client.is_merged:
        return False
    if can_edit_client(user, contact.client):
        return True
    return has_permission(user, Perm.CLIENTS_EDIT_OWN) and contact.curator_id == user.id


def can_use_group(user: User, group: ClientGroup) -> bool:
    """See the group and filter by it: common groups for all, personal ones for their owner."""
    if group.kind == GroupKind.COMMON.value:
        return has_permission(user, Perm.CLIENTS_VIEW)
    return group.owner_id == user.id


def can_manage_group(user: User, group: ClientGroup) -> bool:
    """Rename, archive, add and remove members."""
    if group.kind == GroupKind.COMMON.value:
        return has_permission(user, Perm.GROUPS_MANAGE_COMMON)
    return group.owner_id == user.id and has_permission(user, Perm.GROUPS_PERSONAL)
