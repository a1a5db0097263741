"""Who may see, issue, cancel and correct which sales document: the record-level rules.

Built on the permission table (`auth/permissions.py`) and the deals' own rule (a manager works
their deals): the pages ask `can_*` to show the buttons, the services `ensure*` to refuse.
"""

from __future__ import annotations

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.deals import access as deal_access
from erp_crm.deals.models import Deal
from erp_crm.errors import PermissionDenied
from erp_crm.sales_documents.models import Document, DocumentStatus


def can_view_documents(user: User) -> bool:
    return has_permission(user, Perm.DOCUMENTS_VIEW)


def can_issue(user: User, deal: Deal) -> bool:
    if has_permission(user, Perm.DOCUMENTS_MANAGE):
        return True
    return has_permission(user, Perm.DOCUMENTS_ISSUE) and deal_access.can_work_deal(user, deal)


def can_change(user: User, document: Document, deal: Deal) -> bool:
    """Cancel or correct: managers for their deals until signed; accountants/head always."""
    if has_permission(user, Perm.DOCUMENTS_MANAGE):
        return True
    return can_issue(user, deal) and document.status in (
        DocumentStatus.ISSUED.value,
        DocumentStatus.SENT.value,
    )


def ensure_can_change(actor: User, document: Document, deal: Deal) -> None:
    if not can_issue(actor, deal):
        raise PermissionDenied(
            "Документы этой сделки меняет её менеджер, руководитель ОП или бухгалтер."
        )
    ensure(
        can_change(actor, document, deal),
        "Подписанный документ аннулирует или исправляет бухгалтер или руководитель ОП.",
    )


def ensure(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
