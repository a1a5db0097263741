"""Access-matrix rows of payments, receivables and the accounting exchange.

Payments and receivables: seen by the admin, the head of sales, sales managers and the
accountant; reconciled by the accountant (and the admin). The exchange log: the accountant and
the admin; its settings, retries and «sync now»: the admin only.
"""

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from erp_crm.auth.permissions import Role
from erp_crm.billing import services as billing
from erp_crm.clients import services as client_services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deal_services
from erp_crm.integration.jobs import EXCHANGE_JOB
from erp_crm.integration.models import OutboxMessage
from erp_crm.jobs.models import JobRequest
from erp_crm.projects.models import Stand
from erp_crm.sales_documents import services as documents
from tests.access.matrix import Case
from tests.fixtures.deals import make_project

ADMIN = frozenset({Role.ADMIN})
VIEWERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER, Role.ACCOUNTANT})
RECONCILERS = frozenset({Role.ADMIN, Role.ACCOUNTANT})
EXCHANGE = frozenset({Role.ADMIN, Role.ACCOUNTANT})

CASES = [
    Case("billing.index", "GET", "/payments/?show=unallocated", VIEWERS),
    Case("billing.show", "GET", "/payments/{bill_payment}", VIEWERS),
    Case("billing.invoice", "GET", "/payments/invoices/{bill_invoice}", VIEWERS),
    Case("billing.receivables", "GET", "/payments/receivables?group_by=manager", VIEWERS),
    Case(
        "billing.allocate",
        "POST",
        "/payments/{bill_payment}/allocate",
        RECONCILERS,
        ok=422,
        data={"invoice": "нет такого"},
    ),
    Case("api.list_payments", "GET", "/api/v1/payments?unallocated=true", VIEWERS),
    Case("api.invoice_payments", "GET", "/api/v1/invoices/{bill_invoice}/payments", VIEWERS),
    Case("api.get_receivables", "GET", "/api/v1/receivables", VIEWERS),
    Case("api.exchange_log", "GET", "/api/v1/exchange-log?status=pending", EXCHANGE),
    Case("exchange.index", "GET", "/exchange/?status=dead", EXCHANGE),
    Case("exchange.settings", "GET", "/exchange/settings", ADMIN),
    Case("exchange.settings", "POST", "/exchange/settings", ADMIN, ok=422),
    Case("exchange.retry", "POST", "/exchange/messages/{bill_outbox}/retry", ADMIN, ok=409),
    Case("exchange.retry_all", "POST", "/exchange/retry-dead", ADMIN, ok=302),
    # Nothing listens at the configured address in tests: a readable refusal, back to the page.
    Case("exchange.test_connection", "POST", "/exchange/settings/test", ADMIN, ok=302),
    Case("exchange.sync_progress", "GET", "/exchange/sync/{bill_exchange_job}/progress", EXCHANGE),
    Case("exchange.sync_now", "POST", "/exchange/sync", ADMIN, ok=302),
    # Last: takes the allocation off the payment.
    Case(
        "billing.unassign",
        "POST",
        "/payments/allocations/{bill_allocation}/unassign",
        RECONCILERS,
        ok=302,
    ),
]


def build(session, admin) -> dict:
    project = make_project(session, code="MTRXB", name="Матрица-Платежи 2027")
    client = client_services.create_client(
        session,
        client_services.ClientData(name="АО «Плательщик»", inn="7702070139", city="Самара"),
        actor=admin,
    )
    deal = deal_services.create_deal(
        session, deal_services.DealData(client_id=client.id, project_id=project.id), actor=admin
    )
    stand = session.scalar(select(Stand).where(Stand.project_id == project.id))
    deal_lines.add_stand_line(session, deal, stand, actor=admin)
    invoice = documents.issue_document(session, deal, "invoice", actor=admin)
    payment, _ = billing.record_payment(
        session,
        billing.PaymentData(
            accounting_id="matrix-payment",
            number="901",
            pay_date=dt.date(2026, 11, 25),
            payer_name="АО «Плательщик»",
            payer_inn="7702070139",
            payer_kpp=None,
            amount=Decimal("1000.00"),
            purpose="аванс",
            invoice_guid=invoice.guid,
        ),
    )
    outbox = session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    exchange_job = JobRequest(name=EXCHANGE_JOB, status="done", title="Обмен с 1С по кнопке")
    session.add(exchange_job)
    session.flush()
    return {
        "bill_invoice": invoice.id,
        "bill_payment": payment.id,
        "bill_allocation": payment.allocations[0].id,
        "bill_outbox": outbox.id,
        "bill_exchange_job": exchange_job.id,
    }
