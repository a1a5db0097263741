"""Who may do what with projects and stands beyond the plain permission table.

Reserving and releasing act on a deal: a manager acts for their own deals, a head of sales
(deals.all) for any deal of the department.
"""

from __future__ import annotations

from typing import Any

from erp_crm.auth.permissions import Perm, has_permission


def can_manage_projects(user: Any) -> bool:
    return has_permission(user, Perm.PROJECTS_MANAGE)


def can_manage_plans(user: Any) -> bool:
    return has_permission(user, Perm.PLANS_MANAGE)


def can_hold_stands(user: Any) -> bool:
    """May reserve stands (for deals they work) and release such holds."""
    return has_permission(user, Perm.DEALS_WORK) or has_permission(user, Perm.DEALS_ALL)


def can_act_for_deal(user: Any, deal: Any) -> bool:
    """Reserve for / release the hold of this deal: its manager, or anyone with deals.all."""
    if has_permission(user, Perm.DEALS_ALL):
        return True
    return has_permission(user, Perm.DEALS_WORK) and deal.manager_id == getattr(user, "id", None)
