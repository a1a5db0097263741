"""Money and dates of sales documents: the payment term in banking days, sane document dates,
the VAT rate of the document's own date, VAT by rate, lines frozen once documents are issued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from documents import formatting
from documents.money import money
from erp_crm.core import workdays
from erp_crm.deals import lines as deal_lines
from erp_crm.errors import Conflict, ValidationError
from erp_crm.projects.models import ServiceItem
from erp_crm.sales_documents import services
from erp_crm.sales_documents.models import Document, DocumentCounter
from tests.fixtures.documents import amount_text as _amount
from tests.fixtures.documents import docx_text as _docx_text
from tests.fixtures.documents import make_deal, pdf_text

# The fixtures of the documents' tests: our organization and its admin.

# --- the payment term: banking days by the Russian production calendar ---------------------------


def test_banking_days_skip_weekends_holidays_and_count_transferred_working_saturdays():
    # 2026-12-28 (Mon): 29, 30 — 31 Dec … 10 Jan are days off — 11, 12, 13 January.
    assert workdays.add_working_days(dt.date(2026, 12, 28), 5) == dt.date(2027, 1, 13)
    # Saturday 1 November 2025 was a working day, Monday 3 November a day off.
    assert workdays.is_working_day(dt.date(2025, 11, 1))
    assert not workdays.is_working_day(dt.date(2025, 11, 3))
    assert workdays.add_working_days(dt.date(2025, 10, 31), 1) == dt.date(2025, 11, 1)
    assert workdays.add_working_days(dt.date(2025, 10, 31), 2) == dt.date(2025, 11, 5)
    # The activities' follow-up rule uses the same calendar (calendar days, then a working day).
    assert workdays.working_day_after(dt.date(2026, 12, 31), 1) == dt.date(2027, 1, 11)


def test_an_invoice_of_28_december_is_due_after_the_new_year_holidays(db_session, admin, org):
    deal = make_deal(db_session, admin)
    invoice = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2026, 12, 28)
    )
    assert invoice.due_date == dt.date(2027, 1, 13)
    text = pdf_text(invoice.files[0].content)
    assert "Оплатить не позднее 13.01.2027 (5 банковских дней с даты счёта)" in text


def test_the_payment_term_is_the_organizations_own(db_session, admin, org):
    org.payment_days = 3
    deal = make_deal(db_session, admin)
    invoice = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2026, 12, 28)
    )
    assert invoice.due_date == dt.date(2027, 1, 11)
    assert "Оплатить не позднее 11.01.2027 (3 банковских дней" in pdf_text(invoice.files[0].content)


# --- document dates: a sane range, refused before anything is numbered ---------------------------


def _numbered(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count(Document.id))),
        session.scalar(select(func.coalesce(func.sum(DocumentCounter.last_number), 0))),
    )


@pytest.mark.parametrize(
    "day", [dt.date(713, 6, 4), dt.date(1999, 12, 31), dt.date.today() + dt.timedelta(days=367)]
)
def test_a_document_date_out_of_range_is_refused_and_nothing_is_numbered(
    db_session, admin, org, day
):
    deal = make_deal(db_session, admin)
    with pytest.raises(ValidationError, match="Дата документа .* вне допустимого диапазона"):
        services.issue_document(db_session, deal, "invoice", actor=admin, on=day)
    assert _numbered(db_session) == (0, 0)
    first = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2000, 1, 1)
    )
    assert first.number == "1"


def test_the_api_refuses_0713_06_04_with_a_russian_message(
    client, db_session, make_user, api_token, org
):
    make_user("accountant", username="dateacc")
    deal = make_deal(db_session, make_user("sales_manager", username="datemgr"))
    db_session.commit()
    refused = client.post(
        f"/api/v1/deals/{deal.id}/documents",
        json={"kind": "invoice", "date": "0713-06-04"},
        headers=api_token("dateacc"),
    )
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert "вне допустимого диапазона: с 01.01.2000" in error["message"]
    assert error["fields"] == {"date": "вне допустимого диапазона"}
    assert _numbered(db_session) == (0, 0)


def test_the_deal_card_issues_on_a_chosen_date_and_refuses_a_wrong_year(
    client, db_session, make_user, org
):
    manager = make_user("sales_manager", username="datecard")
    deal = make_deal(db_session, manager)
    db_session.commit()
    client.login("datecard")
    back = {"Referer": f"http://localhost/deals/{deal.id}"}
    refused = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "invoice", "date": "0713-06-04"},
        headers=back,
    )
    assert refused.status_code == 302
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Дата документа 0713-06-04 вне допустимого диапазона" in page
    assert _numbered(db_session) == (0, 0)
    done = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "invoice", "date": "2026-11-30"},
        headers=back,
    )
    assert done.status_code == 302
    assert db_session.scalar(select(Document.doc_date)) == dt.date(2026, 11, 30)


# --- the VAT rate of the document's own date ----------------------------------------------------


def test_each_document_of_a_deal_takes_the_vat_rate_of_its_own_date(db_session, admin, org):
    deal = make_deal(db_session, admin)  # priced today (2026): its lines say 22%
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == deal.project_id))
    deal_lines.add_service_line(db_session, deal, item, D(3), actor=admin)
    assert [line.vat_setting for line in deal.lines] == ["auto", "auto"]
    gross = [line.amount for line in deal.lines]
    assert gross == [D("125400.00"), D("11251.50")]

    invoice = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2025, 12, 20)
    )
    act = services.issue_document(
        db_session, deal, "act", actor=admin, on=dt.date(2026, 1, 15), confirm_early=True
    )
    vat_invoice = services.issue_document(
        db_session, deal, "vat_invoice", actor=admin, on=dt.date(2026, 1, 15), confirm_early=True
    )

    # VAT per line, rounded half-up, the total the sum of the rounded lines.
    at_20 = [money(g * 20 / 120) for g in gross]
    at_22 = [money(g * 22 / 122) for g in gross]
    assert at_20 == [D("20900.00"), D("1875.25")]
    assert at_22 == [D("22613.11"), D("2028.96")]
    assert (invoice.amount, invoice.vat_amount) == (D("136651.50"), sum(at_20))
    assert (act.amount, act.vat_amount) == (D("136651.50"), sum(at_22))
    assert vat_invoice.vat_amount == sum(at_22)
    assert [ln["vat_rate"] for ln in invoice.snapshot["lines"]] == ["20%", "20%"]
    assert invoice.snapshot["totals"]["net_amount"] == str(D("136651.50") - sum(at_20))

    invoice_text = pdf_text(invoice.files[0].content)
    assert "В том числе НДС 20%: " + _amount(sum(at_20)) in invoice_text
    assert "22%" not in invoice_text
    act_text = pdf_text(act.files[0].content)
    assert "В том числе НДС 22%: " + _amount(sum(at_22)) in act_text
    vat_text = pdf_text(vat_invoice.files[0].content)
    assert _amount(sum(at_22)) in vat_text and "22%" in vat_text and "20%" not in vat_text

    # An issued document never changes: re-pricing the deal later leaves the invoice as it was.
    before = (invoice.files[0].sha256, dict(invoice.snapshot))
    db_session.expire_all()
    fresh = db_session.get(Document, invoice.id)
    assert (fresh.files[0].sha256, fresh.snapshot) == before
    assert fresh.vat_amount == sum(at_20)


# --- VAT by rate on a mixed-rate document ---------------------------------------------------------


def test_a_mixed_rate_invoice_and_contract_print_vat_by_rate(db_session, admin, org):
    deal = make_deal(db_session, admin)  # the stand: «auto», 22% in 2026
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == deal.project_id))
    item.vat_rate = "10"
    deal_lines.add_service_line(db_session, deal, item, D(2), actor=admin)
    stand_vat = money(D("125400.00") * 22 / 122)  # 22613.11
    service_vat = money(D("7501.00") * 10 / 110)  # 681.909… → 681.91
    assert service_vat == D("681.91")

    invoice = services.issue_document(db_session, deal, "invoice", actor=admin)
    assert invoice.vat_amount == stand_vat + service_vat
    by_rate = invoice.snapshot["totals"]["by_rate"]
    assert [(g["rate"], g["vat_amount"]) for g in by_rate] == [
        ("22%", str(stand_vat)),
        ("10%", str(service_vat)),
    ]
    text = pdf_text(invoice.files[0].content)
    assert f"В том числе НДС 22%: {_amount(stand_vat)}" in text
    assert f"В том числе НДС 10%: {_amount(service_vat)}" in text
    assert "разные ставки" not in text

    contract = services.issue_document(db_session, deal, "contract", actor=admin)
    phrase = f"В том числе НДС 22%: {_amount(stand_vat)} руб.; НДС 10%: {_amount(service_vat)} руб."
    assert phrase in pdf_text(next(f for f in contract.files if f.format == "pdf").content)
    assert phrase in _docx_text(next(f for f in contract.files if f.format == "docx").content)


# --- a deal's lines, discount and prices frozen while its documents are issued -------------------


def test_lines_and_discount_are_refused_while_documents_are_issued(
    client, db_session, make_user, api_token, org
):
    deal = make_deal(db_session, make_user("sales_manager", username="freezemgr"))
    actor = deal.manager
    invoice = services.issue_document(db_session, deal, "invoice", actor=actor)
    line = deal.lines[0]
    with pytest.raises(Conflict, match="аннулируйте его на странице документа") as refused:
        deal_lines.remove_line(db_session, line, actor=actor)
    assert f"«{invoice.audit_label()}»" in str(refused.value)
    with pytest.raises(Conflict, match="выпустите заново"):
        deal_lines.set_discount(db_session, deal, "percent", "10", "акция", actor=actor)
    assert len(deal.lines) == 1 and deal.amount == invoice.amount
    db_session.commit()

    headers = api_token("freezemgr")
    answer = client.delete(f"/api/v1/deals/{deal.id}/lines/{line.id}", headers=headers)
    assert answer.status_code == 409
    assert answer.get_json()["error"]["message"] == str(refused.value)
    assert (
        client.patch(
            f"/api/v1/deals/{deal.id}",
            json={"discount_kind": "amount", "discount_value": "500", "discount_reason": "торг"},
            headers=headers,
        ).status_code
        == 409
    )
    # the card offers no control that would be refused, and says why
    client.login("freezemgr")
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'id="pricing-frozen"' in card and "аннулируйте его на странице документа" in card
    for action in ("/lines/stand", "/lines/service", "/discount", f"/deals/lines/{line.id}/remove"):
        assert action not in card, action

    services.cancel_document(db_session, invoice, actor=actor, reason="меняем состав")
    db_session.commit()
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'id="pricing-frozen"' not in card and "/lines/service" in card
    deal_lines.set_discount(db_session, deal, "percent", "10", "акция", actor=actor)
    assert deal.amount == money(invoice.amount * D("0.9"))


# --- the seller's tax regime: УСН without VAT, УСН with 5% / 7% ----------------------------------


def test_an_organization_without_vat_prints_its_basis_and_no_vat(db_session, admin, org):
    from erp_crm.organizations import services as org_services

    data = org_services.OrganizationData.from_model(org)
    data.vat_regime, data.vat_rate = "exempt", "none"
    data.vat_exempt_basis = "НДС не облагается на основании ст. 145 НК РФ"
    org_services.update_organization(db_session, org, data, actor=admin)
    deal = make_deal(db_session, admin)
    invoice = services.issue_document(db_session, deal, "invoice", actor=admin)
    assert invoice.amount == deal.amount and invoice.vat_amount == D("0.00")
    text = " ".join(pdf_text(invoice.files[0].content).split())
    assert "Без НДС (НДС не облагается на основании ст. 145 НК РФ)" in text
    assert "НДС 22%" not in text
    assert invoice.snapshot["payment"]["purpose"].endswith("НДС не облагается")


@pytest.mark.parametrize("rate", ["5", "7"])
def test_a_simplified_regime_organization_charges_its_reduced_rate(db_session, admin, org, rate):
    from erp_crm.organizations import services as org_services

    data = org_services.OrganizationData.from_model(org)
    data.vat_regime, data.vat_rate = "simplified_vat", rate
    org_services.update_organization(db_session, org, data, actor=admin)
    deal = make_deal(db_session, admin)
    invoice = services.issue_document(db_session, deal, "invoice", actor=admin)
    expected = money(deal.amount * D(rate) / (100 + D(rate)))
    assert (invoice.amount, invoice.vat_amount) == (deal.amount, expected)
    text = " ".join(pdf_text(invoice.files[0].content).split())
    assert f"В том числе НДС {rate}%" in text
    assert formatting.amount(expected).replace("\u00a0", " ") in text


def test_the_regime_and_its_rate_must_agree(db_session, admin, org):
    from erp_crm.organizations import services as org_services

    data = org_services.OrganizationData.from_model(org)
    data.vat_regime, data.vat_rate = "simplified_vat", "22"
    with pytest.raises(ValidationError) as refused:
        org_services.update_organization(db_session, org, data, actor=admin)
    assert "5%" in refused.value.fields["vat_rate"] and "7%" in refused.value.fields["vat_rate"]
