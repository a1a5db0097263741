"""Access-matrix rows of the calendar of contacts (see test_access_matrix.py).

Every staff role sees its own calendar and manages its own iCal link (ACTIVITIES_VIEW); moving a
contact by drag is for sellers (ACTIVITIES_WORK): the form-encoded POST of the matrix carries no
JSON, so an allowed caller gets 400. The feed itself is public: the secret in its path is the key.
"""

import datetime as dt

from erp_crm.activities import calendar
from erp_crm.auth import services as auth_services
from erp_crm.auth.permissions import Role
from tests.access.matrix import PUBLIC, Case
from tests.fixtures.activities import plan_call
from tests.fixtures.app import PASSWORD
from tests.fixtures.deals import make_client

ANY = frozenset(Role)
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})

CASES = [
    Case("calendar.index", "GET", "/calendar/", ANY),
    Case("calendar.events", "GET", "/calendar/events?start={cal_start}&end={cal_end}", ANY),
    Case("calendar.move", "POST", "/calendar/events/{cal_activity}/move", SELLERS, ok=400),
    Case("calendar.feed", "GET", "/calendar/feed", ANY),
    Case("calendar.create_feed", "POST", "/calendar/feed", ANY),
    Case("calendar.revoke_feed", "POST", "/calendar/feed/revoke", ANY),
    Case("calendar.ical", "GET", "/calendar/ical/{cal_token}.ics", PUBLIC),
]


def build(session, admin) -> dict:
    owner = auth_services.create_user(
        session,
        auth_services.UserData(
            username="cal_matrix",
            full_name="Календарёва Вера",
            role="sales_manager",
            password=PASSWORD,
        ),
        actor=None,
    )
    client = make_client(session, admin, name="ООО «Календарь»", inn="7736207543")
    activity = plan_call(
        session, admin, client, "Проверить матрицу доступа", days=3, responsible=owner
    )
    starts = activity.starts_at
    day = starts.date()
    return {
        "cal_activity": activity.id,
        "cal_token": calendar.issue_feed_token(session, owner),
        "cal_start": day.isoformat(),
        "cal_end": (day + dt.timedelta(days=7)).isoformat(),
    }
