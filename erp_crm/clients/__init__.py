"""The single client base: counterparties, contact persons, groups, curators, import, clean-up."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.clients import audit as _audit  # noqa: E402, F401
