"""The SOAP contract end to end: the zeep client against the 1C emulator over real HTTP.

Every test starts the emulator on an ephemeral localhost port with its own SQLite file; nothing is
mocked and the app's database is not involved.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree

from accounting_sync.client import WSDL_PATH, AccountingClient
from accounting_sync.emulator import EmulatorServer, start_emulator
from accounting_sync.emulator.soap import safe_parser
from accounting_sync.emulator.storage import expense_actual
from accounting_sync.errors import (
    AccountingAuthError,
    AccountingError,
    AccountingFault,
    AccountingProtocolError,
    AccountingUnavailable,
)
from accounting_sync.messages import (
    Budget,
    BudgetActual,
    BudgetLine,
    Changes,
    Counterparty,
    Document,
    DocumentLine,
    DocumentStatus,
    ObjectResult,
    Payment,
    PingResult,
    PutResponse,
    wire_fields,
)
from tests.fixtures.accounting_emulator import (
    PASSWORD,
    TODAY,
    USER,
    budget,
    counterparty,
    document,
    line,
)

NS = {
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
    "soap12": "http://schemas.xmlsoap.org/wsdl/soap12/",
}
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
CYRILLIC = re.compile("[А-Яа-яЁё]")
AUTH = (USER.encode(), PASSWORD.encode())


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "accounting_emulator.sqlite3"


@pytest.fixture
def emulator(db_file: Path) -> Iterator[EmulatorServer]:
    server = start_emulator(db_file, password=PASSWORD, today=lambda: TODAY)
    yield server
    server.stop()


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[AccountingClient]:
    with AccountingClient(emulator.url, USER, PASSWORD, operation_timeout=3) as c:
        yield c


def soap_post(url: str, body: str | bytes, version: str = "1.1") -> requests.Response:
    content_type = "text/xml; charset=utf-8" if version == "1.1" else "application/soap+xml"
    data = body.encode() if isinstance(body, str) else body
    return requests.post(
        url, data=data, headers={"Content-Type": content_type}, auth=AUTH, timeout=5
    )


def ping_envelope(env_ns: str = SOAP11, node: str = "CRM") -> str:
    return (
        f'<soap:Envelope xmlns:soap="{env_ns}" xmlns:m="http://expo-crm.ru/exchange">'
        f"<soap:Body><m:Ping><m:Node>{node}</m:Node></m:Ping></soap:Body></soap:Envelope>"
    )


def fault_text(response: requests.Response) -> str:
    root = etree.fromstring(response.content, parser=safe_parser())
    return "".join(root.xpath("//faultstring/text() | //*[local-name()='Text']/text()"))


# --- the contract itself --------------------------------------------------------------------


def _sequence(schema: etree._Element, type_name: str) -> list[str]:
    node = schema.find(f"xs:complexType[@name='{type_name}']", NS)
    if node is None:  # an operation wrapper: a global element with an anonymous type
        node = schema.find(f"xs:element[@name='{type_name}']/xs:complexType", NS)
    return [el.get("name") for el in node.findall("xs:sequence/xs:element", NS)]


def test_wsdl_is_shaped_like_1c_and_matches_the_message_classes() -> None:
    wsdl = etree.parse(str(WSDL_PATH), parser=safe_parser()).getroot()
    schema = wsdl.find("wsdl:types/xs:schema", NS)
    assert schema.get("elementFormDefault") == "qualified"
    for cls, type_name in [
        (Counterparty, "Counterparty"),
        (Document, "Document"),
        (DocumentLine, "DocumentLine"),
        (Budget, "Budget"),
        (BudgetLine, "BudgetLine"),
        (ObjectResult, "ObjectResult"),
        (Payment, "Payment"),
        (DocumentStatus, "DocumentStatus"),
        (BudgetActual, "BudgetActual"),
        (PingResult, "PingResponse"),
        (PutResponse, "PutDocumentsResponse"),
        (Changes, "GetChangesResponse"),
    ]:
        assert _sequence(schema, type_name) == [f.xml for f in wire_fields(cls)], type_name

    operations = ["Ping", "PutCounterparties", "PutDocuments", "PutBudget", "GetChanges"]
    for op in operations:
        assert _sequence(schema, f"{op}Response")[0] == "return"
        for direction, element in (("Request", op), ("Response", f"{op}Response")):
            part = wsdl.find(f"wsdl:message[@name='{op}{direction}Message']/wsdl:part", NS)
            assert (part.get("name"), part.get("element")) == ("parameters", f"tns:{element}")
    for binding, prefix in (
        ("ExpoExchangeSoapBinding", "soap"),
        ("ExpoExchangeSoap12Binding", "soap12"),
    ):
        node = wsdl.find(f"wsdl:binding[@name='{binding}']", NS)
        actions = {
            op.get("name"): op.find(f"{prefix}:operation", NS).get("soapAction")
            for op in node.findall("wsdl:operation", NS)
        }
        assert actions == {
            op: f"http://expo-crm.ru/exchange#ExpoExchange:{op}" for op in operations
        }
    ports = wsdl.findall("wsdl:service[@name='ExpoExchange']/wsdl:port", NS)
    assert [p.get("name") for p in ports] == ["ExpoExchangeSoap", "ExpoExchangeSoap12"]


# --- connection, versions, auth ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ping_over_both_soap_versions(emulator: EmulatorServer, version: str) -> None:
    with AccountingClient(emulator.url, USER, PASSWORD, soap_version=version) as c:
        result = c.ping()
    assert result.version == "1.0"
    assert isinstance(result.server_time, datetime)
    assert abs((datetime.now() - result.server_time).total_seconds()) < 60

    # The emulator answers in the envelope and media type of the request.
    env_ns, media = (SOAP11, "text/xml") if version == "1.1" else (SOAP12, "application/soap+xml")
    raw = soap_post(emulator.url, ping_envelope(env_ns), version)
    assert raw.status_code == 200
    assert raw.headers["Content-Type"].startswith(media)
    assert etree.fromstring(raw.content, parser=safe_parser()).tag == f"{{{env_ns}}}Envelope"


def test_served_wsdl_is_the_shipped_file_and_its_address_is_ignored(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    served = requests.get(emulator.wsdl_url, auth=AUTH, timeout=5)
    assert served.status_code == 200
    assert served.content == WSDL_PATH.read_bytes()
    assert b"http://srv-1c.local/buh/ws/ExpoExchange.1cws" in served.content
    # srv-1c.local does not resolve here: the answer proves the configured URL was used.
    assert client.ping().version == "1.0"
    # Any publication name works, as does none (the app's default URL has no "/buh").
    alt = emulator.base_url + "/ws/ExpoExchange.1cws"
    with AccountingClient(alt, USER, PASSWORD) as c:
        assert c.ping().version == "1.0"


def test_cyrillic_basic_auth_and_wrong_credentials(emulator: EmulatorServer) -> None:
    with AccountingClient(emulator.url, "Обмен", PASSWORD) as c:
        assert c.ping().version == "1.0"
    for user, password in (("Обмен", "неверный"), ("Обмен2", PASSWORD)):
        with (
            AccountingClient(emulator.url, user, password) as c,
            pytest.raises(AccountingAuthError) as exc_info,
        ):
            c.ping()
        assert "HTTP 401" in str(exc_info.value)
        assert CYRILLIC.search(exc_info.value.message)
    anonymous = requests.post(emulator.url, data=ping_envelope(), timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.content == b""


def test_latin1_basic_auth_is_accepted(db_file: Path) -> None:
    """Old clients send latin-1 credentials; the emulator falls back to it."""
    server = start_emulator(db_file, username="Müller", password="pässword")
    try:
        ok = requests.post(
            server.url,
            data=ping_envelope(),
            headers={"Content-Type": "text/xml"},
            auth=("Müller", "pässword"),  # requests encodes str credentials as latin-1
            timeout=5,
        )
        assert ok.status_code == 200
    finally:
        server.stop()


def test_unreachable_server_is_unavailable(emulator: EmulatorServer) -> None:
    url = emulator.url
    emulator.stop()
    with (
        AccountingClient(url, USER, PASSWORD, timeout=2) as c,
        pytest.raises(AccountingUnavailable) as exc_info,
    ):
        c.ping()
    assert exc_info.value.retryable
    assert "Не удалось связаться с 1С" in str(exc_info.value)


# --- Put* round trips -------------------------------------------------------------------------


def test_put_counterparties_matches_by_inn_kpp_and_keeps_our_guid(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    first = counterparty()
    branch = counterparty(kpp="773602001", name="Ромашка (филиал)")
    person = counterparty(inn="500100732259", kpp=None, kind="sole_trader", name="ИП Иванов")
    reply = client.put_counterparties(1, 0, [first, branch, person])
    assert reply.status == "accepted" and not reply.duplicate
    assert reply.received_no == 1
    ids = {r.guid: r.accounting_id for r in reply.results}
    assert set(ids) == {first.guid, branch.guid, person.guid}
    assert len(set(ids.values())) == 3

    stored = {row["guid"]: row for row in emulator.storage.counterparties()}
    assert stored[first.guid]["full_name"] == 'ООО "Ромашка"'
    assert stored[first.guid]["kpp"] == "773601001"
    assert stored[person.guid]["kpp"] is None
    assert stored[person.guid]["kind"] == "sole_trader"
    assert stored[first.guid]["accounting_id"] == ids[first.guid]

    # A CRM duplicate with the same INN+KPP lands on the same 1C counterparty.
    twin = counterparty(name="Ромашка ООО")
    again = client.put_counterparties(2, 0, [twin])
    assert again.results[0].accounting_id == ids[first.guid]
    assert len(emulator.storage.counterparties()) == 3


def test_put_documents_round_trip_with_decimal_lines(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    cp = counterparty()
    client.put_counterparties(1, 0, [cp])
    invoice = document(cp, "15", lines=(line(1, "12.5", "8000.00"), line(2, "1", "4500.50")))
    act = document(cp, "7", kind="act")
    vat_invoice = document(cp, "7", kind="vat_invoice", base_document_guid=act.guid)
    stranger = document(counterparty(inn="7728168971", kpp=None), "16")
    reply = client.put_documents(2, 0, [invoice, act, vat_invoice, stranger])
    assert reply.status == "accepted"
    assert [r.guid for r in reply.results] == [
        invoice.guid,
        act.guid,
        vat_invoice.guid,
        stranger.guid,
    ]

    stored = {row["guid"]: row for row in emulator.storage.documents()}
    assert Decimal(stored[invoice.guid]["amount"]) == Decimal("104500.50")
    assert Decimal(stored[invoice.guid]["vat_amount"]) == invoice.vat_amount
    assert stored[invoice.guid]["contract_date"] == "2026-10-01"
    lines = emulator.storage.document_lines(invoice.guid)
    assert [
        (Decimal(ln["quantity"]), Decimal(ln["price"]), Decimal(ln["amount"])) for ln in lines
    ] == [
        (Decimal("12.5"), Decimal("8000.00"), Decimal("100000.00")),
        (Decimal("1"), Decimal("4500.50"), Decimal("4500.50")),
    ]
    assert lines[0]["vat_rate"] == "22" and lines[0]["unit_code"] == "055"

    statuses = {s.document_guid: s for s in client.get_changes(0, 10).document_statuses}
    assert statuses[invoice.guid].status == "posted"
    assert statuses[invoice.guid].accounting_number == "СЧ00-000001"
    assert statuses[invoice.guid].accounting_date == date(2026, 11, 1)
    assert statuses[vat_invoice.guid].status == "posted"
    rejected = statuses[stranger.guid]
    assert rejected.status == "rejected"
    assert "Не найден контрагент" in (rejected.comment or "")
    assert rejected.accounting_date is None  # 1C's empty date 0001-01-01 read as None


def test_put_budget_stores_it_and_produces_actuals(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    cp = counterparty()
    project = "6f1d8a52-2a8e-4c3b-9a55-0d5e2f1c7b10"
    first = budget(project, version=1)
    reply = client.put_budget(1, 0, first)
    assert reply.status == "accepted" and reply.results[0].guid == first.guid
    stored = emulator.storage.budgets()
    assert [(b["guid"], b["version"]) for b in stored] == [(first.guid, 1)]
    assert {Decimal(ln["amount"]) for ln in emulator.storage.budget_lines(first.guid)} == {
        Decimal("500000.00"),
        Decimal("150000.00"),
        Decimal("80000.55"),
    }

    # Expense actuals for the past months (Oct, Nov) only, deterministic.
    actuals = client.get_changes(0, 50).budget_actuals
    assert {(a.article_code, a.direction, a.month): a.amount for a in actuals} == {
        ("200", "expense", date(2026, 10, 1)): expense_actual(
            project, "200", date(2026, 10, 1), Decimal("150000.00")
        ),
        ("210", "expense", date(2026, 11, 1)): expense_actual(
            project, "210", date(2026, 11, 1), Decimal("80000.55")
        ),
    }
    assert all(isinstance(a.amount, Decimal) for a in actuals)

    # Income actual = payments for the project's invoices in the month, cumulative (upsert).
    client.put_counterparties(2, 1, [cp])
    client.put_documents(3, 1, [document(cp, "15", project_guid=project)])
    emulator.storage.add_payment(
        invoice_number="15", amount=Decimal("60000"), payment_date=date(2026, 11, 20)
    )
    emulator.storage.add_payment(
        invoice_number="15", amount=Decimal("44500.50"), payment_date=date(2026, 11, 25)
    )
    changes = client.get_changes(1, 50)
    income = [a for a in changes.budget_actuals if a.direction == "income"]
    assert [(a.article_code, a.month, a.amount) for a in income] == [
        ("100", date(2026, 11, 1), Decimal("104500.50"))
    ]

    # Version 2 replaces version 1 of the project.
    second = budget(project, version=2)
    client.put_budget(4, changes.message_no, second)
    assert [(b["guid"], b["version"]) for b in emulator.storage.budgets()] == [(second.guid, 2)]


def test_same_message_number_twice_is_a_duplicate_and_applied_once(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    cp = counterparty()
    client.put_counterparties(1, 0, [cp])
    invoice = document(cp, "15")
    first = client.put_documents(2, 0, [invoice])
    second = client.put_documents(2, 0, [invoice])
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert second.duplicate and second.received_no == 2
    # The duplicate still reports the ids 1C knows, so a lost answer loses nothing.
    assert second.results == first.results

    changed = document(cp, "15-изм", guid=invoice.guid)
    assert client.put_documents(1, 0, [changed]).status == "duplicate"  # older number
    assert [d["number"] for d in emulator.storage.documents()] == ["15"]
    assert [m["no"] for m in emulator.storage.in_messages("CRM")] == [1, 2]


# --- payments and GetChanges ------------------------------------------------------------------


def test_payment_by_invoice_number_comes_back_with_the_invoice_guid(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    cp = counterparty()
    client.put_counterparties(1, 0, [cp])
    invoice = document(cp, "15")
    client.put_documents(2, 0, [invoice])
    entered = emulator.storage.add_payment(invoice_number="15", amount=Decimal("1000.00"))

    changes = client.get_changes(0, 10)
    [payment] = changes.payments
    assert payment.id == entered.id
    assert payment.invoice_guid == invoice.guid and payment.invoice_number == "15"
    assert payment.amount == Decimal("1000.00") and isinstance(payment.amount, Decimal)
    assert (payment.payer_inn, payment.payer_kpp) == ("7707083893", "773601001")
    assert payment.payer_name == 'ООО "Ромашка"'
    assert payment.purpose.startswith("Оплата по счету № 15 от 01.11.2026")
    assert payment.date == TODAY


def test_payment_by_inn_and_purpose_entered_on_the_page(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    session = requests.Session()
    session.auth = AUTH
    page = session.get(emulator.page_url, timeout=5)
    assert page.status_code == 200 and "Ввести поступление" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    form = {
        "token": token,
        "inn": "7707083893",
        "purpose": "Оплата по сч. 15 от 01.11.2026 за участие в выставке",
        "amount": "1 000,50",
        "date": "2026-11-20",
    }
    stale = session.post(emulator.base_url + "/emulator/payments", data={**form, "token": "x"})
    assert stale.status_code == 400
    posted = session.post(emulator.base_url + "/emulator/payments", data=form, timeout=5)
    assert posted.status_code == 200 and "зарегистрирован" in posted.text  # after the redirect

    [payment] = client.get_changes(0, 10).payments
    assert payment.invoice_guid is None and payment.invoice_number is None
    assert payment.payer_inn == "7707083893" and payment.payer_kpp is None
    assert payment.payer_name == "Плательщик ИНН 7707083893"
    assert payment.purpose == "Оплата по сч. 15 от 01.11.2026 за участие в выставке"
    assert (payment.amount, payment.date) == (Decimal("1000.50"), date(2026, 11, 20))

    bad = session.post(emulator.base_url + "/emulator/payments", data={**form, "inn": "12"})
    assert bad.status_code == 400 and "ИНН плательщика" in bad.text


def test_paging_acknowledgement_and_resend(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    entered = [
        emulator.storage.add_payment(inn="7707083893", purpose=f"Оплата {i}", amount=Decimal(i))
        for i in range(1, 6)
    ]
    ids = [p.id for p in entered]

    first = client.get_changes(0, 2)
    assert (first.message_no, first.has_more) == (1, True)
    assert [p.id for p in first.payments] == ids[:2]
    # Not acknowledged: the same message again, same number, same content.
    assert client.get_changes(0, 2) == first

    second = client.get_changes(1, 2)
    assert (second.message_no, second.has_more) == (2, True)
    assert [p.id for p in second.payments] == ids[2:4]
    third = client.get_changes(2, 2)
    assert (third.message_no, third.has_more) == (3, False)
    assert [p.id for p in third.payments] == ids[4:]

    assert emulator.storage.node_state("CRM").pending_changes == 1
    # A Put* carries our acknowledgement too.
    client.put_counterparties(1, 3, [counterparty()])
    state = emulator.storage.node_state("CRM")
    assert (state.sent_no, state.received_no, state.pending_changes) == (3, 1, 0)
    nothing = client.get_changes(3, 2)
    assert (nothing.message_no, nothing.has_more, nothing.is_empty) == (0, False, True)
    with pytest.raises(ValueError):
        client.get_changes(3, 501)


def test_acknowledging_a_message_never_sent_is_a_fault(client: AccountingClient) -> None:
    with pytest.raises(AccountingFault) as exc_info:
        client.get_changes(5, 10)
    assert "подтверждает получение сообщения № 5" in exc_info.value.fault_text


def test_unknown_node_and_schema_violations_are_faults(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    with (
        AccountingClient(emulator.url, USER, PASSWORD, node="ERP") as other,
        pytest.raises(AccountingFault) as exc_info,
    ):
        other.ping()
    assert "Узел плана обмена «ERP» не найден" in exc_info.value.fault_text

    with pytest.raises(AccountingFault) as exc_info:
        client.put_counterparties(1, 0, [counterparty(inn="77-07")])
    assert "XDTO" in exc_info.value.fault_text
    assert emulator.storage.counterparties() == []
    assert emulator.storage.node_state("CRM").received_no == 0


def test_float_money_is_refused_before_sending() -> None:
    with pytest.raises(TypeError):
        DocumentLine(
            line_no=1,
            description="Стенд",
            unit="м2",
            unit_code="055",
            quantity=Decimal(1),
            price=1000.0,
            amount=Decimal(1000),
            vat_rate="22",
            vat_amount=Decimal("180.33"),
        )


# --- injected faults --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("http500", AccountingUnavailable),
        ("malformed", (AccountingUnavailable, AccountingProtocolError)),
        ("drop", AccountingUnavailable),
        ("dtd", AccountingProtocolError),
    ],
)
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_injected_faults_map_to_error_classes(
    emulator: EmulatorServer, kind: str, expected: type, version: str
) -> None:
    emulator.inject(kind)
    with AccountingClient(emulator.url, USER, PASSWORD, soap_version=version) as c:
        with pytest.raises(expected) as exc_info:
            c.ping()
        assert isinstance(exc_info.value, AccountingError)
        assert CYRILLIC.search(str(exc_info.value))
        assert exc_info.value.operation == "Ping"
        assert c.ping().version == "1.0"  # one-shot: the next call is fine


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_soap_fault_carries_1c_text(emulator: EmulatorServer, version: str) -> None:
    text = "Ошибка при вызове метода контекста (Записать): период 10.2026 закрыт для изменений"
    emulator.inject("soap_fault", operation="PutCounterparties", message=text)
    with AccountingClient(emulator.url, USER, PASSWORD, soap_version=version) as c:
        assert c.ping().version == "1.0"  # the fault is limited to PutCounterparties
        with pytest.raises(AccountingFault) as exc_info:
            c.put_counterparties(1, 0, [counterparty()])
    assert exc_info.value.fault_text == text
    assert text in str(exc_info.value)
    assert exc_info.value.code is not None
    assert emulator.storage.counterparties() == []  # nothing applied


def test_delay_beyond_operation_timeout_is_unavailable(emulator: EmulatorServer) -> None:
    emulator.inject("delay", seconds=3)
    with AccountingClient(emulator.url, USER, PASSWORD, operation_timeout=0.3) as c:
        started = time.monotonic()
        with pytest.raises(AccountingUnavailable) as exc_info:
            c.ping()
        assert time.monotonic() - started < 2
    assert "не ответила за отведённое время" in str(exc_info.value)


def test_dropped_answer_then_resend_is_a_duplicate(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    cp = counterparty()
    emulator.inject("drop", operation="PutCounterparties")
    with pytest.raises(AccountingUnavailable):
        client.put_counterparties(1, 0, [cp])
    # 1C did apply it: the resend with the same number is a duplicate with the known id.
    resent = client.put_counterparties(1, 0, [cp])
    assert resent.status == "duplicate"
    assert resent.results[0].accounting_id == emulator.storage.counterparties()[0]["accounting_id"]


def test_redelivered_old_message_keeps_its_old_number(
    emulator: EmulatorServer, client: AccountingClient
) -> None:
    a = emulator.storage.add_payment(inn="7707083893", purpose="Оплата А", amount=Decimal("10"))
    assert client.get_changes(0, 10).message_no == 1
    b = emulator.storage.add_payment(inn="7707083893", purpose="Оплата Б", amount=Decimal("20"))
    emulator.inject("redeliver")
    old = client.get_changes(1, 10)
    assert old.message_no == 1 and [p.id for p in old.payments] == [a.id]
    fresh = client.get_changes(1, 10)
    assert fresh.message_no == 2 and [p.id for p in fresh.payments] == [b.id]


def test_fault_control_endpoint(emulator: EmulatorServer, client: AccountingClient) -> None:
    url = emulator.base_url + "/emulator/faults"
    plan = {"add": [{"kind": "http500", "operation": "GetChanges"}], "delay": 0}
    assert requests.post(url, json=plan, timeout=5).status_code == 401
    assert requests.post(url, data={"add": "x"}, auth=AUTH, timeout=5).status_code == 415
    bad = requests.post(url, json={"add": [{"kind": "meteor"}]}, auth=AUTH, timeout=5)
    assert bad.status_code == 400 and "meteor" in bad.json()["error"]
    ok = requests.post(url, json=plan, auth=AUTH, timeout=5)
    assert ok.status_code == 200 and ok.json()["queue"][0]["kind"] == "http500"

    assert client.ping().version == "1.0"
    with pytest.raises(AccountingUnavailable):
        client.get_changes(0, 10)
    assert requests.get(url, auth=AUTH, timeout=5).json()["queue"] == []


def test_random_faults_by_rate(emulator: EmulatorServer, client: AccountingClient) -> None:
    emulator.faults.set_random(["http500"], 1.0, operation="Ping")
    with pytest.raises(AccountingUnavailable):
        client.ping()
    emulator.faults.clear()
    assert client.ping().version == "1.0"


# --- XML safety on the emulator's side --------------------------------------------------------


def test_emulator_refuses_a_request_with_a_dtd(emulator: EmulatorServer) -> None:
    body = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE soap:Envelope [<!ENTITY node "CRM"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + ping_envelope(node="&node;&xxe;")
    )
    response = soap_post(emulator.url, body)
    assert response.status_code == 500
    text = fault_text(response)
    assert "DTD" in text and CYRILLIC.search(text)
    assert b"root:" not in response.content


def test_emulator_refuses_broken_xml_and_unknown_operations(emulator: EmulatorServer) -> None:
    broken = soap_post(emulator.url, "<soap:Envelope")
    assert broken.status_code == 500 and "Ошибка разбора XML" in fault_text(broken)
    unknown = soap_post(emulator.url, ping_envelope().replace("Ping>", "Explode>"))
    assert unknown.status_code == 500 and "Explode" in fault_text(unknown)


# --- persistence ------------------------------------------------------------------------------


def test_emulator_survives_a_restart(db_file: Path) -> None:
    server = start_emulator(db_file, password=PASSWORD, today=lambda: TODAY)
    cp = counterparty()
    try:
        with AccountingClient(server.url, USER, PASSWORD) as c:
            c.put_counterparties(1, 0, [cp])
            c.put_documents(2, 0, [document(cp, "15")])
        server.storage.add_payment(invoice_number="15", amount=Decimal("500.00"))
        with AccountingClient(server.url, USER, PASSWORD) as c:
            unconfirmed = c.get_changes(0, 10)
    finally:
        server.stop()
    assert unconfirmed.message_no == 1 and len(unconfirmed.payments) == 1

    restarted = start_emulator(db_file, password=PASSWORD, today=lambda: TODAY)
    try:
        state = restarted.storage.node_state("CRM")
        assert (state.sent_no, state.received_no) == (1, 2)
        with AccountingClient(restarted.url, USER, PASSWORD) as c:
            assert c.get_changes(0, 10) == unconfirmed  # resent unchanged after the restart
            assert c.put_documents(2, 0, [document(cp, "15")]).status == "duplicate"
            assert c.get_changes(1, 10).is_empty
        assert len(restarted.storage.documents()) == 1
    finally:
        restarted.stop()


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_enters_payments_into_the_emulator_file(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """The commands need only the app's config (INSTANCE_PATH): a bare Flask app will do."""
    from flask import Flask

    from accounting_sync.cli import accounting

    app = Flask(__name__)
    app.config.update(INSTANCE_PATH=str(tmp_path), ACCOUNTING_NODE="CRM")
    # The emulator fixture's file is instance/accounting_emulator.sqlite3: the commands' default.
    assert emulator.storage.path == tmp_path / "accounting_emulator.sqlite3"
    cp = counterparty()
    with AccountingClient(emulator.url, USER, PASSWORD) as c:
        c.put_counterparties(1, 0, [cp])
        c.put_documents(2, 0, [document(cp, "15")])
    db = str(emulator.storage.path)
    runner = app.test_cli_runner()
    actuals = runner.invoke(accounting, ["emulator-actuals", "--today", "2027-01-01"])
    assert actuals.exit_code == 0 and "Изменено фактов бюджета: 0" in actuals.output

    by_invoice = runner.invoke(  # no --db: the instance folder's file
        accounting, ["emulator-payment", "--invoice", "15", "--amount", "1000.00"]
    )
    assert by_invoice.exit_code == 0, by_invoice.output
    assert "зарегистрирован" in by_invoice.output
    by_inn = runner.invoke(
        accounting,
        [
            "emulator-payment",
            "--db",
            db,
            "--inn",
            "7707083893",
            "--purpose",
            "Оплата по сч. 15 от 01.11.2026",
            "--amount",
            "250,00",
            "--date",
            "20.11.2026",
        ],
    )
    assert by_inn.exit_code == 0, by_inn.output
    missing = runner.invoke(
        accounting, ["emulator-payment", "--db", db, "--invoice", "99", "--amount", "1"]
    )
    assert missing.exit_code != 0 and "Счёт № 99 не найден" in missing.output
    float_like = runner.invoke(
        accounting, ["emulator-payment", "--db", db, "--invoice", "15", "--amount", "abc"]
    )
    assert float_like.exit_code != 0

    with AccountingClient(emulator.url, USER, PASSWORD) as c:
        payments = c.get_changes(0, 10).payments
    assert [(p.invoice_number, p.amount) for p in payments] == [
        ("15", Decimal("1000.00")),
        (None, Decimal("250.00")),
    ]
    assert payments[1].date == date(2026, 11, 20)
