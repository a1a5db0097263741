"""Mailing: postal addresses, selections and campaigns, labels and envelopes, returned mail,
the e-mail outbox (documents, invitations) with unsubscribing."""
