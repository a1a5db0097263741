"""Who may see, plan, complete and change which contact; who answers which request."""

from __future__ import annotations

import datetime as dt

from erp_crm.activities.models import Activity, Task
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.db import utcnow

# A result may be corrected by its author for a day; later only by the head of sales (audited).
RESULT_EDIT_WINDOW = dt.timedelta(hours=24)


def can_view_activities(user: User) -> bool:
    return has_permission(user, Perm.ACTIVITIES_VIEW)


def can_see_others(user: User) -> bool:
    """The head of sales looks at any manager's day and calendar; a manager at their own."""
    return has_permission(user, Perm.ACTIVITIES_ALL)


def can_plan(user: User, client: Client, responsible_id: int) -> bool:
    """A manager plans their own contacts with any client of the base, and contacts of the
    clients they curate for a colleague; the head of sales plans anyone's."""
    if client.is_merged:
        return False
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return True
    if not has_permission(user, Perm.ACTIVITIES_WORK):
        return False
    return responsible_id == user.id or client.curator_id == user.id


def can_work_activity(user: User, activity: Activity) -> bool:
    """Complete, move, cancel: the responsible user, the client's curator, the head of sales."""
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return True
    if not has_permission(user, Perm.ACTIVITIES_WORK):
        return False
    return activity.responsible_id == user.id or activity.client.curator_id == user.id


def can_edit_result(user: User, activity: Activity, now: dt.datetime | None = None) -> bool:
    if activity.completed_at is None or not can_work_activity(user, activity):
        return False
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return True
    return (now or utcnow()) - activity.completed_at <= RESULT_EDIT_WINDOW


def can_view_task(user: User, task: Task) -> bool:
    return user.id in (task.author_id, task.assignee_id) or has_permission(
        user, Perm.ACTIVITIES_ALL
    )


def can_answer_task(user: User, task: Task) -> bool:
    """Only the colleague the request went to accepts it, does it or returns it."""
    return task.assignee_id == user.id


def can_forward(user: User) -> bool:
    return has_permission(user, Perm.ACTIVITIES_WORK)
