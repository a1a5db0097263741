"""Project budgets: articles of income and expense, versions of a project's budget with planned
amounts by article and month, and the actuals that come back from accounting.

A version goes draft → approved → superseded. Only a draft is edited; approving one makes it the
project's approved version (at most one per project, kept by a partial unique index) and sends
it to accounting. Actuals belong to the project, not to a version: accounting reports the
cumulative amount of (project, article, month), whichever version was approved at the time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, Money, TimestampMixin, utcnow
from erp_crm.projects.models import Project


class Direction(StrEnum):
    INCOME = "income"
    EXPENSE = "expense"


DIRECTION_LABELS = {Direction.INCOME: "Доход", Direction.EXPENSE: "Расход"}


class VersionStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: "Черновик",
    VersionStatus.APPROVED: "Утверждена",
    VersionStatus.SUPERSEDED: "Заменена",
}


class BudgetArticle(Audited, TimestampMixin, Base):
    """An article of income or expense («статья бюджета»). The code is what accounting knows it
    by; an article used in a budget or by an actual is never deleted, only deactivated."""

    __tablename__ = "budget_articles"
    __table_args__ = (
        CheckConstraint("direction IN ('income', 'expense')", name="direction_known"),
        UniqueConstraint("direction", "name"),
    )
    __audit_view_permission__ = Perm.BUDGETS_VIEW
    __audit_title__ = "Статья бюджета"
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {"direction": DIRECTION_LABELS}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(default=0)  # order inside its direction
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return f"{self.code} {self.name}"


class BudgetVersion(Audited, TimestampMixin, Base):
    """One version of a project's budget; its number counts from 1 per project."""

    __tablename__ = "budget_versions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved', 'superseded')", name="status_known"),
        CheckConstraint("status = 'draft' OR approved_at IS NOT NULL", name="approved_has_date"),
        UniqueConstraint("project_id", "number"),
        # One approved version and one draft per project at most.
        Index(
            "uq_budget_versions_project_id_approved",
            "project_id",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
        Index(
            "uq_budget_versions_project_id_draft",
            "project_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )
    __audit_view_permission__ = Perm.BUDGETS_VIEW
    __audit_title__ = "Версия бюджета проекта"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "based_on_id": "На основе версии",
        "approved_at": "Утверждена",
        "superseded_at": "Заменена",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {"status": VERSION_STATUS_LABELS}

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=VersionStatus.DRAFT.value)
    guid: Mapped[str] = mapped_column(String(36), unique=True)  # what accounting knows it by
    comment: Mapped[str | None] = mapped_column(Text)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("budget_versions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_at: Mapped[dt.datetime | None]

    project: Mapped[Project] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )

    def audit_label(self) -> str:
        project = self.__dict__.get("project")  # never lazy-loaded while the audit writer runs
        name = project.code if project is not None else f"проекта #{self.project_id}"
        return f"Бюджет {name}, версия {self.number}"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT.value

    @property
    def status_label(self) -> str:
        return VERSION_STATUS_LABELS[VersionStatus(self.status)]


class BudgetLine(Base):
    """A planned amount of one article in one month of a version (zero cells are not stored).

    Not audited row by row: a grid save writes one audit entry on the version with every
    changed cell (see services.save_lines)."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        UniqueConstraint("version_id", "article_id", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("budget_versions.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("budget_articles.id"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    amount: Mapped[Money]

    version: Mapped[BudgetVersion] = relationship(back_populates="lines")
    article: Mapped[BudgetArticle] = relationship()


class BudgetActual(Audited, Base):
    """The cumulative actual of (project, article, month) as accounting last reported it."""

    __tablename__ = "budget_actuals"
    __table_args__ = (UniqueConstraint("project_id", "article_id", "month"),)
    __audit_view_permission__ = Perm.BUDGETS_VIEW
    __audit_title__ = "Факт бюджета"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("budget_articles.id"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    article: Mapped[BudgetArticle] = relationship()

    def audit_label(self) -> str:
        return f"Факт: проект {self.project_id}, {self.month:%Y-%m}"
