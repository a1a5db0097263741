"""The sales reports against a hand-counted department (tests/fixtures/reports.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from sqlalchemy import func, select

from erp_crm.reports import sales
from erp_crm.reports.models import StageMove
from tests.fixtures.reports import NOW, YEAR, msk


def _rows(report):
    return {row.name: row for row in report.rows}


def test_a_stage_move_is_written_to_the_ledger_with_its_m2_amount_and_manager(dept, db_session):
    moves = db_session.scalars(
        select(StageMove).where(StageMove.deal_id == dept["d1"].id).order_by(StageMove.id)
    ).all()
    assert [(m.from_percent, m.to_percent) for m in moves] == [(None, 0), (0, 70)]
    sale = moves[-1]
    assert (sale.area_m2, sale.amount) == (D("12.00"), D("114000.00"))
    assert sale.manager_id == dept["anna"].id and sale.outcome == "won"
    assert sale.actor_id == dept["head"].id and sale.change_id is not None
    # D2 moved under Anna, then under Boris: the ledger keeps who had it at each move.
    managers = db_session.scalars(
        select(StageMove.manager_id)
        .where(StageMove.deal_id == dept["d2"].id)
        .order_by(StageMove.id)
    ).all()
    assert managers == [dept["anna"].id, dept["anna"].id, dept["boris"].id]


def test_the_managers_figures_equal_the_hand_count(dept, db_session):
    report = sales.department_report(db_session, YEAR, now=NOW)
    rows = _rows(report)
    anna, boris, head = rows["Анна Петрова"], rows["Борис Иванов"], rows["Руководитель ОП"]
    # Anna: a1, a2, a2f, a3 planned (a4 cancelled, a6 outside the period); a1, a2 done; a3 overdue;
    # a1 on time (a2 three days late); a1 forward (invitation); a2 postponed; pair C1 × P.
    assert {k: anna[k] for k in sales.ACTIVITY_FIGURES} == {
        "planned": 4,
        "done": 2,
        "overdue": 1,
        "on_time": 1,
        "forward": 1,
        "postponed": 1,
    }
    assert anna["pairs"] == 1 and anna.effectiveness == D("50.0")
    assert anna.postponements_per_pair == D("1.00")
    # Anna's deals: D1 opened and won, D4 opened and lost; D2 went to Boris.
    assert (anna["opened"], anna["won"], anna["lost"]) == (2, 1, 1)
    assert (anna["won_m2"], anna["won_amount"]) == (D("12.00"), D("114000.00"))
    assert (anna["plan_m2"], anna["plan_amount"]) == (D("24.00"), D("228000.00"))
    assert (anna.plan_m2_pct, anna.plan_amount_pct) == (D("50.0"), D("50.0"))
    first_contact, sale = msk(2025, 12, 15), msk(2026, 11, 20)
    assert anna.sale_days == D((sale - first_contact).days).quantize(D("0.1"))  # 340 days
    assert (anna["rated"], anna.rating_avg) == (1, D("5.00"))
    # Boris: a5, a5f, a7 planned; a5, a7 done, both on time; a7 moved D2 forward; a5 postponed.
    assert {k: boris[k] for k in sales.ACTIVITY_FIGURES} == {
        "planned": 3,
        "done": 2,
        "overdue": 0,
        "on_time": 2,
        "forward": 1,
        "postponed": 1,
    }
    # a5's client C3 was merged into C1: Boris's pairs are C1 × P and C2 × P.
    assert boris["pairs"] == 2 and boris.postponements_per_pair == D("0.50")
    assert (boris["opened"], boris["won"], boris["lost"]) == (1, 0, 0)
    assert (boris["rated"], boris.rating_avg) == (1, D("3.00"))
    assert boris.sale_days is None and boris.plan_m2_pct is None
    assert all(head[k] == 0 for k in sales.ADDITIVE)


def test_the_department_total_is_the_sum_of_its_rows_and_of_the_records(dept, db_session):
    report = sales.department_report(db_session, YEAR, now=NOW)
    for key in sales.ADDITIVE:
        assert report.total[key] == sum(row[key] for row in report.rows), key
    # …and each counted figure equals its records counted without any manager split.
    for key in sales.FIGURES:
        if key in report.total.values:
            assert report.total[key] == sales.count_records(db_session, YEAR, key, NOW), key
    assert report.total.effectiveness == D("50.0")  # 2 forward of 4 done
    assert (report.total["planned"], report.total["won"], report.total["opened"]) == (7, 1, 3)


def test_a_reassigned_deal_and_a_merged_client_are_counted_once(dept, db_session):
    report = sales.department_report(db_session, YEAR, now=NOW)
    rows = _rows(report)
    # D2 had two ledger moves under Anna: it is counted once, under its manager Boris.
    assert rows["Анна Петрова"]["opened"] + rows["Борис Иванов"]["opened"] == 3
    opened = db_session.scalars(
        sales.records_query(YEAR.with_(manager_id=dept["anna"].id), "opened", NOW)
    ).all()
    assert {d.id for d in opened} == {dept["d1"].id, dept["d4"].id}
    # C1 and its merged duplicate C3 are one client: the postponements table has one C1 × P row
    # per manager, none for C3.
    pairs = sales.postponement_pairs(db_session, YEAR.with_(manager_id=dept["boris"].id))
    assert [(p.client_id, p.postponed) for p in pairs] == [(dept["c1"].id, 1)]
    assert report.total["pairs"] == 3


def test_each_figure_drills_down_to_exactly_its_records(dept, db_session):
    a = dept["a"]
    anna = YEAR.with_(manager_id=dept["anna"].id)

    def ids(f, figure):
        return {r.id for r in db_session.scalars(sales.records_query(f, figure, NOW))}

    assert ids(anna, "planned") == {a["a1"].id, a["a2"].id, a["a2f"].id, a["a3"].id}
    assert ids(anna, "overdue") == {a["a3"].id}
    assert ids(anna, "forward") == {a["a1"].id}
    assert ids(YEAR.with_(manager_id=dept["boris"].id), "forward") == {a["a7"].id}
    assert ids(anna, "won") == {dept["d1"].id}
    assert ids(anna, "lost") == {dept["d4"].id}


def test_the_personal_report_splits_contacts_by_type(dept, db_session):
    report = sales.personal_report(db_session, dept["anna"], YEAR, now=NOW)
    by_type = {t.name: t.counts for t in report.by_type}
    assert by_type["Встреча"]["planned"] == 1 and by_type["Встреча"]["overdue"] == 1
    assert by_type["Звонок"]["planned"] == 3 and by_type["Звонок"]["done"] == 2
    assert sum(t.counts["planned"] for t in report.by_type) == report.row["planned"]
    assert [(p.client, p.postponed) for p in report.pairs] == [("ООО «Первый»", 1)]


def test_filters_narrow_every_figure(dept, db_session):
    # Project P2 holds only D4 (lost); the project group report counts just that.
    report = sales.project_group_report(db_session, dept["project2"], YEAR, now=NOW)
    assert report.total["lost"] == 1 and report.total["opened"] == 1
    assert report.total["planned"] == 0 and report.total["won"] == 0
    # November only: a2f (20.12), a3 (01.12), a5f (21.12) fall out.
    november = YEAR.with_(date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30))
    total = sales.department_report(db_session, november, now=NOW).total
    assert (total["planned"], total["overdue"], total["opened"]) == (4, 0, 2)
    assert db_session.scalar(select(func.count(StageMove.id))) >= 5


def test_managers_are_ranked_by_money_then_m2_then_effectiveness(dept, db_session):
    report = sales.department_report(db_session, YEAR, now=NOW)
    ranking = [(place, row.name) for place, row in report.ranking]
    # Anna sold 114 000; Boris and the head sold nothing, Boris's effectiveness 50 % beats none.
    assert ranking == [(1, "Анна Петрова"), (2, "Борис Иванов"), (3, "Руководитель ОП")]


def test_days_to_sale_count_only_the_contacts_before_the_sale(dept, db_session):
    """A deal sold before any done contact of its client in the project (the contacts came
    after: handing over the stand, the follow-up) has no «days to sale», never a negative one."""
    from erp_crm.activities.models import Activity

    d1 = dept["d1"]
    d1.closed_at = msk(2026, 11, 1, 9)  # before a1 (2 Nov) and a2; a6 (Dec 2025) stays before
    db_session.flush()
    rows = _rows(sales.department_report(db_session, YEAR, now=NOW))
    days = (dt.date(2026, 11, 1) - dt.date(2025, 12, 15)).days  # Moscow calendar days
    assert rows["Анна Петрова"].sale_days == D(days).quantize(D("0.1"))
    for activity in db_session.scalars(
        select(Activity).where(
            Activity.client_id == dept["c1"].id, Activity.starts_at < d1.closed_at
        )
    ):
        activity.starts_at = msk(2026, 11, 2)  # now every done contact follows the sale
    db_session.flush()
    rows = _rows(sales.department_report(db_session, YEAR, now=NOW))
    assert rows["Анна Петрова"].sale_days is None
