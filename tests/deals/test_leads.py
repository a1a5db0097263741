"""Leads: public intake with validation and a per-address limit, manual entry, rejection, and
conversion into a client, a contact person and a deal."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from erp_crm.clients import contacts as client_contacts
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import utcnow
from erp_crm.deals import leads
from erp_crm.deals.models import Deal, Lead
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from tests.fixtures.deals import make_client, make_project

VALID = {
    "company_name": "ООО «Ласточка»",
    "contact_name": "Петров Пётр Ильич",
    "phone": "8 (846) 207-11-44",
    "email": "Petrov@Lastochka.example",
    "city": "Самара",
}


def submit(session, ip="192.0.2.1", **changes):
    return leads.submit_lead(session, leads.LeadData(**{**VALID, **changes}), ip=ip, source="web")


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def manager(make_user):
    return make_user("sales_manager", username="lead_mgr")


@pytest.fixture
def project(db_session):
    return make_project(db_session)


# --- intake -------------------------------------------------------------------------------------


def test_valid_lead_is_stored_cleaned(db_session, project):
    lead = submit(db_session, project_id=str(project.id), inn=" 7707 083893 ")
    assert lead.status == "new" and lead.source == "web" and lead.ip == "192.0.2.1"
    assert lead.phone == "+78462071144"
    assert lead.email == "petrov@lastochka.example"
    assert lead.inn == "7707083893" and lead.project_id == project.id


def test_company_and_a_phone_or_email_are_required(db_session):
    with pytest.raises(ValidationError) as err:
        leads.submit_lead(db_session, leads.LeadData(), ip="192.0.2.1", source="web")
    assert err.value.fields["company_name"] == "Укажите название компании."
    assert "телефон или электронную почту" in err.value.fields["phone"]
    only_email = submit(db_session, phone=None)
    assert only_email.phone is None and only_email.email


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"inn": "7707083894"}, "inn", "контрольная сумма"),
        ({"inn": "12345"}, "inn", "10 цифр"),
        ({"phone": "12"}, "phone", "Неверный номер телефона"),
        ({"email": "не-почта"}, "email", "Неверный адрес"),
        ({"project_id": "999999"}, "project_id", "Выберите выставку"),
        ({"message": "x" * 5001}, "message", "5000"),
    ],
)
def test_wrong_fields_are_named(db_session, changes, field, message):
    with pytest.raises(ValidationError) as err:
        submit(db_session, **changes)
    assert message in err.value.fields[field]


def test_a_closed_project_cannot_be_named(db_session, project):
    project.status = "closed"
    db_session.flush()
    with pytest.raises(ValidationError) as err:
        submit(db_session, project_id=project.id)
    assert "project_id" in err.value.fields


def test_rate_limit_counts_the_last_hour_of_one_address(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "LEADS_PER_IP_PER_HOUR", 2)
    with app.app_context():
        first = submit(db_session)
        submit(db_session)
        with pytest.raises(leads.TooManyLeads) as err:
            submit(db_session)
        assert err.value.status_code == 429
        assert "Слишком много заявок" in err.value.message
        assert 0 < err.value.retry_after <= 3600
        submit(db_session, ip="192.0.2.99")  # another address is not limited
        first.created_at = utcnow() - dt.timedelta(hours=1, minutes=1)
        db_session.flush()
        submit(db_session)  # the oldest one left the window


def test_default_limit_is_five_per_hour(app, db_session):
    assert "LEADS_PER_IP_PER_HOUR" not in app.config or app.config["LEADS_PER_IP_PER_HOUR"] == 5
    with app.app_context():
        for _ in range(5):
            submit(db_session, ip="192.0.2.50")
        with pytest.raises(leads.TooManyLeads):
            submit(db_session, ip="192.0.2.50")


# --- the public page and API --------------------------------------------------------------------


def test_public_form_works_without_login(client, db_session, project):
    page = client.get("/leads/apply")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Заявка на участие" in html and project.name in html
    assert 'name="homepage"' in html  # the honeypot
    token = client.csrf_token("/leads/apply")
    response = client.post(
        "/leads/apply", data={**VALID, "project_id": project.id, "csrf_token": token}
    )
    assert response.status_code == 302 and response.location.endswith("/leads/apply/thanks")
    assert "заявка принята" in client.get(response.location).get_data(as_text=True)
    lead = db_session.scalar(select(Lead))
    assert lead.source == "web" and lead.ip == "127.0.0.1" and lead.project_id == project.id


def test_public_form_shows_field_errors(client, db_session):
    token = client.csrf_token("/leads/apply")
    response = client.post("/leads/apply", data={"company_name": "", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Укажите название компании." in html
    assert count(db_session, Lead) == 0


def test_public_form_keeps_csrf(client, db_session):
    response = client.post("/leads/apply", data=VALID)
    assert response.status_code == 400
    assert count(db_session, Lead) == 0


def test_honeypot_answers_as_accepted_and_keeps_nothing(client, db_session):
    token = client.csrf_token("/leads/apply")
    response = client.post(
        "/leads/apply",
        data={**VALID, "homepage": "http://spam.example", "csrf_token": token},
    )
    assert response.status_code == 302 and response.location.endswith("/leads/apply/thanks")
    assert count(db_session, Lead) == 0


def test_rate_limit_on_the_page_answers_429(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "LEADS_PER_IP_PER_HOUR", 2)
    token = client.csrf_token("/leads/apply")
    for _ in range(2):
        assert client.post("/leads/apply", data={**VALID, "csrf_token": token}).status_code == 302
    response = client.post("/leads/apply", data={**VALID, "csrf_token": token})
    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert "Слишком много заявок с вашего адреса" in response.get_data(as_text=True)
    assert count(db_session, Lead) == 2
    other = client.post(
        "/leads/apply",
        data={**VALID, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "192.0.2.200"},
    )
    assert other.status_code == 302


def test_public_api_accepts_validates_and_limits(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "LEADS_PER_IP_PER_HOUR", 2)
    created = client.post("/api/v1/leads", json=VALID)
    assert created.status_code == 201
    lead = db_session.get(Lead, created.get_json()["id"])
    assert lead.source == "api" and lead.status == "new"
    wrong = client.post("/api/v1/leads", json={"company_name": "ООО «Ласточка»"})
    assert wrong.status_code == 422
    assert "phone" in wrong.get_json()["error"]["fields"]
    assert client.post("/api/v1/leads", json=VALID).status_code == 201
    limited = client.post("/api/v1/leads", json=VALID)
    assert limited.status_code == 429
    assert "Слишком много заявок" in limited.get_json()["error"]["message"]
    assert limited.headers["Retry-After"].isdigit()
    assert count(db_session, Lead) == 2


def test_openapi_lists_the_lead_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/leads"]["post"]["security"] == []
    assert "post" in paths["/api/v1/leads/{lead_id}/convert"]


# --- manual entry and the queue -----------------------------------------------------------------


def test_staff_enter_a_lead_by_hand_and_see_the_queue(client, db_session, manager, make_user):
    client.login("lead_mgr")
    assert client.get("/leads/new").status_code == 200
    response = client.submit("/leads/new", {**VALID, "source": "call"}, token_page="/leads/new")
    assert response.status_code == 302
    lead = db_session.scalar(select(Lead))
    assert lead.source == "call" and lead.ip is None
    queue = client.get("/leads/").get_data(as_text=True)
    assert "ООО «Ласточка»" in queue
    assert "ООО «Ласточка»" not in client.get("/leads/?status=rejected").get_data(as_text=True)
    assert client.get(f"/leads/{lead.id}").status_code == 200
    with pytest.raises(PermissionDenied):
        leads.create_lead(db_session, leads.LeadData(**VALID), actor=make_user("accountant"))


def test_manual_entry_refuses_public_sources(db_session, manager):
    with pytest.raises(ValidationError) as err:
        leads.create_lead(db_session, leads.LeadData(**VALID, source="web"), actor=manager)
    assert "source" in err.value.fields


# --- rejection ----------------------------------------------------------------------------------


def test_reject_needs_a_reason(db_session, manager):
    lead = submit(db_session)
    with pytest.raises(ValidationError) as err:
        leads.reject_lead(db_session, lead, "  ", actor=manager)
    assert err.value.fields["reason"] == "Укажите причину отклонения."
    assert lead.status == "new"
    leads.reject_lead(db_session, lead, "Спам", actor=manager)
    assert (lead.status, lead.reject_reason, lead.handled_by_id) == ("rejected", "Спам", manager.id)
    with pytest.raises(Conflict, match="уже обработан"):
        leads.reject_lead(db_session, lead, "ещё раз", actor=manager)


def test_reject_page_refuses_an_empty_reason(client, db_session, manager):
    lead = submit(db_session)
    db_session.commit()
    client.login("lead_mgr")
    page = f"/leads/{lead.id}"
    response = client.submit(f"{page}/reject", {"reason": ""}, token_page=page)
    assert response.status_code == 422
    assert "Укажите причину отклонения." in response.get_data(as_text=True)
    response = client.submit(f"{page}/reject", {"reason": "Не наша тематика"}, token_page=page)
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Lead, lead.id).status == "rejected"


# --- conversion ---------------------------------------------------------------------------------


def test_conversion_reuses_the_client_with_the_same_inn(db_session, manager, project):
    client = make_client(db_session, manager, name="ООО «Ромашка»", inn="7707083893")
    clients_before = count(db_session, Client)
    lead = submit(db_session, company_name="Ромашка (сайт)", inn="7707083893", city="Тольятти")
    result = leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)
    assert result.client.id == client.id and not result.client_created
    assert count(db_session, Client) == clients_before
    assert result.contact_created and result.contact.client_id == client.id
    assert result.contact.phones == ["+78462071144"]
    assert result.contact.emails == ["petrov@lastochka.example"]
    deal = result.deal
    assert (deal.client_id, deal.project_id, deal.lead_id) == (client.id, project.id, lead.id)
    assert deal.contact_id == result.contact.id and deal.manager_id == manager.id
    assert (lead.status, lead.client_id, lead.handled_by_id) == ("converted", client.id, manager.id)
    with pytest.raises(Conflict, match="уже обработан"):
        leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)


def test_conversion_creates_a_new_client_when_nothing_is_alike(db_session, manager, project):
    lead = submit(db_session, inn="7736207543")
    result = leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)
    client = result.client
    assert result.client_created
    assert (client.name, client.inn, client.city, client.curator_id) == (
        "ООО «Ласточка»",
        "7736207543",
        "Самара",
        manager.id,
    )
    assert client.relationship_type == "potential"  # the open deal shows interest
    assert [c.full_name for c in client.contacts] == ["Петров Пётр Ильич"]
    assert result.deal.lead_id == lead.id


def test_a_client_contact_with_the_same_phone_is_not_added_twice(db_session, manager, project):
    client = make_client(db_session, manager, name="ООО «Ромашка»", inn="7707083893")
    existing = client_contacts.add_contact(
        db_session,
        client,
        client_contacts.ContactData(full_name="Петров П. И.", phones=["+7 846 207-11-44"]),
        actor=manager,
    )
    lead = submit(db_session, inn="7707083893")
    result = leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)
    assert result.contact.id == existing.id and not result.contact_created
    assert count(db_session, ContactPerson) == 1
    assert result.deal.contact_id == existing.id


def test_similar_names_raise_a_conflict_then_the_choice_decides(db_session, manager, project):
    first = make_client(db_session, manager, name="ООО «Вектор-Строй»", inn="7736207543")
    second = make_client(db_session, manager, name="АО «Вектор Строй»", inn="7728168971")
    lead = submit(db_session, company_name="Вектор-Строй", inn=None)
    with pytest.raises(leads.DuplicateCandidates) as err:
        leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)
    assert isinstance(err.value, Conflict) and err.value.status_code == 409
    assert {c.id for c in err.value.candidates} == {first.id, second.id}
    assert "Вектор-Строй" in err.value.message and "подтвердите" in err.value.message
    assert lead.status == "new"
    result = leads.convert_lead(
        db_session, lead, actor=manager, project_id=project.id, client_id=second.id
    )
    assert result.client.id == second.id and not result.client_created


def test_create_new_confirms_a_new_client_despite_similar_ones(db_session, manager, project):
    make_client(db_session, manager, name="ООО «Вектор-Строй»", inn="7736207543")
    before = count(db_session, Client)
    lead = submit(db_session, company_name="Вектор-Строй")
    result = leads.convert_lead(
        db_session, lead, actor=manager, project_id=project.id, create_new=True
    )
    assert result.client_created and count(db_session, Client) == before + 1


def test_conversion_needs_a_project_and_a_seller(db_session, manager, project, make_user):
    lead = submit(db_session)
    with pytest.raises(ValidationError) as err:
        leads.convert_lead(db_session, lead, actor=manager, project_id=None)
    assert "project_id" in err.value.fields
    analyst = make_user("analyst", username="lead_analyst")
    with pytest.raises(PermissionDenied):
        leads.convert_lead(db_session, lead, actor=analyst, project_id=project.id)
    accountant = make_user("accountant", username="lead_accountant")
    with pytest.raises(PermissionDenied):
        leads.reject_lead(db_session, lead, "нет", actor=accountant)


def test_a_client_with_an_open_deal_in_the_project_refuses_a_second(db_session, manager, project):
    lead = submit(db_session, inn="7736207543")
    leads.convert_lead(db_session, lead, actor=manager, project_id=project.id)
    again = submit(db_session, inn="7736207543")
    with pytest.raises(Conflict, match="уже есть сделка"):
        leads.convert_lead(db_session, again, actor=manager, project_id=project.id)


def test_convert_page_conflict_then_explicit_choice(client, db_session, manager, project):
    first = make_client(db_session, manager, name="ООО «Вектор-Строй»", inn="7736207543")
    make_client(db_session, manager, name="АО «Вектор Строй»", inn="7728168971")
    lead = submit(db_session, company_name="Вектор-Строй", project_id=project.id)
    db_session.commit()
    clients_before = count(db_session, Client)
    client.login("lead_mgr")
    page = f"/leads/{lead.id}"
    html = client.get(page).get_data(as_text=True)
    assert "Похожие контрагенты в базе" in html and "ООО «Вектор-Строй»" in html
    response = client.submit(
        f"{page}/convert",
        {"project_id": project.id, "create_contact": "y"},
        token_page=page,
    )
    assert response.status_code == 409
    assert "Выберите одного из них" in response.get_data(as_text=True)
    assert count(db_session, Client) == clients_before
    response = client.submit(
        f"{page}/convert",
        {"project_id": project.id, "client_choice": first.id, "create_contact": "y"},
        token_page=page,
    )
    assert response.status_code == 302
    db_session.expire_all()
    lead = db_session.get(Lead, lead.id)
    assert lead.status == "converted" and lead.client_id == first.id
    deal = db_session.scalar(select(Deal).where(Deal.lead_id == lead.id))
    assert deal.client_id == first.id
    shown = client.get(page).get_data(as_text=True)
    assert f"№ {deal.id}" in shown
    assert count(db_session, Client) == clients_before


def test_convert_page_without_a_project_answers_422(client, db_session, manager):
    lead = submit(db_session)
    db_session.commit()
    client.login("lead_mgr")
    page = f"/leads/{lead.id}"
    response = client.submit(f"{page}/convert", {"client_choice": "new"}, token_page=page)
    assert response.status_code == 422
    assert "Выберите выставочный проект." in response.get_data(as_text=True)


def test_convert_api_lists_candidates_then_converts(client, db_session, manager, api_token):
    project = make_project(db_session)
    first = make_client(db_session, manager, name="ООО «Вектор-Строй»", inn="7736207543")
    lead = submit(db_session, company_name="Вектор-Строй")
    db_session.commit()
    headers = api_token("lead_mgr")
    url = f"/api/v1/leads/{lead.id}/convert"
    conflict = client.post(url, json={"project_id": project.id}, headers=headers)
    assert conflict.status_code == 409
    body = conflict.get_json()["error"]
    assert [c["id"] for c in body["candidates"]] == [first.id]
    assert body["candidates"][0]["reasons"]
    done = client.post(url, json={"project_id": project.id, "create_new": True}, headers=headers)
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["client_created"] and result["client_id"] != first.id
    assert result["status"] == "converted" and result["contact_created"]
    assert db_session.get(Deal, result["deal_id"]).lead_id == lead.id
    assert client.post(url, json={"project_id": project.id}, headers=headers).status_code == 409
    missing = client.post("/api/v1/leads/999999/convert", json={}, headers=headers)
    assert missing.status_code == 404


def test_lead_page_marks_the_inn_match_and_preselects_it(client, db_session, manager):
    romashka = make_client(db_session, manager, name="ООО «Ромашка»", inn="7707083893")
    lead = submit(db_session, inn="7707083893")
    db_session.commit()
    client.login("lead_mgr")
    html = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "тот же ИНН" in html
    radio = re.search(rf'<input[^>]*value="{romashka.id}"[^>]*>', html).group(0)
    assert "checked" in radio
    assert 'value="new"' not in html  # with an ИНН match a new client is not offered


# --- demo ---------------------------------------------------------------------------------------


def test_demo_leads_come_in_every_status(db_session, make_user):
    from erp_crm.deals.leads.demo import load_demo_leads

    roles = {
        "head": "head_of_sales",
        "manager1": "sales_manager",
        "manager2": "sales_manager",
        "analyst": "analyst",
    }
    users = {name: make_user(role, username=f"demo_{name}") for name, role in roles.items()}
    make_client(db_session, users["manager1"], name="ООО «Ромашка»", inn="7707083893")
    make_client(db_session, users["manager1"], name="ООО «Волгастрой»", inn="7736207543")
    make_client(db_session, users["manager2"], name="АО «Кама-Металл»", inn="7728168971")
    projects = [
        make_project(db_session),
        make_project(db_session, code="AGRO27", name="АгроВолга-2027"),
    ]
    assert load_demo_leads(db_session, users, projects) == 12
    by_status = dict(
        db_session.execute(select(Lead.status, func.count()).group_by(Lead.status)).all()
    )
    assert by_status == {"new": 6, "rejected": 3, "converted": 3}
    converted = db_session.scalars(select(Lead).where(Lead.status == "converted")).all()
    for lead in converted:
        deal = leads.deal_of_lead(db_session, lead)
        assert deal is not None and deal.client_id == lead.client_id
    assert db_session.scalar(select(func.min(Lead.created_at))) < utcnow() - dt.timedelta(days=7)
    # The lead with a client's ИНН and the one with a client-like name show candidates.
    new = db_session.scalars(select(Lead).where(Lead.status == "new")).all()
    assert sum(1 for lead in new if leads.lead_candidates(db_session, lead)) >= 2
