"""API: leads."""
