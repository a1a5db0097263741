"""API: import of client files."""
