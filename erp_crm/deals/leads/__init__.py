"""Leads, a sub-area of deals: inbound requests and their qualification, one module per job.

- services.py: the public intake (`submit_lead`, throttled per IP), manual entry, rejection,
  the candidates of a lead and `convert_lead` (client, contact and deal in one action);
- forms.py: the public form and the staff forms (shapes only);
- views.py: the `leads` blueprint (/leads, the public /request form);
- demo.py: the demo leads, built through the services.

Callers use the package: `from erp_crm.deals import leads; leads.convert_lead(...)`.
"""

from erp_crm.deals.leads.services import (
    LEAD_SOURCE_LABELS,
    LEAD_STATUS_LABELS,
    MANUAL_SOURCES,
    PUBLIC_SOURCES,
    Conversion,
    DuplicateCandidates,
    LeadData,
    TooManyLeads,
    check_rate_limit,
    convert_lead,
    create_lead,
    deal_of_lead,
    get_lead,
    inn_matches,
    lead_candidates,
    leads_per_ip_per_hour,
    leads_query,
    open_projects,
    reject_lead,
    status_counts,
    submit_lead,
    validate_lead,
)

__all__ = [
    "LEAD_SOURCE_LABELS",
    "LEAD_STATUS_LABELS",
    "MANUAL_SOURCES",
    "PUBLIC_SOURCES",
    "Conversion",
    "DuplicateCandidates",
    "LeadData",
    "TooManyLeads",
    "check_rate_limit",
    "convert_lead",
    "create_lead",
    "deal_of_lead",
    "get_lead",
    "inn_matches",
    "lead_candidates",
    "leads_per_ip_per_hour",
    "leads_query",
    "open_projects",
    "reject_lead",
    "status_counts",
    "submit_lead",
    "validate_lead",
]
