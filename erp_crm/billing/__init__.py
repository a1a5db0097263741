"""The money side of invoices: payments from the accounting system, their allocation to
invoices, invoice payment state, receivables."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.billing import audit as _audit  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.billing import receivers as _receivers  # noqa: E402, F401
