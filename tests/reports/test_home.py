"""The home page per role on the hand-counted department (tests/fixtures/reports.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from erp_crm.billing.models import Payment
from erp_crm.integration.models import OutboxMessage
from erp_crm.reports import home
from tests.fixtures.reports import NOW


def test_the_manager_sees_overdue_contacts_stuck_deals_and_the_month_plan(dept, db_session):
    page = home.home_for(db_session, dept["anna"], now=NOW)
    assert page.head is None and page.accountant is None and page.projects == []
    assert [a.id for a in page.seller["overdue"]] == [dept["a"]["a3"].id]
    assert page.seller["today"] == []
    assert page.seller["stuck_count"] == 0  # D1 won, D4 lost: no open deal of hers
    boris = home.home_for(db_session, dept["boris"], now=NOW)
    assert [d.id for d in boris.seller["stuck"]] == [dept["d2"].id]
    # December: nothing won yet, no plan.
    assert boris.seller["plan"]["won_amount"] == D("0.00")


def test_the_head_sees_the_department_funnel_and_overdue_by_manager(dept, db_session):
    page = home.home_for(db_session, dept["head"], now=NOW)
    assert page.seller is None
    assert page.head["overdue"] == [
        {"user_id": dept["anna"].id, "name": "Анна Петрова", "count": 1}
    ]
    deals = {row["stage"].percent: row["deals"] for row in page.head["stages"] if row["deals"]}
    assert deals == {20: 1, 70: 1}  # D2 open at 20 %, D1 won at 70 % (D4 lost is left out)


def test_the_accountant_sees_unallocated_payments_and_exchange_errors(
    dept, db_session, make_user, client
):
    accountant = make_user("accountant", username="rep_home_acc")
    db_session.add(
        Payment(
            accounting_id="pay-1",
            number="15",
            pay_date=dt.date(2026, 12, 1),
            payer_name="ООО «Плательщик»",
            amount=D("1000.00"),
            unallocated=D("400.00"),
        )
    )
    db_session.add(
        OutboxMessage(
            kind="counterparty", object_id=1, object_guid="0" * 36, payload={}, status="dead"
        )
    )
    db_session.flush()
    page = home.home_for(db_session, accountant, now=NOW)
    assert page.seller is None and page.head is None
    assert (page.accountant["unallocated_count"], page.accountant["unallocated_amount"]) == (
        1,
        D("400.00"),
    )
    assert page.accountant["dead_messages"] == 1
    client.login("rep_home_acc")
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'id="home-unallocated">1<', html)


def test_the_project_manager_sees_m2_against_the_plan_of_their_projects(
    dept, db_session, make_user, client
):
    lead = make_user("project_manager", username="rep_home_pm")
    dept["project"].project_manager_id = lead.id
    db_session.flush()
    page = home.home_for(db_session, lead, now=NOW)
    assert [row["project"].id for row in page.projects] == [dept["project"].id]
    area = page.projects[0]["area"]
    assert (area["sold"], area["plan"], area["capacity"]) == (D("12.00"), D("24.00"), D("48.00"))
    client.login("rep_home_pm")
    html = client.get("/").get_data(as_text=True)
    assert "ВолгаСтройЭкспо-2027" in html and "home-project" in html


@pytest.mark.parametrize(
    ("username", "marker"), [("rep_anna", 'id="home-seller"'), ("rep_head", 'id="home-head"')]
)
def test_every_role_gets_its_home_page(dept, client, username, marker):
    client.login(username)
    response = client.get("/")
    assert response.status_code == 200 and marker in response.get_data(as_text=True)
