"""The pre-aggregated report counters (erp_crm/reports/counters.py) against the records: each
counter-based figure equals its drill-down's row count, live maintenance equals the migration's
back-fill, and merges, reassignments, undo, cancellations and deletions keep them right."""

from __future__ import annotations

from sqlalchemy import select

from erp_crm.reports import counters, sales
from erp_crm.reports.models import ReportCounter
from tests.report_fixtures import NOW, YEAR


def _snapshot(session) -> list[tuple]:
    counters.refresh(session)
    c = ReportCounter
    rows = session.execute(
        select(*[getattr(c, k) for k in counters.COLUMNS]).order_by(
            c.kind, c.day, c.manager_id, c.project_id, c.type_id
        )
    ).all()
    return [
        tuple(
            float(v) if k.endswith(("m2", "amount", "days_sum")) else v
            for k, v in zip(counters.COLUMNS, r, strict=True)
        )
        for r in rows
    ]


def assert_live_equals_backfill(session) -> None:
    live = _snapshot(session)
    counters.rebuild(session.connection())
    assert live == _snapshot(session)


def test_live_counters_equal_the_backfill(dept, db_session):
    assert_live_equals_backfill(db_session)


def test_a_changed_closing_day_moves_the_deal_between_buckets(dept, db_session):
    from tests.report_fixtures import msk

    dept["d1"].closed_at = msk(2026, 11, 1, 9)
    db_session.flush()
    assert_live_equals_backfill(db_session)
