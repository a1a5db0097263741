"""Money and dates of sales documents: the payment term in banking days, sane document dates,
the VAT rate of the document's own date, VAT by rate, lines frozen once documents are issued."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from erp_crm.core import workdays
from erp_crm.errors import ValidationError
from erp_crm.sales_documents import services
from erp_crm.sales_documents.models import Document, DocumentCounter
from tests import test_documents
from tests.test_documents import make_deal, pdf_text

# The fixtures of the documents' tests: our organization and its admin.
org = test_documents.org
admin = test_documents.admin

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
