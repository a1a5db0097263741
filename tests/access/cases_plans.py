"""Access-matrix rows of the plans area (see test_access_matrix.py). The project they use is
built by cases_projects (key prj_project)."""

from erp_crm.auth.permissions import Role
from tests.access.matrix import Case

ANY = frozenset(Role)
PLANNERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.PROJECT_MANAGER})  # plans.manage

CASES = [
    Case("plans.index", "GET", "/plans/", ANY),
    Case("plans.report", "GET", "/plans/{prj_project}", ANY),
    Case("plans.edit", "GET", "/plans/{prj_project}/edit?start=2026-10&end=2027-03", PLANNERS),
    # No cells sent: nothing changes, back to the grid.
    Case("plans.edit", "POST", "/plans/{prj_project}/edit", PLANNERS, ok=302),
]


def build(session, admin) -> dict:
    return {}
