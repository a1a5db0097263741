"""Who sees which report: a sales manager their own; the head of sales and the admin every
manager, the department and every project group; a project manager the groups (and drill-downs)
of the projects they lead. Everybody else (accountant, analyst) sees no sales report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.errors import PermissionDenied
from erp_crm.projects.models import Project
from erp_crm.reports.filters import ReportFilter

DENIED = (
    "Этот отчёт вам недоступен: менеджер видит свой отчёт, руководитель проекта — свои проекты."
)


def sees_everything(user: Any) -> bool:
    return has_permission(user, Perm.DEALS_ALL) and has_permission(user, Perm.ACTIVITIES_ALL)


def is_seller(user: Any) -> bool:
    return has_permission(user, Perm.DEALS_WORK)


def led_projects(session: Session, user: Any) -> list[int]:
    if not has_permission(user, Perm.PROJECTS_MANAGE):
        return []
    return list(session.scalars(select(Project.id).where(Project.project_manager_id == user.id)))


def can_see_manager(user: Any, manager_id: int) -> bool:
    return sees_everything(user) or (is_seller(user) and manager_id == user.id)


def can_see_department(user: Any) -> bool:
    return sees_everything(user)


def can_see_project(session: Session, user: Any, project: Project) -> bool:
    return sees_everything(user) or project.id in led_projects(session, user)


def can_see_reports(session: Session, user: Any) -> bool:
    return sees_everything(user) or is_seller(user) or bool(led_projects(session, user))


def scoped(session: Session, user: Any, f: ReportFilter) -> ReportFilter:
    """The drill-down's filter as this user may see it: a seller's narrowed to their own
    records, a project manager's to one of their projects; otherwise PermissionDenied."""
    if sees_everything(user):
        return f
    if is_seller(user):
        if f.manager_id not in (None, user.id):
            raise PermissionDenied(DENIED)
        return f.with_(manager_id=user.id)
    if f.project_id is not None and f.project_id in led_projects(session, user):
        return f
    raise PermissionDenied(DENIED)
