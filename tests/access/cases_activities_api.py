"""Access-matrix rows of the activities API (see test_access_matrix.py): the same rules as
the pages — every role reads, sellers plan, the contact's own people (here: the admin's contact,
so the admin and the head of sales) change, complete and cancel it."""

import datetime as dt

from erp_crm.activities import tasks
from erp_crm.auth.permissions import Role
from tests.access.matrix import Case
from tests.fixtures.activities import plan_call
from tests.fixtures.deals import make_client

ANY = frozenset(Role)
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})
ALL_CONTACTS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES})

CASES = [
    Case("api.list_activities", "GET", "/api/v1/activities?status=planned", ANY),
    Case("api.plan_activity", "POST", "/api/v1/activities", SELLERS, ok=422),
    Case("api.get_activity", "GET", "/api/v1/activities/{api_activity}", ANY),
    # An empty change keeps the plan as it is: a valid save for those who may change it.
    Case("api.update_activity", "PATCH", "/api/v1/activities/{api_activity}", ALL_CONTACTS),
    Case(
        "api.complete_activity",
        "POST",
        "/api/v1/activities/{api_activity}/complete",
        ALL_CONTACTS,
        ok=422,
    ),
    Case("api.activity_catalogs", "GET", "/api/v1/activity-types", ANY),
    Case("api.list_tasks", "GET", "/api/v1/tasks", ANY),
    Case("api.forward_task", "POST", "/api/v1/tasks", SELLERS, ok=422),
    Case("api.get_task", "GET", "/api/v1/tasks/{api_task}", ALL_CONTACTS),
    # Only the colleague the request went to answers it (nobody of the matrix).
    Case("api.answer_task", "POST", "/api/v1/tasks/{api_task}/accept", frozenset()),
    Case("api.answer_task", "POST", "/api/v1/tasks/{api_task}/return", frozenset()),
    Case("api.list_ratings", "GET", "/api/v1/ratings?client_id={api_act_client}", ANY),
    Case("api.rate", "POST", "/api/v1/ratings", SELLERS, ok=422),
    Case("api.cancel_activity", "POST", "/api/v1/activities/{api_activity}/cancel", ALL_CONTACTS),
]


def build(session, admin) -> dict:
    client = make_client(session, admin, name="ООО «API контактов»", inn="7710140679")
    activity = plan_call(session, admin, client, "Звонок для матрицы API", days=3)
    target = session.query(type(admin)).filter_by(username="matrixtarget").one()
    task = tasks.forward(
        session,
        tasks.TaskData(assignee_id=target.id, goal="Запрос матрицы API", due_on=dt.date.today()),
        actor=admin,
    )
    return {"api_activity": activity.id, "api_task": task.id, "api_act_client": client.id}
