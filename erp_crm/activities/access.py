"""Who may see, plan, complete and change which contact; who answers which request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from erp_crm.activities.models import Activity, Task
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal

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
        return True  # without loading the client
    return work_rule(user)(activity.responsible_id, activity.client.curator_id)


def work_rule(user: User) -> Callable[[int, int | None], bool]:
    """can_work_activity's rule on a contact's bare values (responsible_id, the client's
    curator_id), the user's rights looked up once: the calendar checks every row it shows."""
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return lambda _responsible, _curator: True
    if not has_permission(user, Perm.ACTIVITIES_WORK):
        return lambda _responsible, _curator: False
    me = user.id
    return lambda responsible, curator: me in (responsible, curator)


def can_edit_result(user: User, activity: Activity, now: dt.datetime | None = None) -> bool:
    if activity.completed_at is None or not can_work_activity(user, activity):
        return False
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return True
    return (now or utcnow()) - activity.completed_at <= RESULT_EDIT_WINDOW


def can_rate(
    user: User, client: Client, *, activity: Activity | None = None, deal: Deal | None = None
) -> bool:
    """The client's rating is recorded by its manager (of the contact, the deal, or the curator)
    or the head of sales."""
    if has_permission(user, Perm.ACTIVITIES_ALL):
        return True
    if not has_permission(user, Perm.ACTIVITIES_WORK):
        return False
    people = {client.curator_id}
    if activity is not None:
        people.add(activity.responsible_id)
    if deal is not None:
        people.add(deal.manager_id)
    return user.id in people


def can_view_task(user: User, task: Task) -> bool:
    return user.id in (task.author_id, task.assignee_id) or has_permission(
        user, Perm.ACTIVITIES_ALL
    )


def can_answer_task(user: User, task: Task) -> bool:
    """Only the colleague the request went to accepts it, does it or returns it."""
    return task.assignee_id == user.id


def can_forward(user: User) -> bool:
    return has_permission(user, Perm.ACTIVITIES_WORK)
