"""Access-matrix rows of the leads area and the deals board (see test_access_matrix.py).

/leads/apply and POST /api/v1/leads are the public intake: anyone, logged in or not. The rest of
the queue is for LEADS_WORK (sales, head of sales, analysts, admin); converting a lead creates a
deal, so it also needs DEALS_WORK (the analyst's API call is refused by the service: 403).
"""

from erp_crm.auth.permissions import Role
from erp_crm.deals import leads
from tests.access.matrix import PUBLIC, Case
from tests.fixtures.deals import make_project

ANY = frozenset(Role)
LEADS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER, Role.ANALYST})
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})
INTAKE = {"company_name": "ООО «Заявка из матрицы»", "phone": "+7 846 207-11-44"}

CASES = [
    Case("leads.apply", "GET", "/leads/apply", PUBLIC),
    # An empty form: 422 shows the page is reachable without login (a valid one redirects to the
    # thank-you page, which the matrix would take for a redirect to the login page).
    Case("leads.apply", "POST", "/leads/apply", PUBLIC, ok=422),
    Case("leads.thanks", "GET", "/leads/apply/thanks", PUBLIC),
    Case("leads.index", "GET", "/leads/?status=all", LEADS),
    Case("leads.create", "GET", "/leads/new", LEADS),
    Case("leads.create", "POST", "/leads/new", LEADS, ok=422),
    Case("leads.show", "GET", "/leads/{lead_new}", LEADS),
    Case("leads.reject", "POST", "/leads/{lead_new}/reject", LEADS, ok=422),
    Case("leads.convert", "POST", "/leads/{lead_new}/convert", SELLERS, ok=422),
    Case("api.submit_lead", "POST", "/api/v1/leads", PUBLIC, ok=201, data=INTAKE),
    Case("api.convert_lead", "POST", "/api/v1/leads/{lead_new}/convert", SELLERS, ok=422),
    Case("kanban.board", "GET", "/kanban/?project_id={lead_project}", ANY),
    Case("kanban.move", "POST", "/kanban/move", SELLERS, ok=400),
]


def build(session, admin) -> dict:
    project = make_project(session, code="LEADMX", name="Матрица лидов-2027", stands=1)
    lead = leads.create_lead(
        session,
        leads.LeadData(
            source="call",
            company_name="ООО «Лид для матрицы»",
            phone="+7 927 123-45-67",
            project_id=project.id,
        ),
        actor=admin,
    )
    return {"lead_new": lead.id, "lead_project": project.id}
