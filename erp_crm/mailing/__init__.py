"""Mailing: postal addresses, selections and campaigns, labels and envelopes, returned mail,
the e-mail outbox (documents, invitations) with unsubscribing."""

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.mailing import receivers as _receivers  # noqa: F401
