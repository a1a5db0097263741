"""The pre-aggregated report counters (erp_crm/reports/counters.py) against the records: each
counter-based figure equals its drill-down's row count, live maintenance equals the migration's
back-fill, and merges, reassignments, undo, cancellations and deletions keep them right."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from erp_crm.activities import services as activities
from erp_crm.clients import services as clients
from erp_crm.clients.dedupe.merging import merge_clients
from erp_crm.clients.dedupe.unmerging import unmerge_client
from erp_crm.deals import services as deals
from erp_crm.deals.models import LostReason
from erp_crm.reports import counters, sales
from erp_crm.reports.models import ReportCounter, StageMove
from tests.fixtures.reports import NOW, YEAR, msk


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
    dept["d1"].closed_at = msk(2026, 11, 1, 9)
    db_session.flush()
    assert_live_equals_backfill(db_session)


def test_a_period_splits_into_whole_months_and_live_edges():
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


# --- each counter-based figure equals its drill-down --------------------------------------------

COUNTED = [*sales.ACTIVITY_FIGURES, *sales.DEAL_FIGURES]


def assert_figures_equal_drill_downs(session, f) -> None:
    rows, total = sales.manager_rows(session, f, sales.sellers(session), now=NOW)
    for row in rows:
        mine = f.with_(manager_id=row.user_id)
        for figure in COUNTED:
            listed = sales.count_records(session, mine, figure, NOW)
            assert row[figure] == listed, (row.name, figure, f)
    for figure in COUNTED:
        assert total[figure] == sum(row[figure] for row in rows)


PERIODS = {
    "year": YEAR,  # whole months: all from the counters
    "edges": YEAR.with_(date_from=dt.date(2026, 11, 5), date_to=dt.date(2026, 12, 20)),
    "one month": YEAR.with_(date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30)),
    "inside a month": YEAR.with_(date_from=dt.date(2026, 11, 3), date_to=dt.date(2026, 11, 12)),
}


@pytest.mark.parametrize("period", list(PERIODS))
def test_each_counter_figure_equals_its_drill_down(dept, db_session, period):
    f = PERIODS[period]
    assert counters.usable(f)
    assert_figures_equal_drill_downs(db_session, f)
    assert_figures_equal_drill_downs(db_session, f.with_(project_id=dept["project"].id))
    assert_figures_equal_drill_downs(db_session, f.with_(project_id=dept["project2"].id))


def test_the_table_by_contact_type_equals_its_drill_downs(dept, db_session):
    anna = dept["anna"]
    for f in PERIODS.values():
        report = sales.personal_report(db_session, anna, f, now=NOW)
        assert report.by_type
        for t in report.by_type:
            narrowed = f.with_(manager_id=anna.id, type_id=t.type_id)
            for figure in sales.ACTIVITY_FIGURES:
                listed = sales.count_records(db_session, narrowed, figure, NOW)
                assert t.counts[figure] == listed, (t.name, figure)


def test_the_hand_count_reads_the_counters(dept, db_session):
    """The year's figures (tests/test_reports.py's hand count) come from the counter rows."""
    anna = dept["anna"]
    c = ReportCounter
    planned = db_session.scalar(
        select(func.sum(c.planned)).where(c.kind == "a", c.manager_id == anna.id)
    )
    assert planned == 5  # a1, a2, a2f, a3 in 2026 and a6 in December 2025
    row = next(
        r for r in sales.department_report(db_session, YEAR, now=NOW).rows if r.user_id == anna.id
    )
    assert (row["planned"], row["won"], row["won_amount"]) == (4, 1, D("114000.00"))


# --- changes keep the counters right ------------------------------------------------------------


def _check(session) -> None:
    session.flush()
    assert_live_equals_backfill(session)
    for f in PERIODS.values():
        assert_figures_equal_drill_downs(session, f)


def test_cancelled_moved_and_deleted_contacts(dept, db_session):
    a = dept["a"]
    head = dept["head"]
    activities.cancel(db_session, a["a3"], actor=head)  # was overdue: no longer planned
    _check(db_session)
    activities.move(db_session, a["a2f"], dt.datetime(2027, 1, 12, 10, 0), actor=head, now=NOW)
    _check(db_session)  # out of 2026 into January 2027
    db_session.delete(a["a4"])
    _check(db_session)


def test_a_stage_move_makes_an_earlier_contact_forward(dept, db_session):
    a, head = dept["a"], dept["head"]
    a["a1"].result_kind = "other"  # a1 is no longer forward by its result…
    _check(db_session)
    d1 = dept["d1"]
    a["a1"].deal_id = d1.id
    a["a1"].completed_at = msk(2026, 11, 20, 8)
    db_session.flush()
    db_session.add(
        StageMove(
            deal_id=d1.id,
            project_id=d1.project_id,
            pipeline_id=d1.pipeline_id,
            to_stage_id=d1.stage_id,
            from_percent=40,
            to_percent=70,
            at=msk(2026, 11, 20, 12),
            manager_id=d1.manager_id,
            actor_id=head.id,
            outcome="won",
        )
    )
    _check(db_session)  # …but its deal moved up four hours later: forward again
    anna = next(
        r
        for r in sales.department_report(db_session, YEAR, now=NOW).rows
        if r.user_id == dept["anna"].id
    )
    assert anna["forward"] == 1


def test_reassigned_deals_and_clients_move_their_figures(dept, db_session):
    anna, boris, head = dept["anna"], dept["boris"], dept["head"]
    dept["d1"].manager_id = boris.id  # the won deal and its m², money, days to the sale
    _check(db_session)
    before = {r.user_id: r for r in sales.department_report(db_session, YEAR, now=NOW).rows}
    assert before[boris.id]["won"] == 1 and before[anna.id]["won"] == 0
    clients.reassign_clients(db_session, anna, [boris], actor=head)  # open deals, planned contacts
    _check(db_session)


def test_closing_losing_and_reopening_deals(dept, db_session):
    head = dept["head"]
    reason = db_session.scalar(select(LostReason).where(LostReason.is_active.is_(True)))
    deals.mark_lost(db_session, dept["d2"], reason.id, "дорого", actor=head)
    _check(db_session)
    dept["d1"].closed_at = msk(2027, 2, 1)  # the sale leaves the year
    _check(db_session)


def test_a_merge_and_its_undo_keep_the_days_to_the_sale(dept, db_session):
    head, c1, c2 = dept["head"], dept["c1"], dept["c2"]
    # C2's contacts start before C1's first one; merged into C1, they become D1's first contact.
    early = dept["a"]["a3"]  # A · C2 · P: made a done contact of November 2025
    early.starts_at = msk(2025, 11, 1)
    early.status, early.completed_at, early.result_kind = "done", msk(2025, 11, 1, 11), "other"
    _check(db_session)
    merge_clients(db_session, c1, c2, actor=head)
    _check(db_session)
    row = next(
        r
        for r in sales.department_report(db_session, YEAR, now=NOW).rows
        if r.user_id == dept["anna"].id
    )
    assert row.sale_days == D((msk(2026, 11, 20) - msk(2025, 11, 1)).days).quantize(D("0.1"))
    unmerge_client(db_session, c2, actor=head)
    _check(db_session)


# --- the migration's back-fill on an existing database -----------------------------------------


def test_the_migrations_backfill_equals_live_maintenance(dept, db_session):
    """Drop the counters table and run migration 0020 again on the fixture's data: the
    back-filled counters are the ones live maintenance kept."""
    import importlib.util
    from pathlib import Path

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    live = _snapshot(db_session)
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0020_report_counters.py"
    spec = importlib.util.spec_from_file_location("m0020", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    context = MigrationContext.configure(db_session.connection())
    with Operations.context(context):
        migration.downgrade()
        migration.upgrade()
    for task in migration.AT_HEAD:  # what migrations/env.py runs once at head
        module, _, name = task.partition(":")
        getattr(importlib.import_module(module), name)(db_session.connection())
    assert _snapshot(db_session) == live
