"""The pre-aggregated report counters (erp_crm/reports/counters.py) against the records: each
counter-based figure equals its drill-down's row count, live maintenance equals the migration's
back-fill, and merges, reassignments, undo, cancellations and deletions keep them right."""

from __future__ import annotations

from sqlalchemy import select

from erp_crm.reports import counters
from erp_crm.reports.models import ReportCounter


def _snapshot(session) -> list[tuple]:
    counters.refresh(session)
    c = ReportCounter
    rows = session.execute(
        select(*[getattr(c, k) for k in counters.COLUMNS]).order_by(
            c.kind, c.month, c.manager_id, c.project_id, c.type_id
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


def test_a_period_splits_into_whole_months_and_live_edges():
    import datetime as dt

    from erp_crm.reports.filters import ReportFilter

    def split(a, b):
        months, edges = counters.split(ReportFilter(date_from=a, date_to=b))
        return months, [(e.date_from, e.date_to) for e in edges]

    d = dt.date
    assert split(d(2026, 1, 1), d(2026, 12, 31)) == ((d(2026, 1, 1), d(2026, 12, 1)), [])
    assert split(d(2026, 1, 15), d(2026, 3, 10)) == (
        (d(2026, 2, 1), d(2026, 2, 1)),
        [(d(2026, 1, 15), d(2026, 1, 31)), (d(2026, 3, 1), d(2026, 3, 10))],
    )
    assert split(d(2026, 2, 1), d(2026, 2, 27)) == (None, [(d(2026, 2, 1), d(2026, 2, 27))])
    assert split(d(2026, 2, 1), d(2026, 2, 28)) == ((d(2026, 2, 1), d(2026, 2, 1)), [])
