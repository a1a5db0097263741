"""Access-matrix rows of the budgets area (see test_access_matrix.py)."""

import datetime as dt

from sqlalchemy import select

from erp_crm.auth.permissions import Role
from erp_crm.budgets import articles as catalog
from erp_crm.budgets import services
from erp_crm.budgets.models import BudgetArticle
from erp_crm.projects import services as projects
from tests.access.matrix import Case

VIEWERS = frozenset(
    {Role.ADMIN, Role.HEAD_OF_SALES, Role.ACCOUNTANT, Role.PROJECT_MANAGER}
)  # budgets.view
KEEPERS = frozenset({Role.ADMIN, Role.PROJECT_MANAGER})  # budgets.manage

CASES = [
    Case("budgets.index", "GET", "/budgets/", VIEWERS),
    Case("budgets.articles", "GET", "/budgets/articles", VIEWERS),
    Case("budgets.article_create", "GET", "/budgets/articles/new", KEEPERS),
    Case("budgets.article_create", "POST", "/budgets/articles/new", KEEPERS, ok=422),
    Case("budgets.article_edit", "GET", "/budgets/articles/{bud_article}/edit", KEEPERS),
    # Fields a form does not send keep their stored values (WTForms with obj=): a valid save.
    Case("budgets.article_edit", "POST", "/budgets/articles/{bud_article}/edit", KEEPERS, ok=302),
    Case(
        "budgets.article_active", "POST", "/budgets/articles/{bud_article}/active", KEEPERS, ok=302
    ),
    Case(
        "budgets.article_delete",
        "POST",
        "/budgets/articles/{bud_spare_article}/delete",
        KEEPERS,
        ok=302,
    ),
    Case("budgets.project", "GET", "/budgets/projects/{bud_project}", VIEWERS),
    Case("budgets.version", "GET", "/budgets/versions/{bud_approved}", VIEWERS),
    Case("budgets.version_edit", "GET", "/budgets/versions/{bud_draft}/edit", KEEPERS),
    # No cells sent: nothing changes, back to the grid.
    Case("budgets.version_edit", "POST", "/budgets/versions/{bud_draft}/edit", KEEPERS, ok=302),
    Case("budgets.report", "GET", "/budgets/projects/{bud_project}/report", VIEWERS),
    Case("budgets.report_xlsx", "GET", "/budgets/projects/{bud_project}/report.xlsx", VIEWERS),
    Case(
        "budgets.version_approve", "POST", "/budgets/versions/{bud_draft}/approve", KEEPERS, ok=302
    ),
    Case(
        "budgets.version_delete",
        "POST",
        "/budgets/versions/{bud_spare_draft}/delete",
        KEEPERS,
        ok=302,
    ),
    # A project without a budget: its first (empty) draft is created.
    Case(
        "budgets.version_create",
        "POST",
        "/budgets/projects/{bud_empty_project}/versions",
        KEEPERS,
        ok=302,
    ),
]


def _project(session, admin, code: str):
    return projects.create_project(
        session,
        projects.ProjectData(
            name=f"Бюджет {code}",
            code=code,
            opening_date=dt.date(2027, 3, 16),
            closing_date=dt.date(2027, 3, 18),
        ),
        actor=admin,
    )


def build(session, admin) -> dict:
    articles = {a.code: a for a in session.scalars(select(BudgetArticle))}
    project = _project(session, admin, "BUD-MX-1")
    approved = services.create_version(session, project, actor=admin)
    cell = services.BudgetCell(articles["INC-SPACE"].id, dt.date(2027, 1, 1), "1000")
    services.save_lines(session, approved, [cell], actor=admin)
    services.approve_version(session, approved, actor=admin)
    draft = services.create_version(session, project, actor=admin)
    spare = services.create_version(session, _project(session, admin, "BUD-MX-2"), actor=admin)
    unused = catalog.create_article(
        session,
        catalog.ArticleData(code="EXP-MATRIX", name="Матрица", direction="expense"),
        actor=admin,
    )
    return {
        "bud_article": articles["EXP-ADV"].id,
        "bud_spare_article": unused.id,
        "bud_project": project.id,
        "bud_approved": approved.id,
        "bud_draft": draft.id,
        "bud_spare_draft": spare.id,
        "bud_empty_project": _project(session, admin, "BUD-MX-3").id,
    }
