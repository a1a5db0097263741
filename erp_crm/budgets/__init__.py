"""Project budgets: articles of income and expense by month, versions, plan vs actual."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.budgets import audit as _audit  # noqa: E402, F401
