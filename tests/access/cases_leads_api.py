"""Access-matrix rows of the leads queue in the API (see test_access_matrix.py): the same
rule as the /leads pages — LEADS_WORK (sales, head of sales, analysts, admin)."""

from erp_crm.auth.permissions import Role
from erp_crm.deals import leads
from tests.access.matrix import Case

LEADS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER, Role.ANALYST})

CASES = [
    Case("api.list_leads", "GET", "/api/v1/leads?status=all", LEADS),
    Case("api.get_lead", "GET", "/api/v1/leads/{api_lead}", LEADS),
    # Without a reason: refused, the lead stays new for the next role.
    Case("api.reject_lead", "POST", "/api/v1/leads/{api_lead}/reject", LEADS, ok=422),
]


def build(session, admin) -> dict:
    lead = leads.create_lead(
        session,
        leads.LeadData(source="call", company_name="ООО «Лид API»", phone="+7 927 765-43-21"),
        actor=admin,
    )
    return {"api_lead": lead.id}
