"""API: projects."""
