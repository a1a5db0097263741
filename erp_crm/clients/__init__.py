"""The single client base: counterparties, contact persons, groups, curators, import, clean-up."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.clients import audit as _audit  # noqa: E402, F401

# Registers the `clients.import` job handler with the job engine (erp_crm/jobs), on import.
from erp_crm.clients.importing import job as _import_job  # noqa: E402, F401
