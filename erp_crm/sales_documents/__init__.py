"""The sales document package: issuing, numbering, freezing, templates, batch printing."""

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.sales_documents import receivers as _receivers  # noqa: E402, F401
