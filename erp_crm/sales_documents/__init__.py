"""The sales document package: issuing, numbering, freezing, templates, batch printing."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.sales_documents import audit as _audit  # noqa: E402, F401

# Registers the `documents.batch_print` job handler with the job engine, on import.
from erp_crm.sales_documents import jobs as _jobs  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.sales_documents import receivers as _receivers  # noqa: E402, F401
