"""Roles, permissions and the table that joins them: the one place that says who may do what.

Record-level rules (a manager edits only their own clients) live in each area's access.py and are
built on top of these permissions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    ADMIN = "admin"
    HEAD_OF_SALES = "head_of_sales"
    SALES_MANAGER = "sales_manager"
    ANALYST = "analyst"
    ACCOUNTANT = "accountant"
    PROJECT_MANAGER = "project_manager"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Администратор",
    Role.HEAD_OF_SALES: "Руководитель отдела продаж",
    Role.SALES_MANAGER: "Менеджер отдела продаж",
    Role.ANALYST: "Специалист ИАО",
    Role.ACCOUNTANT: "Бухгалтер",
    Role.PROJECT_MANAGER: "Руководитель проекта",
}


class Perm(StrEnum):
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW_ALL = "audit.view_all"
    ORGANIZATIONS_VIEW = "organizations.view"
    ORGANIZATIONS_MANAGE = "organizations.manage"
    CLIENTS_VIEW = "clients.view"
    CLIENTS_CREATE = "clients.create"
    CLIENTS_EDIT_OWN = "clients.edit_own"  # clients the user curates
    CLIENTS_EDIT_ALL = "clients.edit_all"
    CLIENTS_IMPORT = "clients.import"
    CLIENTS_EXPORT = "clients.export"
    CLIENTS_MERGE = "clients.merge"
    CLIENTS_REASSIGN = "clients.reassign"
    GROUPS_MANAGE_COMMON = "groups.manage_common"
    GROUPS_PERSONAL = "groups.personal"
    PROJECTS_VIEW = "projects.view"
    PROJECTS_MANAGE = "projects.manage"  # projects, halls, stands, price lists
    PLANS_MANAGE = "plans.manage"
    DEALS_VIEW = "deals.view"
    DEALS_WORK = "deals.work"  # create deals and work one's own
    DEALS_ALL = "deals.all"  # work every deal of the department
    PIPELINES_MANAGE = "pipelines.manage"
    LEADS_WORK = "leads.work"
    DOCUMENTS_VIEW = "documents.view"
    DOCUMENTS_ISSUE = "documents.issue"  # issue for deals one works (own; all with deals.all)
    DOCUMENTS_MANAGE = "documents.manage"  # any deal: issue, cancel, mark signed, batch print
    TEMPLATES_MANAGE = "templates.manage"  # document templates and number formats
    PAYMENTS_VIEW = "payments.view"  # payments, invoice payment state, receivables
    PAYMENTS_RECONCILE = "payments.reconcile"  # allocate, split, unassign by hand
    BUDGETS_VIEW = "budgets.view"
    BUDGETS_MANAGE = "budgets.manage"  # plan, version and approve project budgets
    EXCHANGE_VIEW = "exchange.view"  # the exchange log with the accounting system
    EXCHANGE_MANAGE = "exchange.manage"  # connection settings, retry dead messages
    ACTIVITIES_VIEW = "activities.view"  # see planned and done contacts with clients
    ACTIVITIES_WORK = "activities.work"  # plan and complete one's own and one's clients'
    ACTIVITIES_ALL = "activities.all"  # plan, complete, move anyone's; edit results after 24 h
    ACTIVITY_CATALOGS_MANAGE = "activity_catalogs.manage"  # contact types, reasons, next steps
    MAILING_WORK = "mailing.work"  # selections, campaigns, labels, envelopes, returned mail
    MAILING_SEND_DOCUMENTS = "mailing.send_documents"  # e-mail a deal's issued document
    MAILING_LOG = "mailing.log"  # the mail log of every e-mail sent to clients
    MAILING_SETTINGS = "mailing.settings"  # the SMTP connection, label formats
    JOBS_MANAGE = "jobs.manage"  # background jobs: the queue, failures, retry and cancel


_EVERY_ROLE = frozenset(Role)

_STAFF = {
    Perm.ACTIVITIES_VIEW,
    Perm.ORGANIZATIONS_VIEW,
    Perm.CLIENTS_VIEW,
    Perm.PROJECTS_VIEW,
    Perm.DEALS_VIEW,
    Perm.DOCUMENTS_VIEW,
}
_SELLING = {
    Perm.DEALS_WORK,
    Perm.LEADS_WORK,
    Perm.DOCUMENTS_ISSUE,
    Perm.ACTIVITIES_WORK,
    Perm.MAILING_SEND_DOCUMENTS,
}
# The whole base is edited, cleaned and exported only by those who own its quality; a manager
# edits their own clients and cannot carry the base away (no export).
_BASE_KEEPERS = {
    Perm.CLIENTS_CREATE,
    Perm.CLIENTS_EDIT_ALL,
    Perm.CLIENTS_IMPORT,
    Perm.CLIENTS_EXPORT,
    Perm.CLIENTS_MERGE,
    Perm.GROUPS_MANAGE_COMMON,
    Perm.GROUPS_PERSONAL,
    Perm.MAILING_WORK,
    Perm.MAILING_LOG,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.HEAD_OF_SALES: frozenset(
        _STAFF
        | _BASE_KEEPERS
        | _SELLING
        | {
            Perm.CLIENTS_REASSIGN,
            Perm.DEALS_ALL,
            Perm.ACTIVITIES_ALL,
            Perm.ACTIVITY_CATALOGS_MANAGE,
            Perm.PLANS_MANAGE,
            Perm.DOCUMENTS_MANAGE,
            Perm.PAYMENTS_VIEW,
            Perm.BUDGETS_VIEW,
        }
    ),
    Role.SALES_MANAGER: frozenset(
        _STAFF
        | _SELLING
        | {Perm.CLIENTS_CREATE, Perm.CLIENTS_EDIT_OWN, Perm.GROUPS_PERSONAL, Perm.PAYMENTS_VIEW}
    ),
    Role.ANALYST: frozenset(_STAFF | _BASE_KEEPERS | {Perm.LEADS_WORK}),
    # Accountants issue acts and VAT invoices for any deal, cancel and check documents.
    Role.ACCOUNTANT: frozenset(
        _STAFF
        | {
            Perm.DOCUMENTS_ISSUE,
            Perm.DOCUMENTS_MANAGE,
            Perm.MAILING_SEND_DOCUMENTS,
            Perm.PAYMENTS_VIEW,
            Perm.PAYMENTS_RECONCILE,
            Perm.BUDGETS_VIEW,
            Perm.EXCHANGE_VIEW,
        }
    ),
    Role.PROJECT_MANAGER: frozenset(
        _STAFF | {Perm.PROJECTS_MANAGE, Perm.PLANS_MANAGE, Perm.BUDGETS_VIEW, Perm.BUDGETS_MANAGE}
    ),
}
assert set(ROLE_PERMISSIONS) == _EVERY_ROLE, "every role needs a row in ROLE_PERMISSIONS"


class _HasRole(Protocol):
    role: str
    is_active: bool


_BY_ROLE_NAME = {role.value: granted for role, granted in ROLE_PERMISSIONS.items()}
_NOTHING: frozenset[Perm] = frozenset()


def permissions_of(user: _HasRole | None) -> frozenset[Perm]:
    """What an active user's role grants. Anonymous or inactive users have nothing. (Called for
    every row a page checks: a plain dict lookup by the role's name.)"""
    if user is None or not getattr(user, "is_authenticated", True) or not user.is_active:
        return _NOTHING
    return _BY_ROLE_NAME.get(user.role, _NOTHING)


def has_permission(user: _HasRole | None, perm: Perm) -> bool:
    """True when an active user's role grants `perm`. Anonymous or inactive users have none."""
    return perm in permissions_of(user)
