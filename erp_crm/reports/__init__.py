"""Sales analytics: the stage-transition ledger, the manager's / department's / project group's
reports, the funnel and the forecast."""

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.reports import receivers as _receivers  # noqa: F401
