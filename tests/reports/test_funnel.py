"""The funnel, forecast, m², leads and tasks on the hand-counted department
(tests/fixtures/reports.py), the ledger's times set by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from sqlalchemy import select

from erp_crm.activities.models import Task
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deals
from erp_crm.deals.models import Lead
from erp_crm.reports import funnel, sales
from erp_crm.reports.models import StageMove
from tests.fixtures.reports import NOW, YEAR, msk


def _times(session, deal, *moments):
    moves = session.scalars(
        select(StageMove).where(StageMove.deal_id == deal.id).order_by(StageMove.id)
    ).all()
    assert len(moves) == len(moments)
    for move, at in zip(moves, moments, strict=True):
        move.at = at
    session.flush()


def _funnel(dept, db_session, project_key="project"):
    pipeline = deals.pipeline_by_code(db_session, "sales")
    return funnel.funnel(db_session, dept[project_key], pipeline, YEAR, now=NOW)


def test_the_funnel_counts_reached_current_and_conversion_from_the_ledger(dept, db_session):
    _times(db_session, dept["d1"], msk(2026, 10, 1), msk(2026, 10, 11))
    _times(db_session, dept["d2"], msk(2026, 11, 1), msk(2026, 11, 5), msk(2026, 11, 11, 14))
    report = _funnel(dept, db_session)
    by_percent = {row.stage.percent: row for row in report.stages}
    # D1 went 0 → 70 (passing 10 … 60), D2 0 → 10 → 20.
    assert [by_percent[p].reached for p in (0, 10, 20, 40, 60, 70, 80, 90, 100)] == [
        2, 2, 2, 1, 1, 1, 0, 0, 0,
    ]  # fmt: skip
    assert {p: r.current for p, r in by_percent.items() if r.current} == {20: 1, 70: 1}
    # The stage counts are the deals: every deal of the project's pipeline sits at one stage.
    assert sum(r.current + r.lost_here for r in report.stages) == report.deals == 2
    assert (by_percent[20].conversion, by_percent[20].drop_off) == (D("50.0"), 1)
    assert by_percent[0].conversion == D("100.0") and by_percent[70].conversion == D("0.0")
    # Stays in «0 %»: D1 10 days, D2 4 days → median 7; in «10 %»: D2 6 days 4 hours.
    assert by_percent[0].median_days == D("7.0")
    assert by_percent[10].median_days == D("6.2")
    assert by_percent[20].median_days is None  # D2 is still there
    # The reached drill-down lists the same deals.
    f = report.filter.with_(stage_id=by_percent[40].stage.id)
    assert {d.id for d in db_session.scalars(sales.records_query(f, "reached", NOW))} == {
        dept["d1"].id
    }


def test_sale_length_velocity_stuck_deals_and_m2(dept, db_session):
    deal_lines.add_space_line(
        db_session, dept["d2"], stand_type="raw", area_m2="6", actor=dept["head"]
    )
    report = _funnel(dept, db_session)
    assert (report.won, report.lost, report.open) == (1, 0, 1)
    assert report.avg_sale_days == D("50.0")  # D1: 01.10 → 20.11
    assert report.avg_won_amount == D("114000.00")
    assert report.velocity == D("2280.00")  # 1 open × 1/1 won × 114 000 / 50 days
    assert [d.id for d in report.stuck] == [dept["d2"].id]  # no planned contact on D2
    assert report.area == {
        "capacity": D("48.00"),  # four 12 m² stands
        "sold": D("12.00"),
        "reserved": D("0.00"),
        "weighted": D("1.20"),  # 6 m² × 20 %
        "free": D("36.00"),
        "plan": D("24.00"),  # no project plan: the managers' plans
        "stuck_count": D("1"),
    }
    assert report.forecast == [
        {
            "month": "2027-03",
            "deals": 1,
            "amount": D("57000.00"),
            "weighted": D("11400.00"),
            "weighted_m2": D("1.20"),
        }
    ]


def test_lost_reasons_and_lost_revenue(dept, db_session):
    report = _funnel(dept, db_session, "project2")
    assert [(r["name"], r["count"], r["amount"]) for r in report.lost_reasons] == [
        ("Нет бюджета", 1, D("0.00"))
    ]
    assert report.lost_amount == D("0.00")
    assert _funnel(dept, db_session).lost_reasons == []


def test_leads_by_source_and_tasks_per_person(dept, db_session):
    s, boris, head = db_session, dept["boris"], dept["head"]
    s.add_all(
        [
            Lead(source="web", company_name="А", status="converted", created_at=msk(2026, 5, 1)),
            Lead(source="web", company_name="Б", status="new", created_at=msk(2026, 5, 2)),
            Lead(
                source="call",
                company_name="В",
                status="rejected",
                reject_reason="спам",
                created_at=msk(2026, 5, 3),
            ),
            Lead(source="call", company_name="Г", status="new", created_at=msk(2025, 5, 3)),
        ]
    )
    for status, due in (("done", 10), ("new", 20)):
        s.add(
            Task(
                author_id=head.id,
                assignee_id=boris.id,
                goal="Запрос",
                due_on=dt.date(2026, 11, due),
                status=status,
            )
        )
    s.add(
        Task(
            author_id=head.id,
            assignee_id=boris.id,
            goal="Позже",
            due_on=dt.date(2026, 12, 30),
            status="accepted",
        )
    )
    s.flush()
    leads = {r["source"]: r for r in funnel.leads_by_source(s, YEAR)}
    assert (leads["web"]["leads"], leads["web"]["converted"], leads["web"]["conversion_pct"]) == (
        2,
        1,
        D("50.0"),
    )
    assert (leads["call"]["leads"], leads["call"]["rejected"]) == (1, 1)
    tasks = funnel.tasks_by_person(s, YEAR, dt.date(2026, 12, 7))
    assert [(t["name"], t["tasks"], t["done"], t["overdue"]) for t in tasks] == [
        ("Борис Иванов", 3, 1, 1)
    ]
