"""The leads queue in the API: list by status, one lead with its look-alike clients, reject with
a reason (the services of the /leads pages); a role without leads.work gets 403."""

from __future__ import annotations

import pytest

from erp_crm.deals import leads
from tests.fixtures.deals import make_client


@pytest.fixture
def seller(make_user, api_token):
    make_user("sales_manager", username="leadapi")
    return api_token("leadapi")


@pytest.fixture
def lead(db_session, make_user):
    made = leads.create_lead(
        db_session,
        leads.LeadData(
            source="call",
            company_name="ООО «Ромашка-Экспо»",
            inn="7736207543",
            phone="+7 846 200-00-01",
            city="Самара",
        ),
        actor=make_user("admin", username="leadadmin"),
    )
    db_session.commit()
    return made


def test_the_queue_lists_new_leads_by_default_and_all_on_request(client, seller, lead):
    body = client.get("/api/v1/leads", headers=seller).get_json()
    assert [item["id"] for item in body["items"]] == [lead.id]
    item = body["items"][0]
    assert item["company_name"] == "ООО «Ромашка-Экспо»" and item["source"] == "call"
    assert item["status"] == "new" and body["total"] == 1 and body["counts"] == {"new": 1}
    rejected = client.get("/api/v1/leads?status=rejected", headers=seller).get_json()
    assert rejected["items"] == [] and rejected["total"] == 0


def test_an_unknown_status_is_a_russian_422(client, seller, lead):
    response = client.get("/api/v1/leads?status=old", headers=seller)
    assert response.status_code == 422
    assert "Статус лида" in response.get_json()["error"]["fields"]["status"]


def test_a_lead_shows_the_client_with_its_inn(client, db_session, seller, lead, make_user):
    known = make_client(db_session, make_user("admin"), name="АО «Ромашка»", inn="7736207543")
    db_session.commit()
    card = client.get(f"/api/v1/leads/{lead.id}", headers=seller).get_json()
    assert card["inn"] == "7736207543" and card["deal_id"] is None
    assert known.id in [c["id"] for c in card["candidates"]]


def test_reject_needs_a_reason_then_rejects_once(client, seller, lead):
    url = f"/api/v1/leads/{lead.id}/reject"
    response = client.post(url, json={"reason": "  "}, headers=seller)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["reason"] == "Укажите причину отклонения."
    assert client.get(f"/api/v1/leads/{lead.id}", headers=seller).get_json()["status"] == "new"
    response = client.post(url, json={"reason": "Дубль заявки"}, headers=seller)
    assert response.status_code == 200
    card = response.get_json()
    assert card["status"] == "rejected" and card["reject_reason"] == "Дубль заявки"
    assert card["handled_by_id"] is not None and card["candidates"] == []
    response = client.post(url, json={"reason": "Ещё раз"}, headers=seller)
    assert response.status_code == 409
    assert "Лид уже обработан" in response.get_json()["error"]["message"]


def test_an_accountant_may_not_see_or_reject_leads(client, make_user, api_token, lead):
    make_user("accountant", username="leadacc")
    headers = api_token("leadacc")
    assert client.get("/api/v1/leads", headers=headers).status_code == 403
    assert client.get(f"/api/v1/leads/{lead.id}", headers=headers).status_code == 403
    response = client.post(f"/api/v1/leads/{lead.id}/reject", json={"reason": "Х"}, headers=headers)
    assert response.status_code == 403


def test_a_missing_lead_is_a_404(client, seller):
    response = client.get("/api/v1/leads/999999", headers=seller)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "Лид не найден."
