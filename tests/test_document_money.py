"""Money and dates of sales documents: the payment term in banking days, sane document dates,
the VAT rate of the document's own date, VAT by rate, lines frozen once documents are issued."""

from __future__ import annotations

import datetime as dt

from erp_crm.core import workdays
from erp_crm.sales_documents import services
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
