"""Access-matrix rows of the contact pages (see test_access_matrix.py).

Everyone with activities.view (every role) sees «Мой день», a contact's card and their own
requests; planning needs activities.work (admin, head of sales, sales managers). Completing,
changing and cancelling a contact is for its responsible user, the client's curator and the head
of sales: the matrix's contact belongs to the admin, so a sales manager gets 403 there. A request
is answered only by the colleague it went to (nobody in the matrix).
"""

import datetime as dt

from erp_crm.activities import tasks
from erp_crm.activities.models import ActivityReason, ActivityType
from erp_crm.auth.permissions import Role
from tests.access.matrix import Case
from tests.fixtures.activities import plan_call
from tests.fixtures.deals import make_client

ANY = frozenset(Role)
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})
ALL_CONTACTS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES})
NOBODY: frozenset[Role] = frozenset()

CASES = [
    Case("activities.index", "GET", "/activities/", ANY),
    Case("activities.create", "GET", "/activities/new?client_id={act_client}", SELLERS),
    Case("activities.create", "POST", "/activities/new", SELLERS, ok=422),
    Case("activities.bulk", "GET", "/activities/bulk", SELLERS),
    Case("activities.bulk", "POST", "/activities/bulk", SELLERS),
    Case("activities.show", "GET", "/activities/{activity}", ANY),
    Case("activities.complete", "POST", "/activities/{activity}/complete", ALL_CONTACTS, ok=422),
    Case("activities.edit", "GET", "/activities/{activity}/edit", ALL_CONTACTS),
    Case("activities.edit", "POST", "/activities/{activity}/edit", ALL_CONTACTS, ok=422),
    # Not done yet: changing its result is refused before anything else.
    Case("activities.edit_result", "POST", "/activities/{activity}/result", SELLERS, ok=409),
    Case("activities.task_list", "GET", "/activities/tasks/", ANY),
    # The scores missing: refused with a message on the card (flash), nothing saved.
    Case(
        "activities.rate", "POST", "/activities/ratings/client/{act_client}", ALL_CONTACTS, ok=302
    ),
    Case("activities.task_create", "GET", "/activities/tasks/new", SELLERS),
    Case("activities.task_create", "POST", "/activities/tasks/new", SELLERS, ok=422),
    Case("activities.task_show", "GET", "/activities/tasks/{task}", ALL_CONTACTS),
    Case("activities.task_answer", "POST", "/activities/tasks/{task}/accept", NOBODY),
    Case("activities.task_answer", "POST", "/activities/tasks/{task}/done", NOBODY),
    Case("activities.catalogs", "GET", "/activities/catalogs", ALL_CONTACTS),
    Case("activities.catalog_type_add", "POST", "/activities/catalogs/types", ALL_CONTACTS, ok=422),
    Case(
        "activities.catalog_type_toggle",
        "POST",
        "/activities/catalogs/types/{act_type}/toggle",
        ALL_CONTACTS,
        ok=302,
    ),
    Case(
        "activities.catalog_reason_add",
        "POST",
        "/activities/catalogs/reasons",
        ALL_CONTACTS,
        ok=422,
    ),
    Case(
        "activities.catalog_reason_toggle",
        "POST",
        "/activities/catalogs/reasons/{act_reason}/toggle",
        ALL_CONTACTS,
        ok=302,
    ),
    Case(
        "activities.catalog_rule_set",
        "POST",
        "/activities/catalogs/rules/manual_sent",
        ALL_CONTACTS,
        ok=302,
    ),
    Case("activities.cancel", "POST", "/activities/{activity}/cancel", ALL_CONTACTS, ok=302),
]


def build(session, admin) -> dict:
    client = make_client(session, admin, name="ООО «Контакты матрицы»", inn="7728168971")
    activity = plan_call(session, admin, client, "Звонок для матрицы", days=2)
    target = session.query(type(admin)).filter_by(username="matrixtarget").one()
    task = tasks.forward(
        session,
        tasks.TaskData(assignee_id=target.id, goal="Запрос матрицы", due_on=dt.date.today()),
        actor=admin,
    )
    spare = ActivityType(code="matrix_type", name="Тип для матрицы", default_minutes=5)
    reason = ActivityReason(kind="postpone", name="Причина для матрицы")
    session.add_all([spare, reason])
    session.flush()
    return {
        "act_client": client.id,
        "activity": activity.id,
        "task": task.id,
        "act_type": spare.id,
        "act_reason": reason.id,
    }
