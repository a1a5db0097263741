"""Who keeps budgets: the permission table says it (budgets.manage: admin, project manager);
services check it again so the API and CLI share the rule with the pages."""

from __future__ import annotations

from typing import Any

from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.errors import PermissionDenied


def can_manage(user: Any) -> bool:
    return has_permission(user, Perm.BUDGETS_MANAGE)


def require_keeper(actor: Any) -> None:
    if not can_manage(actor):
        raise PermissionDenied("Бюджеты ведут руководитель проекта и администратор.")
