"""Our legal entities («наши организации»): the seller on every document."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.organizations import audit as _audit  # noqa: E402, F401
