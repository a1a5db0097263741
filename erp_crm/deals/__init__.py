"""Deals (participation of a client in a project), pipelines with percentage stages, leads."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.deals import audit as _audit  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.deals import receivers as _receivers  # noqa: E402, F401
