"""Sales plans by month, project and manager, and plan vs actual from won deals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erp_crm.audit.models import AuditEntry
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.projects import plans
from erp_crm.projects.models import SalesPlan
from tests.fixtures.projects import make_client, make_deal, make_project

JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)


@pytest.fixture
def head(make_user):
    return make_user("head_of_sales", username="head", full_name="Волков Андрей")


@pytest.fixture
def sellers(make_user):
    return [
        make_user("sales_manager", username="maria", full_name="Кузнецова Мария"),
        make_user("sales_manager", username="dmitry", full_name="Орлов Дмитрий"),
    ]


@pytest.fixture
def project(db_session, make_user, sellers):
    pm = make_user("project_manager", username="pmgr")
    return make_project(db_session, pm, member_ids=[u.id for u in sellers])


def won(session, project, manager, client, area, amount, closed_at):
    return make_deal(
        session,
        project,
        manager,
        client,
        outcome="won",
        area_m2=Decimal(area),
        amount=Decimal(amount),
        closed_at=closed_at,
    )


def cell(user, month, area, amount):
    return plans.PlanCell(user.id if user else None, month, area, amount)


def test_months_are_read_and_counted(db_session):
    assert plans.parse_month("2027-03") == MAR and plans.parse_month("март") is None
    assert plans.add_months(dt.date(2026, 11, 1), 3) == FEB
    assert plans.months_between(dt.date(2026, 12, 1), MAR) == [dt.date(2026, 12, 1), JAN, FEB, MAR]


def test_the_grid_stores_upserts_and_deletes_plan_cells(db_session, project, head, sellers):
    maria, _ = sellers
    changed = plans.save_plan(
        db_session,
        project,
        [
            cell(None, JAN, "100", "950 000"),
            cell(maria, JAN, "40,5", "380000"),
            cell(None, FEB, "", ""),
        ],
        actor=head,
    )
    assert changed == 2
    assert plans.plan_values(db_session, project.id) == {
        (None, JAN): (Decimal("100.00"), Decimal("950000.00")),
        (maria.id, JAN): (Decimal("40.50"), Decimal("380000.00")),
    }
    changed = plans.save_plan(
        db_session,
        project,
        [cell(None, JAN, "120", "950000"), cell(maria, JAN, "0", "0"), cell(None, FEB, "", "")],
        actor=head,
    )
    assert changed == 2
    rows = db_session.scalars(select(SalesPlan).where(SalesPlan.project_id == project.id)).all()
    assert [(r.user_id, r.month, r.area_m2) for r in rows] == [(None, JAN, Decimal("120.00"))]
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "sales_plan").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.changes["2027-01 · Весь проект"] == [
        "100.00 м², 950000.00 ₽",
        "120.00 м², 950000.00 ₽",
    ]


def test_wrong_plan_cells_are_refused_cell_by_cell(db_session, project, head, make_user):
    outsider = make_user("sales_manager", username="outsider")
    with pytest.raises(ValidationError) as err:
        plans.save_plan(
            db_session,
            project,
            [cell(None, JAN, "-5", "abc"), cell(outsider, JAN, "1", "1")],
            actor=head,
        )
    fields = err.value.fields
    assert fields["area-all-2027-01"] == "Значение не может быть отрицательным."
    assert fields["amount-all-2027-01"].startswith("Нужно число")
    assert "не в команде" in fields[f"area-{outsider.id}-2027-01"]
    assert db_session.scalars(select(SalesPlan)).all() == []


def test_only_plan_keepers_change_plans(db_session, project, sellers):
    with pytest.raises(PermissionDenied):
        plans.save_plan(db_session, project, [cell(None, JAN, "1", "1")], actor=sellers[0])


def test_plan_vs_actual_counts_won_deals_by_month_and_manager(
    db_session, project, head, sellers, make_user
):
    maria, dmitry = sellers
    admin = make_user("admin", username="boss")
    client = make_client(db_session, admin)
    plans.save_plan(
        db_session,
        project,
        [
            cell(None, JAN, "100", "1000000"),
            cell(None, FEB, "200", "2000000"),
            cell(maria, JAN, "60", "600000"),
            cell(dmitry, JAN, "40", "400000"),
        ],
        actor=head,
    )
    # 31 January 22:30 UTC is 1 February 01:30 in Moscow: a February sale.
    won(
        db_session, project, maria, client, 30, "300000", dt.datetime(2027, 1, 15, 9, tzinfo=dt.UTC)
    )
    won(
        db_session,
        project,
        maria,
        client,
        20,
        "180000",
        dt.datetime(2027, 1, 31, 22, 30, tzinfo=dt.UTC),
    )
    won(
        db_session,
        project,
        dmitry,
        client,
        10,
        "95000",
        dt.datetime(2027, 1, 20, 12, tzinfo=dt.UTC),
    )
    make_deal(db_session, project, dmitry, client, area_m2=Decimal(99), amount=Decimal(1))  # open
    make_deal(
        db_session,
        project,
        dmitry,
        client,
        outcome="lost",
        area_m2=Decimal(50),
        lost_reason_id=1,
        closed_at=dt.datetime(2027, 1, 10, tzinfo=dt.UTC),
    )
    other = make_project(db_session, admin, code="OTHER")
    won(db_session, other, maria, client, 500, "5000000", dt.datetime(2027, 1, 10, tzinfo=dt.UTC))

    report = plans.plan_vs_actual(db_session, project)
    jan, feb = report.by_month["2027-01"], report.by_month["2027-02"]
    assert (jan.plan_area, jan.fact_area, jan.fact_amount, jan.deals) == (
        Decimal("100.00"),
        Decimal("40.00"),
        Decimal("395000.00"),
        2,
    )
    assert jan.area_percent == Decimal("40.0") and jan.amount_percent == Decimal("39.5")
    assert (feb.plan_area, feb.fact_area, feb.deals) == (Decimal("200.00"), Decimal("20.00"), 1)
    assert (report.total.plan_area, report.total.fact_area) == (Decimal("300.00"), Decimal("60.00"))
    assert report.total.area_percent == Decimal("20.0")
    by_manager = {row.owner.label: row for row in report.managers}
    assert by_manager["Кузнецова Мария"].total.fact_area == Decimal("50.00")
    assert by_manager["Кузнецова Мария"].total.area_percent == Decimal("83.3")
    assert by_manager["Кузнецова Мария"].by_month["2027-02"].plan_area == 0
    assert by_manager["Орлов Дмитрий"].total.fact_amount == Decimal("95000.00")
    # billing answers the paid question: counted, and nothing is paid yet
    assert report.plan_source == "project" and report.paid_counted
    assert report.total.paid == Decimal("0.00")
    assert MAR in report.months  # a year of selling up to the opening in March 2027


def test_without_a_project_plan_the_managers_plans_add_up(db_session, project, head, sellers):
    maria, dmitry = sellers
    plans.save_plan(
        db_session,
        project,
        [cell(maria, JAN, "60", "600"), cell(dmitry, JAN, "40", "400")],
        actor=head,
    )
    report = plans.plan_vs_actual(db_session, project)
    assert report.plan_source == "managers"
    assert report.by_month["2027-01"].plan_area == Decimal("100.00")
    summary = plans.projects_summary(db_session, [project])[project.id]
    assert (summary.plan_area, summary.plan_amount) == (Decimal("100.00"), Decimal("1000.00"))


# --- pages --------------------------------------------------------------------------------------


def test_the_grid_page_saves_a_plan_and_reports_wrong_cells(
    client, db_session, project, head, sellers
):
    maria, _ = sellers
    client.login("head")
    page = client.get(f"/plans/{project.id}/edit?start=2027-01&end=2027-03").get_data(as_text=True)
    assert 'name="area-all-2027-01"' in page and f'name="amount-{maria.id}-2027-03"' in page
    response = client.submit(
        f"/plans/{project.id}/edit",
        {"start": "2027-01", "end": "2027-03", "area-all-2027-01": "-1", "amount-all-2027-01": ""},
    )
    assert response.status_code == 422
    assert "Значение не может быть отрицательным." in response.get_data(as_text=True)
    response = client.submit(
        f"/plans/{project.id}/edit",
        {
            "start": "2027-01",
            "end": "2027-03",
            "area-all-2027-01": "150",
            "amount-all-2027-01": "1 425 000",
            f"area-{maria.id}-2027-02": "75",
            f"amount-{maria.id}-2027-02": "712500",
        },
    )
    assert response.status_code == 302
    assert plans.plan_values(db_session, project.id)[(maria.id, FEB)] == (
        Decimal("75.00"),
        Decimal("712500.00"),
    )


def test_the_report_and_the_project_page_show_plan_vs_actual(
    client, db_session, project, head, sellers, make_user
):
    maria, _ = sellers
    plans.save_plan(db_session, project, [cell(None, JAN, "100", "1000000")], actor=head)
    admin = make_user("admin", username="boss")
    won(
        db_session,
        project,
        maria,
        make_client(db_session, admin),
        25,
        "250000",
        dt.datetime(2027, 1, 12, tzinfo=dt.UTC),
    )
    db_session.commit()
    client.login("maria")
    report = client.get(f"/plans/{project.id}").get_data(as_text=True).replace("\xa0", " ")
    assert "январь 2027" in report and "25,0%" in report and "Кузнецова Мария" in report
    assert "появятся" not in report and "Оплачено, ₽" in report
    card = client.get(f"/projects/{project.id}").get_data(as_text=True).replace("\xa0", " ")
    assert "План продаж и факт" in card and "1 000 000,00" in card and "25,0%" in card
    assert "появятся после подключения" not in card
    index = client.get("/plans/").get_data(as_text=True)
    assert project.name in index
    assert client.get(f"/plans/{project.id}/edit").status_code == 403
