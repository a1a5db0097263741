"""Payments: idempotent storage, allocation rules, reconciliation by hand, receivables."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import func, select

from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User
from erp_crm.billing import receivables as debts
from erp_crm.billing import services as billing
from erp_crm.billing.models import Payment, PaymentAllocation
from erp_crm.deals.models import Deal
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.sales_documents import services as documents
from tests.fixtures.documents import make_deal


@pytest.fixture
def org(db_session, make_user):
    from erp_crm.organizations import services as org_services
    from tests.fixtures.organizations import VALID

    admin = make_user("admin", username="billadmin")
    return org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )


@pytest.fixture
def admin(db_session, org):
    from erp_crm.auth.models import User

    return db_session.scalar(select(User).where(User.username == "billadmin"))


def pay(
    session,
    amount,
    *,
    inn="7707083893",
    purpose="",
    guid=None,
    accounting_id=None,
    on=dt.date(2026, 11, 25),
):
    data = billing.PaymentData(
        accounting_id=accounting_id or str(uuid.uuid4()),
        number="77",
        pay_date=on,
        payer_name="ООО «Ромашка»",
        payer_inn=inn,
        payer_kpp=None,
        amount=D(amount),
        purpose=purpose,
        invoice_guid=guid,
    )
    return billing.record_payment(session, data)[0]


@pytest.fixture
def two_invoices(db_session, admin):
    first = make_deal(db_session, admin)
    second = make_deal(db_session, admin, client=first.client, stand_no=1)  # another project
    return (
        documents.issue_document(db_session, first, "invoice", actor=admin),
        documents.issue_document(db_session, second, "invoice", actor=admin),
    )


def test_the_same_payment_delivered_twice_is_stored_once(db_session, two_invoices):
    invoice, _ = two_invoices
    data = billing.PaymentData(
        accounting_id="1c-42",
        number="5",
        pay_date=dt.date(2026, 11, 25),
        payer_name="ООО «Ромашка»",
        payer_inn="7707083893",
        payer_kpp=None,
        amount=D("100.00"),
        purpose="",
        invoice_guid=invoice.guid,
    )
    first, created = billing.record_payment(db_session, data)
    again, created_again = billing.record_payment(db_session, data)
    assert (created, created_again, first.id) == (True, False, again.id)
    assert db_session.scalar(select(func.sum(PaymentAllocation.amount))) == D("100.00")


def test_plan_vs_actual_counts_the_money_allocated_to_the_projects_invoices(
    db_session, two_invoices
):
    from erp_crm.projects import plans
    from erp_crm.projects.models import Project

    first, second = two_invoices
    pay(db_session, "50.00", guid=first.guid, on=dt.date(2026, 11, 25))
    pay(db_session, "70.00", guid=first.guid, on=dt.date(2026, 12, 1))
    pay(db_session, "30.00", guid=second.guid, on=dt.date(2026, 12, 1))  # the other project
    pay(db_session, "10.00", inn="7736207543", purpose="не разнесён")  # nobody's
    report = plans.plan_vs_actual(db_session, db_session.get(Project, first.project_id))
    assert report.paid_counted
    assert (report.by_month["2026-11"].paid, report.by_month["2026-12"].paid) == (
        D("50.00"),
        D("70.00"),
    )
    assert report.total.paid == D("120.00")
    manager_id = db_session.get(Deal, first.deal_id).manager_id
    [row] = [r for r in report.managers if r.owner.user_id == manager_id]
    assert row.total.paid == D("120.00")


def test_reference_then_number_in_purpose_then_inn_and_amount(db_session, two_invoices):
    first, second = two_invoices
    by_ref = pay(db_session, "50.00", guid=second.guid, inn=None)
    assert [(a.document_id, a.method) for a in by_ref.allocations] == [(second.id, "reference")]
    by_number = pay(db_session, "70.00", purpose=f"Оплата по сч. № {first.number} от 23.11.2026")
    assert [(a.document_id, a.method) for a in by_number.allocations] == [(first.id, "number")]
    exact = pay(db_session, str(second.amount - D("50.00")), purpose="за выставку")
    assert [(a.document_id, a.method) for a in exact.allocations] == [(second.id, "amount")]
    unknown = pay(db_session, "10.00", inn="7736207543", purpose="что-то")
    assert (unknown.allocations, unknown.client_id, unknown.unallocated) == ([], None, D("10.00"))


def test_one_payment_for_several_invoices_and_the_overpayment_stays_as_credit(
    db_session, two_invoices
):
    first, second = two_invoices
    total = first.amount + second.amount
    payment = pay(
        db_session,
        str(total + D("999.99")),
        purpose=f"Оплата счетов {first.number} и {second.number}",
    )
    assert sorted(a.amount for a in payment.allocations) == sorted([first.amount, second.amount])
    assert payment.unallocated == D("999.99") and payment.client_id == first.client_id
    assert debts.client_credits(db_session)[first.client_id] == D("999.99")
    paid = billing.paid_amounts(db_session, [first.id, second.id])
    assert billing.invoice_state(first, paid[first.id]) == "paid"


def test_reconciliation_by_hand_split_and_unassign_are_audited(db_session, two_invoices, make_user):
    first, second = two_invoices
    accountant = make_user("accountant")
    manager = make_user("sales_manager")
    payment = pay(db_session, "300.00", inn="7736207543")  # unknown payer: the queue
    with pytest.raises(PermissionDenied):
        billing.allocate_by_hand(db_session, payment, first, "100", actor=manager)
    with pytest.raises(ValidationError, match="осталось неразнесённых 300,00 руб"):
        billing.allocate_by_hand(db_session, payment, first, "300.01", actor=accountant)
    with pytest.raises(ValidationError, match="Укажите номер счёта"):
        billing.find_invoice(db_session, "  ")
    big = pay(db_session, "12345.67", inn="7736207543")
    with pytest.raises(ValidationError, match="осталось неразнесённых 12\u00a0345,67 руб"):
        billing.allocate_by_hand(db_session, big, first, "12345.68", actor=accountant)
    assert big.audit_label().endswith("12\u00a0345,67 руб.")
    part = billing.allocate_by_hand(db_session, payment, first, D("100.00"), actor=accountant)
    billing.allocate_by_hand(db_session, payment, second, D("200.00"), actor=accountant)
    assert payment.unallocated == D("0.00")
    billing.unassign(db_session, part, actor=accountant)
    assert payment.unallocated == D("100.00")
    actions = db_session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_type == "payment_allocations")
    ).all()
    assert sorted(actions) == ["create", "create", "delete"]
    half_paid = billing.paid_amounts(db_session, [second.id])[second.id]
    assert billing.invoice_state(second, half_paid) == "partly_paid"
    overdue = billing.invoice_state(second, half_paid, today=second.due_date + dt.timedelta(1))
    assert overdue == "overdue"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=D("0.01"), max_value=D("500000"), places=2), min_size=1, max_size=6
    ),
    with_numbers=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_allocation_never_exceeds_payments_or_invoices(
    db_session, two_invoices, amounts, with_numbers
):
    """Whatever arrives, in any order: no invoice is paid beyond its amount, no payment is spent
    beyond itself, and nothing is counted twice (each payment is applied once)."""
    invoices = two_invoices
    nested = db_session.begin_nested()
    try:
        for n, amount in enumerate(amounts):
            target = invoices[n % 2]
            purpose = f"оплата по счету № {target.number}" if with_numbers[n] else "оплата"
            payment = pay(db_session, str(amount), purpose=purpose, accounting_id=f"prop-{n}")
            pay(db_session, str(amount), purpose=purpose, accounting_id=f"prop-{n}")
            allocated = sum((a.amount for a in payment.allocations), D(0))
            assert allocated + payment.unallocated == payment.amount
            assert payment.unallocated >= 0
        paid = billing.paid_amounts(db_session, [i.id for i in invoices])
        for invoice in invoices:
            assert paid.get(invoice.id, D(0)) <= invoice.amount
        assert db_session.scalar(select(func.count(Payment.id))) == len(amounts)
    finally:
        nested.rollback()


def test_receivables_are_aged_and_exported(db_session, two_invoices):
    first, second = two_invoices
    pay(db_session, "100.00", guid=first.guid)
    today = first.due_date + dt.timedelta(days=45)
    report = debts.receivables(db_session, today=today)
    assert report.totals["d31_60"] == first.amount - D("100.00") + second.amount
    assert report.rows[0].invoices == 2
    by_project = debts.receivables(db_session, group_by="project", today=first.due_date)
    assert by_project.totals["not_due"] == report.total
    assert debts.bucket_of(first.due_date, first.due_date + dt.timedelta(days=91)) == "d90_plus"
    book = load_workbook(io.BytesIO(debts.to_xlsx(report)))
    sheet = book.active
    assert sheet.cell(row=3, column=1).value == "ООО «Ромашка»"
    assert D(str(sheet.cell(row=sheet.max_row, column=8).value)) == report.total


def test_payments_pages_and_api(client, db_session, two_invoices, make_user, api_token):
    first, _ = two_invoices
    payment = pay(db_session, "10.00", inn="7736207543", purpose="не наш")
    make_user("accountant", username="billacc")
    db_session.commit()
    client.login("billacc")
    queue = client.get("/payments/?show=unallocated").get_data(as_text=True)
    assert "не наш" in queue
    page = f"http://localhost/payments/{payment.id}"
    empty = client.submit(
        f"/payments/{payment.id}/allocate", {"invoice": "", "amount": ""}, headers={"Referer": page}
    )
    assert empty.status_code == 302 and empty.headers["Location"] == page
    assert "Укажите номер счёта" in client.get(page).get_data(as_text=True)
    response = client.submit(
        f"/payments/{payment.id}/allocate", {"invoice": first.number, "amount": "10,00"}
    )
    assert response.status_code == 302
    assert "Разнесено 10,00" in client.get(response.headers["Location"]).get_data(as_text=True)
    headers = api_token("billacc")
    body = client.get(f"/api/v1/invoices/{first.id}/payments", headers=headers).get_json()
    assert (body["paid"], body["state"]) == ("10.00", "partly_paid")
    listed = client.get("/api/v1/payments", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["unallocated"] == "0.00"
    debts_json = client.get("/api/v1/receivables?group_by=client", headers=headers).get_json()
    assert debts_json["rows"][0]["name"] == "ООО «Ромашка»"
    xlsx = client.get("/payments/receivables?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/api/v1/exchange-log", headers=headers).status_code == 200


def test_the_deal_panel_and_the_document_page_show_the_invoice_payment_state(
    client, db_session, two_invoices, admin
):
    first, _ = two_invoices
    pay(db_session, "100.00", guid=first.guid)
    db_session.commit()
    client.login("billadmin")
    panel = client.get(f"/documents/deal/{first.deal_id}/panel").get_data(as_text=True)
    assert "Оплачен частично" in panel
    assert "Оплачен частично" in client.get(f"/documents/{first.id}").get_data(as_text=True)


def test_a_paid_invoice_cannot_be_cancelled_and_unassigning_forgets_a_guessed_client(
    db_session, two_invoices, make_user
):
    from erp_crm.errors import Conflict

    first, second = two_invoices
    accountant = make_user("accountant")
    payment = pay(db_session, "100.00", inn="7736207543")  # an unknown payer
    allocation = billing.allocate_by_hand(db_session, payment, first, "100.00", actor=accountant)
    assert payment.client_id == first.client_id
    with pytest.raises(Conflict, match="снимите разнесение"):
        documents.cancel_document(db_session, first, actor=accountant, reason="ошибка")
    billing.unassign(db_session, allocation, actor=accountant)
    assert payment.client_id is None and payment.unallocated == D("100.00")
    documents.cancel_document(db_session, first, actor=accountant, reason="ошибка")
    assert first.status == "cancelled"
    with pytest.raises(ValidationError, match="например"):
        billing.allocate_by_hand(db_session, payment, second, "1e2", actor=accountant)


def test_a_vat_invoice_names_the_payment_orders_that_paid_before_it(db_session, two_invoices):
    from tests.fixtures.documents import pdf_text

    first, _ = two_invoices
    actor = db_session.get(User, first.issued_by_id)
    pay(db_session, "100.00", guid=first.guid, on=dt.date.today())
    deal = db_session.get(Deal, first.deal_id)
    documents.issue_document(db_session, deal, "act", actor=actor, confirm_early=True)
    vat = documents.issue_document(db_session, deal, "vat_invoice", actor=actor, confirm_early=True)
    assert vat.snapshot["payments"] == [{"number": "77", "date": dt.date.today().isoformat()}]
    assert f"№ 77 от {dt.date.today():%d.%m.%Y}" in pdf_text(vat.files[0].content)


def test_merging_clients_moves_deals_documents_and_payments_and_the_undo_moves_them_back(
    db_session, admin
):
    """The duplicate's invoice and its payment follow the deal to the survivor (the survivor's
    card shows them); the frozen files stay as they were; undoing the merge takes them back."""
    from erp_crm.clients import dedupe
    from erp_crm.clients import timeline as client_timeline
    from erp_crm.clients.models import Client
    from erp_crm.sales_documents.models import Document, DocumentFile
    from tests.fixtures.deals import make_client

    deal = make_deal(db_session, admin, name="ООО «Ромашка» (дубль)")
    duplicate = deal.client
    invoice = documents.issue_document(db_session, deal, "invoice", actor=admin)
    payment = pay(db_session, "1000.00", guid=invoice.guid)
    survivor = make_client(db_session, admin, name="ООО «Ромашка»", inn="7736207543")
    files = {
        f.id: f.sha256
        for f in db_session.scalars(
            select(DocumentFile).where(DocumentFile.document_id == invoice.id)
        )
    }

    result = dedupe.merge_clients(db_session, survivor, duplicate, actor=admin)
    assert result.moved == {
        "deals.client_id": [deal.id],
        "documents.client_id": [invoice.id],
        "payments.client_id": [payment.id],
    }
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(Document, invoice.id).client_id == survivor.id
    assert db_session.get(Payment, payment.id).client_id == survivor.id
    assert db_session.get(Deal, deal.id).client_id == survivor.id
    kinds = {e.kind for e in client_timeline.timeline(db_session, survivor)}
    assert {"document.issued", "payment"} <= kinds
    for file_id, sha in files.items():
        assert db_session.get(DocumentFile, file_id).sha256 == sha

    dedupe.unmerge_client(db_session, db_session.get(Client, duplicate.id), actor=admin)
    db_session.flush()
    db_session.expire_all()
    assert db_session.get(Document, invoice.id).client_id == duplicate.id
    assert db_session.get(Payment, payment.id).client_id == duplicate.id
    assert db_session.get(Deal, deal.id).client_id == duplicate.id


@pytest.mark.parametrize("with_receivables", [True, False])
def test_a_leavers_won_deals_with_unpaid_invoices_go_to_the_new_curator(
    db_session, org, make_user, with_receivables
):
    from erp_crm.clients import services as client_services
    from tests.fixtures.documents import sell

    leaver = make_user("sales_manager", username="leaver")
    heir = make_user("sales_manager", username="heir")
    head = make_user("head_of_sales", username="reassign_head")
    owing = sell(db_session, make_deal(db_session, leaver), leaver)
    settled = sell(
        db_session, make_deal(db_session, leaver, client=owing.client, stand_no=1), leaver
    )
    unpaid = documents.issue_document(db_session, owing, "invoice", actor=leaver)
    paid = documents.issue_document(db_session, settled, "invoice", actor=leaver)
    pay(db_session, str(unpaid.amount - D("0.01")), guid=unpaid.guid)  # a kopeck still owed
    pay(db_session, str(paid.amount), guid=paid.guid)
    assert (owing.outcome, settled.outcome) == ("won", "won")

    result = client_services.reassign_clients(
        db_session, leaver, [heir, leaver], actor=head, with_receivables=with_receivables
    )
    assert owing.manager_id == (heir.id if with_receivables else leaver.id)
    assert settled.manager_id == leaver.id  # nothing to collect: the sale stays the leaver's
    assert result.moved_along.get("сделок с неоплаченными счетами") == (
        1 if with_receivables else None
    )
    assert result.per_user == {heir.id: 1}  # the leaver is never a recipient
    with pytest.raises(ValidationError) as refused:
        client_services.reassign_clients(db_session, leaver, [leaver], actor=head)
    assert "не самого уходящего" in refused.value.fields["to_users"]
