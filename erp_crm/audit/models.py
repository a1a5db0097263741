from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from erp_crm.db import Base, utcnow


class Audited:
    """Mixin: every insert, update and delete of the class is written to the audit log.

    `__audit_exclude__` names attributes left out of the log entirely (technical counters),
    `__audit_secret__` those whose change is logged as "***" without the value, and
    `__audit_view_permission__` is the permission needed to read a record's history.
    """

    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()
    __audit_secret__: ClassVar[frozenset[str]] = frozenset()
    __audit_view_permission__: ClassVar[Any] = None
    __audit_title__: ClassVar[str] = ""

    def audit_label(self) -> str:
        return str(getattr(self, "id", ""))

    def audit_extra(self) -> dict[str, Any]:
        """Values beyond the columns that belong in the record's snapshot (e.g. child rows)."""
        return {}


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
