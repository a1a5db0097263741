"""The mailing API: a selection with its entries, a campaign and its labels PDF and export, a
document e-mailed from a deal and its status."""

from __future__ import annotations

import io

import pdfplumber
from sqlalchemy import select

from erp_crm.clients import contacts as contact_services
from erp_crm.mailing.models import LabelFormat
from erp_crm.sales_documents import services as document_services
from tests.fixtures.documents import make_deal
from tests.fixtures.mailing import client_with_address


def test_selection_campaign_and_labels_pdf_through_the_api(
    client, db_session, make_user, api_token
):
    analyst = make_user("analyst", username="apianalyst")
    for i in range(3):
        client_with_address(db_session, analyst, f"ООО «АПИ-{i}»", None)
    client_with_address(db_session, analyst, "ООО «АПИ-нет»", None, consent=False)
    db_session.commit()
    headers = api_token("apianalyst")
    bad = client.post("/api/v1/mailing/selections", json={"name": ""}, headers=headers)
    assert bad.status_code == 422 and "Назовите" in bad.get_json()["error"]["message"]
    made = client.post(
        "/api/v1/mailing/selections",
        json={"name": "АПИ", "filter": {"q": "АПИ"}},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    selection_id = made.get_json()["id"]
    entries = client.get(
        f"/api/v1/mailing/selections/{selection_id}/entries", headers=headers
    ).get_json()
    assert entries["counts"]["included"] == 3 and entries["counts"]["no_consent"] == 1
    campaign = client.post(
        f"/api/v1/mailing/selections/{selection_id}/campaigns",
        json={"name": "АПИ-почта", "channel": "post"},
        headers=headers,
    ).get_json()
    fmt_id = db_session.scalar(select(LabelFormat.id).where(LabelFormat.code == "a4-2x7"))
    pdf = client.post(
        f"/api/v1/mailing/campaigns/{campaign['id']}/pdf",
        json={"format_id": fmt_id},
        headers=headers,
    )
    assert pdf.status_code == 200 and pdf.headers["X-Labels"] == "3"
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        assert "ООО «АПИ-0»" in document.pages[0].extract_text()
    status = client.get(f"/api/v1/mailing/campaigns/{campaign['id']}", headers=headers).get_json()
    assert status["included"] == 3 and status["excluded"] == {"no_consent": 1}
    assert status["frozen_at"]
    exported = client.get(
        f"/api/v1/mailing/campaigns/{campaign['id']}/export?format=xlsx", headers=headers
    )
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    envelope = client.post(
        f"/api/v1/mailing/campaigns/{campaign['id']}/pdf",
        json={"envelope": "C6"},
        headers=headers,
    )
    assert envelope.status_code == 200 and envelope.mimetype == "application/pdf"


def test_a_document_is_queued_by_the_api_and_its_status_read(
    client, db_session, make_user, api_token
):
    from erp_crm.organizations import services as org_services
    from tests.fixtures.organizations import VALID

    admin = make_user("admin", username="apiadmin")
    org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )
    deal = make_deal(db_session, admin)
    contact = contact_services.add_contact(
        db_session,
        deal.client,
        contact_services.ContactData(full_name="Анна", emails=["anna@romashka.ru"]),
        actor=admin,
    )
    invoice = document_services.issue_document(db_session, deal, "invoice", actor=admin)
    db_session.commit()
    headers = api_token("apiadmin")
    queued = client.post(
        f"/api/v1/deals/{deal.id}/mail",
        json={"document_id": invoice.id, "contact_id": contact.id},
        headers=headers,
    )
    assert queued.status_code == 202, queued.get_json()
    body = queued.get_json()
    assert body["status"] == "queued" and body["document_id"] == invoice.id
    status = client.get(f"/api/v1/mail/{body['id']}", headers=headers).get_json()
    assert status["to"] == "anna@romashka.ru"
    listed = client.get(f"/api/v1/deals/{deal.id}/mail", headers=headers).get_json()
    assert [m["id"] for m in listed["items"]] == [body["id"]]
    package = client.post(
        f"/api/v1/deals/{deal.id}/mail",
        json={"package": True, "contact_id": contact.id},
        headers=headers,
    )
    assert package.status_code == 202
