"""Record-level rules of the deals area: who may see, work, and book stands for which deal."""

from __future__ import annotations

from typing import Any

from erp_crm.auth.permissions import Perm, has_permission


def can_view_deal(user: Any, deal: Any) -> bool:
    return has_permission(user, Perm.DEALS_VIEW)


def can_work_deal(user: Any, deal: Any) -> bool:
    return can_work_deal_of(user, deal.manager_id)


def can_work_deal_of(user: Any, manager_id: int) -> bool:
    """The rule behind can_work_deal, for lists that hold only the deal's manager id."""
    if has_permission(user, Perm.DEALS_ALL):
        return True
    return has_permission(user, Perm.DEALS_WORK) and manager_id == user.id


def can_act_for_deal(user: Any, deal: Any) -> bool:
    """Reserve for / release the hold of this deal: its manager, or anyone with deals.all."""
    if has_permission(user, Perm.DEALS_ALL):
        return True
    return has_permission(user, Perm.DEALS_WORK) and deal.manager_id == getattr(user, "id", None)
