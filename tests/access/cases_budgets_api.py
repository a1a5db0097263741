"""Access-matrix rows of the budgets API (see test_access_matrix.py): the same rule as the
budget pages — budgets.view reads (admin, head of sales, accountant, project manager),
budgets.manage changes (admin, project manager)."""

import datetime as dt

from sqlalchemy import select

from erp_crm.auth.permissions import Role
from erp_crm.budgets import services
from erp_crm.budgets.models import BudgetArticle
from erp_crm.projects import services as projects
from tests.access.matrix import Case

VIEWERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ACCOUNTANT, Role.PROJECT_MANAGER})
KEEPERS = frozenset({Role.ADMIN, Role.PROJECT_MANAGER})

CASES = [
    Case("api.list_budget_articles", "GET", "/api/v1/budget-articles", VIEWERS),
    Case(
        "api.list_budget_versions",
        "GET",
        "/api/v1/projects/{bapi_project}/budget-versions",
        VIEWERS,
    ),
    # A second draft is refused while the first exists: the answer for every keeper.
    Case(
        "api.create_budget_version",
        "POST",
        "/api/v1/projects/{bapi_project}/budget-versions",
        KEEPERS,
        ok=409,
    ),
    Case("api.get_budget_version", "GET", "/api/v1/budget-versions/{bapi_draft}", VIEWERS),
    # No cells: nothing changes.
    Case(
        "api.save_budget_lines",
        "PUT",
        "/api/v1/budget-versions/{bapi_draft}/lines",
        KEEPERS,
        data={"lines": []},
    ),
    # A draft without amounts is not approved (nothing to approve): 422 for keepers.
    Case(
        "api.approve_budget_version",
        "POST",
        "/api/v1/budget-versions/{bapi_empty_draft}/approve",
        KEEPERS,
        ok=422,
    ),
    Case("api.delete_budget_version", "DELETE", "/api/v1/budget-versions/{bapi_spare}", KEEPERS),
    Case(
        "api.list_budget_actuals", "GET", "/api/v1/projects/{bapi_project}/budget-actuals", VIEWERS
    ),
]


def _project(session, admin, code: str):
    return projects.create_project(
        session,
        projects.ProjectData(
            name=f"Бюджет API {code}",
            code=code,
            opening_date=dt.date(2027, 3, 16),
            closing_date=dt.date(2027, 3, 18),
        ),
        actor=admin,
    )


def build(session, admin) -> dict:
    article = session.scalar(select(BudgetArticle).where(BudgetArticle.code == "INC-SPACE"))
    project = _project(session, admin, "BAPI-1")
    draft = services.create_version(session, project, actor=admin)
    cell = services.BudgetCell(article.id, dt.date(2027, 1, 1), "1000")
    services.save_lines(session, draft, [cell], actor=admin)
    empty = services.create_version(session, _project(session, admin, "BAPI-2"), actor=admin)
    spare = services.create_version(session, _project(session, admin, "BAPI-3"), actor=admin)
    return {
        "bapi_project": project.id,
        "bapi_draft": draft.id,
        "bapi_empty_draft": empty.id,
        "bapi_spare": spare.id,
    }
