"""Stable GUIDs for records that have no guid column, derived from the table and the id.

The accounting system knows our projects and clients by these (`guid_for("projects", 7)`); the
budgets area reads them back when accounting reports actuals. No domain of its own.
"""

from __future__ import annotations

import uuid

GUID_NAMESPACE = uuid.UUID("5b0b3f1e-6c1d-4a8e-9d51-2b7f1c9a0e77")


def guid_for(table: str, object_id: int) -> str:
    """The GUID the accounting side knows a record of ours by (e.g. guid_for("projects", 7))."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{table}/{object_id}"))
