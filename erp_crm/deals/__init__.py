"""Deals (participation of a client in a project), pipelines with percentage stages, leads."""

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.deals import receivers as _receivers  # noqa: E402, F401
