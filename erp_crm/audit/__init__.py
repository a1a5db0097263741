"""The audit trail: who changed which business record, when, and what (old -> new)."""
