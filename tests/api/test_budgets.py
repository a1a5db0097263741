"""Budgets in the API end to end: a draft version, its cells, approval (the previous approved
version is superseded), the actuals from accounting; a wrong cell is a Russian 422 and stores
nothing; an accountant reads but may not change (the budget pages' services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from erp_crm.budgets import services
from erp_crm.core.guids import guid_for


@pytest.fixture
def keeper(make_user, api_token):
    make_user("project_manager", username="budkeeper")
    return api_token("budkeeper")


@pytest.fixture
def articles(client, keeper):
    items = client.get("/api/v1/budget-articles", headers=keeper).get_json()["items"]
    return {a["code"]: a for a in items}


@pytest.fixture
def project(client, keeper):
    body = {"name": "Бюджет-2027", "code": "BUD-API", "opening_date": "2027-03-16",
            "closing_date": "2027-03-18"}  # fmt: skip
    response = client.post("/api/v1/projects", json=body, headers=keeper)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _draft(client, keeper, project, **body):
    url = f"/api/v1/projects/{project['id']}/budget-versions"
    response = client.post(url, json=body, headers=keeper)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_draft_gets_cells_is_approved_and_the_next_copies_it(client, keeper, articles, project):
    draft = _draft(client, keeper, project, comment="Первый план")
    assert draft["number"] == 1 and draft["status"] == "draft" and draft["lines"] == []
    lines = [
        {"article_id": articles["INC-SPACE"]["id"], "month": "2027-01", "amount": "150000"},
        {"article_id": articles["EXP-ADV"]["id"], "month": "2026-12-01", "amount": 20000.5},
    ]
    url = f"/api/v1/budget-versions/{draft['id']}/lines"
    response = client.put(url, json={"lines": lines}, headers=keeper)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert saved["changed"] == 2
    assert saved["total_income"] == "150000.00" and saved["total_expense"] == "20000.50"
    assert {(c["article_code"], c["month"], c["amount"]) for c in saved["lines"]} == {
        ("INC-SPACE", "2027-01", "150000.00"),
        ("EXP-ADV", "2026-12", "20000.50"),
    }
    response = client.post(f"/api/v1/budget-versions/{draft['id']}/approve", headers=keeper)
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    assert response.get_json()["exchange_status"] == "pending"
    response = client.put(url, json={"lines": lines[:1]}, headers=keeper)
    assert response.status_code == 409
    assert "утверждена и не меняется" in response.get_json()["error"]["message"]
    second = _draft(client, keeper, project)
    assert second["number"] == 2 and len(second["lines"]) == 2
    client.put(
        f"/api/v1/budget-versions/{second['id']}/lines",
        json={"lines": [{**lines[1], "amount": ""}]},
        headers=keeper,
    )
    client.post(f"/api/v1/budget-versions/{second['id']}/approve", headers=keeper)
    versions = client.get(
        f"/api/v1/projects/{project['id']}/budget-versions", headers=keeper
    ).get_json()["items"]
    assert [(v["number"], v["status"]) for v in versions] == [(2, "approved"), (1, "superseded")]


def test_a_wrong_cell_is_a_russian_422_and_nothing_is_stored(client, keeper, articles, project):
    draft = _draft(client, keeper, project)
    url = f"/api/v1/budget-versions/{draft['id']}/lines"
    good = {"article_id": articles["INC-SPACE"]["id"], "month": "2027-01", "amount": "100"}
    bad = {"article_id": articles["EXP-ADV"]["id"], "month": "2027-01", "amount": "-5"}
    response = client.put(url, json={"lines": [good, bad]}, headers=keeper)
    assert response.status_code == 422
    assert "Проверьте отмеченные ячейки бюджета (1)" in response.get_json()["error"]["message"]
    response = client.put(url, json={"lines": [{**good, "month": "январь"}]}, headers=keeper)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["lines[0].month"] == (
        "Месяц — «ГГГГ-ММ», например 2027-03."
    )
    response = client.put(url, json={"lines": [{**good, "article_id": "1"}]}, headers=keeper)
    assert response.status_code == 422
    assert (
        client.get(f"/api/v1/budget-versions/{draft['id']}", headers=keeper).get_json()["lines"]
        == []
    )


def test_an_empty_draft_is_not_approved_and_a_second_draft_is_refused(client, keeper, project):
    draft = _draft(client, keeper, project)
    response = client.post(f"/api/v1/budget-versions/{draft['id']}/approve", headers=keeper)
    assert response.status_code == 422
    assert (
        response.get_json()["error"]["message"] == "В версии нет ни одной суммы: утверждать нечего."
    )
    response = client.post(
        f"/api/v1/projects/{project['id']}/budget-versions", json={}, headers=keeper
    )
    assert response.status_code == 409
    assert "уже есть черновик бюджета" in response.get_json()["error"]["message"]
    assert (
        client.delete(f"/api/v1/budget-versions/{draft['id']}", headers=keeper).status_code == 200
    )
    assert client.get(f"/api/v1/budget-versions/{draft['id']}", headers=keeper).status_code == 404


def test_actuals_reported_by_accounting_are_listed(client, db_session, keeper, project):
    stored = services.apply_actual(
        db_session,
        project_guid=guid_for("projects", project["id"]),
        article_code="EXP-ADV",
        direction="expense",
        month=dt.date(2027, 2, 14),
        amount=Decimal("3200.40"),
    )
    assert stored
    db_session.commit()
    items = client.get(
        f"/api/v1/projects/{project['id']}/budget-actuals", headers=keeper
    ).get_json()["items"]
    assert [(i["article_code"], i["month"], i["amount"]) for i in items] == [
        ("EXP-ADV", "2027-02", "3200.40")
    ]


def test_an_accountant_reads_budgets_but_may_not_change_them(
    client, make_user, api_token, keeper, project
):
    draft = _draft(client, keeper, project)
    make_user("accountant", username="budacc")
    headers = api_token("budacc")
    assert client.get(f"/api/v1/budget-versions/{draft['id']}", headers=headers).status_code == 200
    response = client.put(
        f"/api/v1/budget-versions/{draft['id']}/lines", json={"lines": []}, headers=headers
    )
    assert response.status_code == 403
    assert (
        client.post(f"/api/v1/budget-versions/{draft['id']}/approve", headers=headers).status_code
        == 403
    )
    make_user("sales_manager", username="budsales")
    seller = api_token("budsales")
    assert client.get("/api/v1/budget-articles", headers=seller).status_code == 403
