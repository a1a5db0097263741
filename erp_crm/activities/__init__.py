"""Contacts with clients: planning, formalized results, reminders, ratings, forwarded requests."""

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
# Registers the reminders' periodic job with the job engine (erp_crm/jobs), on import.
from erp_crm.activities import jobs as _jobs  # noqa: E402, F401
from erp_crm.activities import receivers as _receivers  # noqa: F401
