"""Deals (participation of a client in a project), pipelines with percentage stages, leads."""
