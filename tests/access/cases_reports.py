"""Access-matrix rows of the sales reports (see test_access_matrix.py): a sales manager
sees their own report and records; the head of sales and the admin every report; a project
manager only the projects they lead (none in the matrix); the accountant and the analyst none.
The project is built by cases_projects (key prj_project); {user} is a sales manager."""

from erp_crm.auth.permissions import Role
from tests.access.matrix import Case

ANY = frozenset(Role)
ALL_REPORTS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES})
OWN = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})

CASES = [
    Case("reports.index", "GET", "/reports/", ANY),
    Case("reports.manager", "GET", "/reports/manager", OWN),
    Case("reports.manager", "GET", "/reports/manager?manager_id={user}", ALL_REPORTS),
    # A reversed period: the page says so (and shows the default period), never a 500.
    Case(
        "reports.manager",
        "GET",
        "/reports/manager?date_from=2026-12-01&date_to=2026-01-01",
        OWN,
        ok=422,
    ),
    Case("reports.manager_xlsx", "GET", "/reports/manager.xlsx", OWN),
    Case("reports.department", "GET", "/reports/department", ALL_REPORTS),
    Case("reports.department_xlsx", "GET", "/reports/department.xlsx", ALL_REPORTS),
    Case("reports.project", "GET", "/reports/project/{prj_project}", ALL_REPORTS),
    Case("reports.project_xlsx", "GET", "/reports/project/{prj_project}.xlsx", ALL_REPORTS),
    Case("reports.records", "GET", "/reports/records?figure=won", OWN),
    Case(
        "reports.records", "GET", "/reports/records?figure=planned&manager_id={user}", ALL_REPORTS
    ),
    Case(
        "reports.records",
        "GET",
        "/reports/records?figure=done&project_id={prj_project}",
        OWN,
    ),
    Case("api.manager_report", "GET", "/api/v1/reports/manager", OWN),
    Case("api.manager_report", "GET", "/api/v1/reports/manager?manager_id={user}", ALL_REPORTS),
    Case("api.department_report", "GET", "/api/v1/reports/department", ALL_REPORTS),
    Case("api.project_group_report", "GET", "/api/v1/reports/projects/{prj_project}", ALL_REPORTS),
    Case("api.report_records", "GET", "/api/v1/reports/records?figure=lost", OWN),
]


def build(session, admin) -> dict:
    return {}


CASES += [
    Case("reports.funnel", "GET", "/reports/funnel", OWN),
    Case("reports.funnel", "GET", "/reports/funnel?project_id={prj_project}", OWN),
]

CASES += [
    Case(
        "api.funnel_report",
        "GET",
        "/api/v1/reports/funnel?project_id={prj_project}&pipeline_id=1",
        OWN,
    ),
]

CASES += [
    Case("reports.market", "GET", "/reports/market", ANY),
    Case("reports.rebook", "GET", "/reports/rebook/{prj_project}", ANY),
]

CASES += [
    Case("reports.manager_pdf", "GET", "/reports/manager.pdf", OWN),
    Case("reports.department_pdf", "GET", "/reports/department.pdf", ALL_REPORTS),
    Case("reports.project_pdf", "GET", "/reports/project/{prj_project}.pdf", ALL_REPORTS),
]

CASES += [
    Case("reports.funnel_xlsx", "GET", "/reports/funnel.xlsx?project_id={prj_project}", OWN),
]
