"""Mailing: postal addresses, selections and campaigns, labels and envelopes, returned mail,
the e-mail outbox (documents, invitations) with unsubscribing."""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.mailing import audit as _audit  # noqa: F401

# Registers the outbox's periodic job with the job engine (erp_crm/jobs), on import.
from erp_crm.mailing import jobs as _jobs  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.mailing import receivers as _receivers  # noqa: F401
