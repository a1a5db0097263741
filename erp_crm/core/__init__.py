"""Shared building blocks with no domain of their own: requisites checks, pagination, formatting."""
