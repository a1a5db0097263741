"""A PostgreSQL schema of its own per bench run: the generated data never meets the suite's or
another run's tables, and a kept schema can be measured again."""

from __future__ import annotations

import os

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def url_of(schema: str) -> str:
    """PG_URL with the schema as the connection's search_path."""
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def schema_url(schema: str, *, fresh: bool) -> str:
    """Create the schema (dropped first when `fresh`) and return the URL that works in it."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return url_of(schema)


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
