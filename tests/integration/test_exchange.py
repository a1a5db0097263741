"""The exchange's state machines on their own, without SOAP: the outbox (claim, mark, backoff,
dead, retry), the inbox (a message applied once by its number), the payload → wire mapping and
the dependency rule (erp_crm never imports accounting_sync or zeep)."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accounting_sync import messages as m
from erp_crm.billing.models import Payment
from erp_crm.db import utcnow
from erp_crm.errors import Conflict
from erp_crm.integration import inbox, outbox, services
from erp_crm.integration.models import ExchangeEvent, InboundMessage, OutboxMessage


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def queue(session, kind: str, guid: str, **payload) -> OutboxMessage:
    return outbox.enqueue(
        session, kind, object_id=1, guid=guid, payload={"guid": guid, **payload}, label=guid
    )


def test_claim_numbers_counterparties_first_then_documents_then_one_budget_each(db_session, ctx):
    queue(db_session, "budget", "b1")
    queue(db_session, "budget", "b2")
    queue(db_session, "document", "d1")
    queue(db_session, "counterparty", "c1")
    queue(db_session, "counterparty", "c2")
    claimed = []
    while (batch := outbox.claim_batch(db_session, batch_size=50)) is not None:
        assert batch != outbox.WAIT
        claimed.append((batch.message_no, batch.kind, [p["guid"] for p in batch.payloads]))
        outbox.mark_sent(db_session, batch, accounting_ids={}, answer="accepted")
    assert claimed == [
        (1, "counterparty", ["c1", "c2"]),
        (2, "document", ["d1"]),
        (3, "budget", ["b1"]),
        (4, "budget", ["b2"]),
    ]
    assert services.state(db_session).sent_no == 4


def test_a_batch_size_splits_a_kind_into_several_messages(db_session, ctx):
    for n in range(5):
        queue(db_session, "counterparty", f"c{n}")
    first = outbox.claim_batch(db_session, batch_size=2)
    assert [p["guid"] for p in first.payloads] == ["c0", "c1"]
    outbox.mark_sent(db_session, first, accounting_ids={}, answer="accepted")
    second = outbox.claim_batch(db_session, batch_size=2)
    assert (second.message_no, [p["guid"] for p in second.payloads]) == (2, ["c2", "c3"])


def test_a_failed_batch_waits_its_backoff_then_goes_again_with_the_same_number(db_session, ctx):
    queue(db_session, "counterparty", "c1")
    batch = outbox.claim_batch(db_session)
    assert batch.message_no == 1
    before = utcnow()
    dead = outbox.mark_failed(db_session, batch, "нет связи", max_attempts=5, backoff_base=10)
    row = db_session.get(OutboxMessage, batch.ids[0])
    assert dead == 0
    assert (row.status, row.attempts, row.message_no, row.last_error) == (
        "pending",
        1,
        1,
        "нет связи",
    )
    assert before + dt.timedelta(seconds=10) <= row.next_attempt_at
    assert row.next_attempt_at <= utcnow() + dt.timedelta(seconds=10)
    queue(db_session, "counterparty", "c2")  # newer: must not overtake the open batch
    assert outbox.claim_batch(db_session) == outbox.WAIT
    row.next_attempt_at = utcnow() - dt.timedelta(seconds=1)
    again = outbox.claim_batch(db_session)
    assert (again.message_no, again.ids) == (1, batch.ids)  # the peer drops it if it had it
    assert services.state(db_session).sent_no == 1
    event = db_session.scalars(select(ExchangeEvent).order_by(ExchangeEvent.id.desc())).first()
    assert (event.operation, event.ok, event.message_no) == ("Put:counterparty", False, 1)


def test_backoff_doubles_from_the_base_and_stops_at_an_hour():
    assert [outbox.backoff(n, 10).total_seconds() for n in (0, 1, 2, 3, 4)] == [10, 10, 20, 40, 80]
    assert outbox.backoff(30, 10) == dt.timedelta(hours=1)


def test_the_limits_come_from_the_config_by_default(app, db_session, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ACCOUNTING_MAX_ATTEMPTS", 1)
    queue(db_session, "document", "d1")
    batch = outbox.claim_batch(db_session)
    assert outbox.mark_failed(db_session, batch, "ошибка 1С") == 1
    assert db_session.get(OutboxMessage, batch.ids[0]).status == "dead"


def test_dead_rows_release_their_number_and_a_retry_numbers_them_anew(db_session, ctx, make_user):
    admin = make_user("admin", username="exchangeadmin")
    queue(db_session, "counterparty", "c1")
    queue(db_session, "counterparty", "c2")
    batch = outbox.claim_batch(db_session)
    outbox.mark_failed(db_session, batch, "раз", max_attempts=2, backoff_base=0)
    assert outbox.mark_failed(db_session, batch, "два", max_attempts=2, backoff_base=0) == 2
    rows = [db_session.get(OutboxMessage, i) for i in batch.ids]
    assert [(r.status, r.attempts, r.message_no) for r in rows] == [("dead", 2, None)] * 2
    assert outbox.claim_batch(db_session) is None  # dead rows are not sent by themselves
    outbox.retry_dead(db_session, rows[0], actor=admin)
    with pytest.raises(Conflict):
        outbox.retry_dead(db_session, rows[0], actor=admin)  # pending now, not dead
    retried = outbox.claim_batch(db_session)
    assert (retried.message_no, retried.ids) == (2, [rows[0].id])
    assert rows[0].attempts == 0
    assert outbox.retry_all_dead(db_session, actor=admin) == 1
    db_session.expire_all()
    assert db_session.get(OutboxMessage, rows[1].id).status == "pending"


def test_mark_sent_keeps_1c_ids_and_sends_an_object_queued_twice_once(db_session, ctx):
    queue(db_session, "counterparty", "c1", name="Старое имя")
    queue(db_session, "counterparty", "c1", name="Новое имя")
    queue(db_session, "counterparty", "c2", name="Другой")
    batch = outbox.claim_batch(db_session)
    assert len(batch.ids) == 3
    assert [(p["guid"], p["name"]) for p in batch.payloads] == [
        ("c1", "Новое имя"),
        ("c2", "Другой"),
    ]
    outbox.mark_sent(db_session, batch, accounting_ids={"c1": "1c-ref-1"}, answer="duplicate")
    rows = [db_session.get(OutboxMessage, i) for i in batch.ids]
    assert [(r.status, r.attempts, r.accounting_id) for r in rows] == [
        ("sent", 1, "1c-ref-1"),
        ("sent", 1, "1c-ref-1"),
        ("sent", 1, None),
    ]
    assert all(r.sent_at is not None and r.last_error is None for r in rows)
    event = db_session.scalars(select(ExchangeEvent).order_by(ExchangeEvent.id.desc())).first()
    assert (event.ok, event.detail) == (True, "объектов: 3, ответ 1С: duplicate")
    assert outbox.claim_batch(db_session) is None


def payment(pid: str, amount: str) -> m.Payment:
    return m.Payment(
        id=pid,
        number=pid,
        date=dt.date(2026, 3, 2),
        payer_name="ООО «Никто»",
        payer_inn="7707083893",
        amount=D(amount),
        purpose="Оплата",
    )


def test_a_message_is_applied_once_by_its_number_and_a_payment_once_by_its_id(db_session, ctx):
    first = m.Changes(message_no=1, has_more=False, payments=(payment("p1", "10.00"),))
    assert inbox.received_no(db_session) == 0
    received = inbox.receive(db_session, first)
    assert (received.applied, received.payments_new, received.payments_known) == (True, 1, 0)
    assert inbox.received_no(db_session) == 1
    again = inbox.receive(db_session, first)  # redelivered: 1C did not get our acknowledgement
    assert (again.applied, again.payments_new) == (False, 0)
    second = m.Changes(
        message_no=2, has_more=False, payments=(payment("p1", "10.00"), payment("p2", "5.00"))
    )
    received = inbox.receive(db_session, second)
    assert (received.payments_new, received.payments_known) == (1, 1)
    assert inbox.received_no(db_session) == 2
    assert db_session.scalar(select(func.count(Payment.id))) == 2
    log = db_session.execute(
        select(InboundMessage.message_no, InboundMessage.status, InboundMessage.payments).order_by(
            InboundMessage.id
        )
    ).all()
    assert [tuple(r) for r in log] == [(1, "applied", 1), (1, "ignored", 0), (2, "applied", 1)]


def test_statuses_of_unknown_documents_and_actuals_of_unknown_projects_are_skipped(db_session, ctx):
    changes = m.Changes(
        message_no=1,
        has_more=False,
        document_statuses=(m.DocumentStatus(document_guid=m.new_guid(), status="posted"),),
        budget_actuals=(
            m.BudgetActual(
                project_guid=m.new_guid(),
                article_code="INC-SPACE",
                direction="income",
                month=dt.date(2026, 1, 1),
                amount=D("1.00"),
            ),
        ),
    )
    received = inbox.receive(db_session, changes)
    assert (received.applied, received.statuses, received.actuals) == (True, 0, 0)
    assert inbox.received_no(db_session) == 1


def test_from_payload_builds_the_wire_message_of_each_kind():
    counterparty = m.from_payload(
        "counterparty",
        {
            "guid": "g",
            "kind": "legal",
            "name": "А",
            "full_name": "ООО «А»",
            "inn": "7707083893",
            "kpp": "",
            "ogrn": None,
            "legal_address": None,
            "phone": "",
            "email": "a@b.ru",
        },
    )
    assert (counterparty.kpp, counterparty.ogrn, counterparty.legal_address) == (None, None, "")
    document = m.from_payload(
        "document",
        {
            "guid": "d",
            "kind": "invoice",
            "number": "7",
            "date": "2026-03-02",
            "status": "issued",
            "organization_inn": "7707083893",
            "counterparty_guid": "g",
            "contract_number": None,
            "contract_date": None,
            "base_document_guid": None,
            "project_guid": "p",
            "currency": "643",
            "amount": "120.00",
            "vat_amount": "20.00",
            "lines": [
                {
                    "line_no": 1,
                    "description": "Стенд",
                    "unit": "м²",
                    "unit_code": "055",
                    "quantity": "2",
                    "price": "50.00",
                    "amount": "120.00",
                    "vat_rate": "20",
                    "vat_amount": "20.00",
                }
            ],
        },
    )
    assert isinstance(document, m.Document)
    assert (document.date, document.amount, document.contract_date) == (
        dt.date(2026, 3, 2),
        D("120.00"),
        None,
    )
    assert document.lines[0].quantity == D("2") and document.lines[0].line_no == 1
    budget = m.from_payload(
        "budget",
        {
            "guid": "b",
            "project_guid": "p",
            "project_code": "X",
            "project_name": "Икс",
            "version": 2,
            "status": "approved",
            "lines": [
                {
                    "article_code": "INC-SPACE",
                    "article_name": "Площадь",
                    "direction": "income",
                    "month": "2027-01-01",
                    "amount": "99.99",
                }
            ],
        },
    )
    assert (budget.version, budget.lines[0].month, budget.lines[0].amount) == (
        2,
        dt.date(2027, 1, 1),
        D("99.99"),
    )
    with pytest.raises(ValueError):
        m.from_payload("budget", {"guid": "b"})  # a required field missing is refused


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_erp_crm_never_imports_the_adapter_and_budgets_never_the_exchange():
    root = Path(__file__).resolve().parents[2] / "erp_crm"
    offenders = {
        str(path.relative_to(root)): name
        for path in root.rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in ("accounting_sync", "zeep")
        or (path.parent.name == "budgets" and name.startswith("erp_crm.integration"))
    }
    assert offenders == {}
