"""API: duplicate candidates and merging."""
