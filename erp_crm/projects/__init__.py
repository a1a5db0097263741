"""Exhibition projects: dates, venue, halls, stands, price lists, the team and sales plans."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.projects import audit as _audit  # noqa: E402, F401

# Registers the expired holds' periodic job with the job engine (erp_crm/jobs), on import.
from erp_crm.projects import jobs as _jobs  # noqa: E402, F401
