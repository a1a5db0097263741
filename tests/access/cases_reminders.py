"""Access-matrix rows of the in-app reminders: every logged-in user has their own (a reminder of
someone else's is not found, like one that does not exist)."""

from erp_crm.auth.permissions import Role
from tests.access.matrix import Case

ANY = frozenset(Role)

CASES = [
    Case("reminders.badge", "GET", "/reminders/badge", ANY),
    Case("reminders.index", "GET", "/reminders/", ANY),
    Case("reminders.read", "POST", "/reminders/999999/read", ANY, ok=404),
    Case("reminders.read_all", "POST", "/reminders/read-all", ANY, ok=302),
]


def build(session, admin) -> dict:
    return {}
