"""Who may do what with projects and stands beyond the plain permission table.

Which deal a person may reserve for is the deals area's rule (deals/access.py).
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
