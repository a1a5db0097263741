"""The stage-transition ledger: one row per stage move of a deal, as it was at the move.

Reports read this ledger (never the audit text): the funnel's «reached the stage», time in a
stage, velocity and the forecast's history all come from it. A row is written by the reports'
receiver of `deal_stage_changed`, in the mover's transaction; the migration back-filled the moves
recorded before the ledger existed from `deal_stage_changes` (their m² and amount are the deal's at
the back-fill, the best that was known).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from erp_crm.activities.models import Activity
from erp_crm.db import Base, Money, utcnow


class StageMove(Base):
    __tablename__ = "report_stage_moves"
    __table_args__ = (
        Index("ix_report_stage_moves_project_pipeline_at", "project_id", "pipeline_id", "at"),
        Index("ix_report_stage_moves_deal_at", "deal_id", "at"),
        # the funnel: each deal's furthest stage, and its stays in order, from the index alone
        Index("ix_report_stage_moves_deal_stage", "deal_id", "to_stage_id"),
        Index(
            "ix_report_stage_moves_project_deal_at",
            "project_id",
            "deal_id",
            "at",
            "id",
            "to_stage_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The deals area's own record of the move (unique: a move is in the ledger once).
    change_id: Mapped[int | None] = mapped_column(ForeignKey("deal_stage_changes.id"), unique=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    from_percent: Mapped[int | None] = mapped_column(SmallInteger)
    to_percent: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the deal's, at the move
    area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    outcome: Mapped[str] = mapped_column(String(8))  # the deal's outcome after the move

    @property
    def is_forward(self) -> bool:
        return self.from_percent is None or self.to_percent > self.from_percent


class ReportCounter(Base):
    """The pre-aggregated figures of one bucket (see `erp_crm.reports.counters`)."""

    __tablename__ = "report_counters"
    __table_args__ = (
        Index(
            "uq_report_counters_bucket",
            "kind",
            "month",
            "manager_id",
            "project_id",
            "type_id",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))  # 'a' contacts, 'd' deals
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the Moscow month
    manager_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: no project
    type_id: Mapped[int] = mapped_column(Integer, default=0)  # the contact type; 0 for deals
    planned: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    on_time: Mapped[int] = mapped_column(default=0)
    postponed: Mapped[int] = mapped_column(default=0)
    forward: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    won: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)
    won_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    won_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    lost_m2: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    lost_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    sale_days_sum: Mapped[float] = mapped_column(Float, default=0.0)
    sale_days_n: Mapped[int] = mapped_column(default=0)


# The reports' own index on the contacts: «days from the first contact to the sale» looks up the
# earliest done contact of each won deal's client × project (bench/reports.py: 42 000 look-ups
# of the heap by client become index-only reads of the first entry; not a partial index, which
# a generic plan with the status as a parameter could not use).
Index(
    "ix_activities_first_done_contact",
    Activity.client_id,
    Activity.project_id,
    Activity.status,
    Activity.starts_at,
)


# «Client × project pairs worked» is a distinct count over the period's done contacts: with the
# responsible person, client and project in the index it is read from the index alone.
Index(
    "ix_activities_done_pairs",
    Activity.status,
    Activity.starts_at,
    Activity.responsible_id,
    Activity.client_id,
    Activity.project_id,
)
