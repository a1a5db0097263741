"""API: deals."""
