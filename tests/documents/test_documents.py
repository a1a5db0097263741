"""Sales documents end to end: numbering, freezing, the chain of kinds, sandboxing, pages, API."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import zipfile
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from docx import Document as DocxDocument
from pypdf import PdfReader
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from documents import formatting
from documents.money import money
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Stage
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.organizations.models import Organization
from erp_crm.projects.models import ServiceItem
from erp_crm.sales_documents import numbering, packages, services, templates_admin
from erp_crm.sales_documents.models import Document, DocumentCounter, DocumentFile
from erp_crm.sales_documents.schema import line_dict, totals_dict
from erp_crm.sales_documents.template_store import shipped
from tests.fixtures.deals import make_client, make_project
from tests.fixtures.documents import make_deal, pdf_text, sell

# --- money, words, VAT: known cases to the kopeck -------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (D("123.45"), "Сто двадцать три рубля 45 копеек"),
        (D("1.01"), "Один рубль 01 копейка"),
        (D("256000.00"), "Двести пятьдесят шесть тысяч рублей 00 копеек"),
        (D("1000000.5"), "Один миллион рублей 50 копеек"),
    ],
)
def test_amount_in_words_matches_known_cases(amount, words):
    assert formatting.amount_in_words(amount) == words


def test_russian_formatting_of_amounts_and_dates():
    assert formatting.amount(D("1234567.891")) == "1\u00a0234\u00a0567,89"
    assert formatting.amount(D("-5")) == "-5,00"
    assert formatting.date_long(dt.date(2026, 11, 23)) == "23 ноября 2026 г."
    assert formatting.period(dt.date(2027, 3, 12), dt.date(2027, 3, 15)) == "12–15 марта 2027 г."
    assert formatting.quantity(D("12.50")) == "12,5"
    assert formatting.initials("Иванов Иван Петрович") == "Иванов И. П."


def test_vat_per_line_and_totals_to_the_kopeck_at_22_percent():
    lines = [
        line_dict(
            1,
            kind="stand",
            description="Стенд",
            unit="м²",
            unit_code="055",
            quantity=D(18),
            amount=D("234000.00"),
            vat_rate=D(22),
        ),
        line_dict(
            2,
            kind="service",
            description="Розетка",
            unit="шт",
            unit_code="796",
            quantity=D(3),
            amount=D("100.00"),
            vat_rate=D(22),
        ),
    ]
    # 234000 × 22/122 = 42196.7213… → 42196.72; 100 × 22/122 = 18.0327… → 18.03
    assert [ln["vat_amount"] for ln in lines] == [D("42196.72"), D("18.03")]
    totals = totals_dict(lines)
    assert totals["vat_amount"] == D("42214.75")  # the sum of rounded lines
    assert totals["net_amount"] == D("191885.25")
    assert totals["vat_label"] == "В том числе НДС 22%"
    assert lines[1]["price"] == D("33.33")


def test_zero_rate_and_no_vat_and_a_2025_document():
    zero = totals_dict(
        [
            line_dict(
                1,
                kind="service",
                description="Экспорт",
                unit="шт",
                unit_code="796",
                quantity=D(1),
                amount=D("1000.00"),
                vat_rate=D(0),
            )
        ]
    )
    assert (zero["vat_amount"], zero["vat_label"]) == (D("0.00"), "В том числе НДС 0%")
    none = totals_dict(
        [
            line_dict(
                1,
                kind="service",
                description="УСН",
                unit="шт",
                unit_code="796",
                quantity=D(1),
                amount=D("1000.00"),
                vat_rate=None,
            )
        ]
    )
    assert (none["vat_amount"], none["vat_label"]) == (D("0.00"), "Без налога (НДС)")
    from documents.money import resolve_rate

    rate_2025 = resolve_rate("auto", dt.date(2025, 12, 31))
    old = totals_dict(
        [
            line_dict(
                1,
                kind="stand",
                description="Стенд",
                unit="м²",
                unit_code="055",
                quantity=D(12),
                amount=D("120000.00"),
                vat_rate=rate_2025,
            )
        ]
    )
    assert rate_2025 == D(20)
    assert old["vat_amount"] == money(D("120000") * 20 / 120) == D("20000.00")
    assert old["vat_label"] == "В том числе НДС 20%"


# --- numbering ------------------------------------------------------------------------------------


def test_numbers_run_per_organization_kind_and_year_and_a_rollback_returns_the_number(
    db_session, org
):
    take = numbering.allocate_number
    assert [take(db_session, org.id, "invoice", 2026) for _ in range(3)] == [1, 2, 3]
    assert take(db_session, org.id, "act", 2026) == 1
    assert take(db_session, org.id, "invoice", 2027) == 1
    savepoint = db_session.begin_nested()
    assert take(db_session, org.id, "invoice", 2026) == 4
    savepoint.rollback()
    assert take(db_session, org.id, "invoice", 2026) == 4


def test_a_failed_issue_leaves_no_gap(db_session, admin):
    deal = make_deal(db_session, admin)
    nameless = make_deal(
        db_session, admin, project=deal.project, name="ООО «Без ИНН»", inn=None, stand_no=1
    )
    first = services.issue_document(db_session, deal, "invoice", actor=admin)
    with pytest.raises(Conflict):
        services.issue_document(db_session, nameless, "invoice", actor=admin)
    third = make_deal(
        db_session, admin, project=deal.project, name="ООО «Третий»", inn="7710140679", stand_no=2
    )
    second = services.issue_document(db_session, third, "invoice", actor=admin)
    assert (first.number, second.number) == ("1", "2")


def test_concurrent_issuers_get_every_number_once_without_gaps(app, backend):
    """Eight threads, each with its own connection, take numbers; some transactions roll back.
    The committed numbers are exactly 1..N."""
    engine = app.extensions["erp_db"].engine
    if backend == "sqlite":
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(engine) as session:
        org_id = session.execute(
            insert(Organization)
            .values(
                short_name="Гонка",
                full_name="ООО «Гонка»",
                inn="7728168971",
                kpp="772801001",
                ogrn="1027700067328",
                legal_address="Москва",
                bank_name="Банк",
                bik="044525225",
                settlement_account="40702810400000012345",
                director_position="Директор",
                director_name="Гонщиков Г. Г.",
                vat_regime="general",
                vat_rate="auto",
                is_active=True,
            )
            .returning(Organization.id)
        ).scalar_one()
        session.commit()
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for attempt in range(12):
                with Session(engine) as session:
                    number = numbering.allocate_number(session, org_id, "invoice", 2026)
                    if (index + attempt) % 4 == 0:
                        session.rollback()  # a failed issue: the number must come back
                        continue
                    session.commit()
                    with lock:
                        committed.append(number)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert sorted(committed) == list(range(1, len(committed) + 1))
        assert len(committed) == 8 * 12 - sum(
            1 for i in range(8) for a in range(12) if (i + a) % 4 == 0
        )
    finally:
        with Session(engine) as session:
            session.execute(
                delete(DocumentCounter).where(DocumentCounter.organization_id == org_id)
            )
            session.execute(delete(Organization).where(Organization.id == org_id))
            session.commit()


def test_number_format_pattern_applies_to_the_next_documents(db_session, admin, org):
    numbering.set_number_pattern(db_session, org, "invoice", "СЧ-{n:04}/{yy}", actor=admin)
    deal = make_deal(db_session, admin)
    doc = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2026, 11, 23)
    )
    assert doc.number == "СЧ-0001/26"
    for bad in ("{n.__class__}", "без номера", "{x}{n}"):
        with pytest.raises(ValidationError):
            numbering.set_number_pattern(db_session, org, "invoice", bad, actor=admin)


# --- issuing, freezing, the chain ----------------------------------------------------------------


def test_every_kind_is_issued_with_number_date_parties_inn_and_totals(db_session, admin, org):
    deal = make_deal(db_session, admin, name="ООО «Рога & Копыта <Север>»")
    kinds = ["application", "contract", "checklist", "invoice", "act", "vat_invoice"]
    day = dt.date(2026, 11, 23)
    docs = {  # the act before the exhibition (March 2027): confirmed by the user
        k: services.issue_document(db_session, deal, k, actor=admin, on=day, confirm_early=True)
        for k in kinds
    }
    for kind, doc in docs.items():
        pdf = next(f for f in doc.files if f.format == "pdf").content
        text = pdf_text(pdf)
        assert doc.number in text, kind
        assert ("23 ноября 2026" in text) or ("23.11.2026" in text), kind
        assert "Рога & Копыта <Север>" in text, kind
        assert org.inn in text and "7707083893" in text, kind
        assert formatting.amount(deal.amount).replace("\u00a0", " ") in text, kind
    vat_text = pdf_text(docs["vat_invoice"].files[0].content)
    assert "643" in vat_text and docs["act"].number in vat_text
    assert formatting.amount(deal.vat_amount).replace("\u00a0", " ") in vat_text
    assert formatting.amount_in_words(deal.amount) in pdf_text(docs["invoice"].files[0].content)
    for kind in ("application", "contract", "checklist"):
        docx = next(f for f in docs[kind].files if f.format == "docx").content
        body = "\n".join(p.text for p in DocxDocument(io.BytesIO(docx)).paragraphs)
        tables = "\n".join(
            c.text for t in DocxDocument(io.BytesIO(docx)).tables for r in t.rows for c in r.cells
        )
        assert "Рога & Копыта <Север>" in body + tables, kind
    assert docs["vat_invoice"].base_document_id == docs["act"].id
    assert docs["act"].base_document_id == docs["invoice"].id


def test_an_issued_document_never_changes(db_session, admin, org):
    deal = make_deal(db_session, admin)
    doc = services.issue_document(db_session, deal, "invoice", actor=admin)
    before = {f.format: (f.sha256, f.content) for f in doc.files}
    deal.client.name = "ООО «Совсем другое имя»"
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == deal.project_id))
    item.price = D("9999.00")  # the price list changes; the deal's lines are frozen by the invoice
    with pytest.raises(Conflict, match="аннулируйте его"):
        deal_lines.add_service_line(db_session, deal, item, D(5), actor=admin)
    html = shipped("invoice", "html").content.replace(b"</body>", b"<p>v2</p></body>")
    templates_admin.upload_template(
        db_session,
        kind="invoice",
        filename="v2.html",
        data=html,
        name=None,
        project=None,
        actor=admin,
    )
    db_session.flush()
    db_session.expire_all()
    stored = db_session.scalars(select(DocumentFile).where(DocumentFile.document_id == doc.id))
    import hashlib

    for f in stored:
        assert (f.sha256, f.content) == before[f.format]
        assert hashlib.sha256(f.content).hexdigest() == f.sha256
    assert "Совсем другое" not in pdf_text(before["pdf"][1])
    fresh = db_session.get(Document, doc.id)
    assert fresh.snapshot["buyer"]["name"] == "ООО «Ромашка»"
    assert fresh.template_version.startswith("shipped:")


def test_act_needs_an_invoice_or_contract_and_a_vat_invoice_needs_its_act(db_session, admin):
    deal = make_deal(db_session, admin)
    with pytest.raises(Conflict, match="после счёта или договора"):
        services.issue_document(db_session, deal, "act", actor=admin)
    with pytest.raises(Conflict, match="к акту"):
        services.issue_document(db_session, deal, "vat_invoice", actor=admin)
    services.issue_document(db_session, deal, "invoice", actor=admin)
    with pytest.raises(Conflict, match="ещё не прошла \\(закрытие 12.03.2027\\)"):
        services.issue_document(db_session, deal, "act", actor=admin)
    act = services.issue_document(db_session, deal, "act", actor=admin, confirm_early=True)
    vat = services.issue_document(  # dated on the closing day: no confirmation asked
        db_session, deal, "vat_invoice", actor=admin, on=dt.date(2027, 3, 12)
    )
    with pytest.raises(Conflict):
        services.issue_document(db_session, deal, "vat_invoice", actor=admin, confirm_early=True)
    with pytest.raises(Conflict, match="Сначала аннулируйте документ «Счёт-фактура"):
        services.cancel_document(db_session, act, actor=admin, reason="ошибка")
    corrected = services.issue_correction(db_session, vat, actor=admin, reason="адрес")
    assert (corrected.number, corrected.correction_no, corrected.corrects_id) == (
        vat.number,
        1,
        vat.id,
    )
    assert vat.status == "cancelled"
    text = pdf_text(corrected.files[0].content)
    assert "ИСПРАВЛЕНИЕ № 1" in text


def test_cancelling_keeps_the_number_and_the_next_document_takes_a_new_one(db_session, admin):
    deal = make_deal(db_session, admin)
    first = services.issue_document(db_session, deal, "invoice", actor=admin)
    with pytest.raises(ValidationError):
        services.cancel_document(db_session, first, actor=admin, reason="  ")
    services.cancel_document(db_session, first, actor=admin, reason="неверная сумма")
    again = services.issue_document(db_session, deal, "invoice", actor=admin)
    assert (first.status, first.number, again.number) == ("cancelled", "1", "2")
    correction = services.issue_correction(db_session, again, actor=admin, reason="площадь")
    assert (correction.number, correction.corrects_id) == ("3", again.id)


def test_the_signed_contract_not_the_printed_one_makes_the_sale(db_session, admin):
    deal = make_deal(db_session, admin)
    before = deal.stage_id
    contract = services.issue_document(db_session, deal, "contract", actor=admin)
    assert deal.stage_id == before and deal.outcome == "open"  # printed: nothing is sold yet
    services.set_status(db_session, contract, "sent", actor=admin)
    assert deal.stage_id == before
    services.set_status(db_session, contract, "signed", actor=admin)
    stage = db_session.get(Stage, deal.stage_id)
    assert (stage.trigger, stage.is_sale, deal.outcome) == ("contract_signed", True, "won")
    assert contract.signed_at is not None and contract.sent_at is not None


def test_a_manager_issues_only_for_own_deals(db_session, admin, make_user):
    deal = make_deal(db_session, admin)
    other = make_user("sales_manager")
    analyst = make_user("analyst")
    for user in (other, analyst):
        with pytest.raises(PermissionDenied):
            services.issue_document(db_session, deal, "invoice", actor=user)
    own = make_deal(
        db_session, other, project=deal.project, name="ООО «Своя»", inn="7710140679", stand_no=1
    )
    assert services.issue_document(db_session, own, "invoice", actor=other).number


def test_package_zip_and_combined_pdf(db_session, admin):
    deal = make_deal(db_session, admin)
    issued = services.issue_package(db_session, deal, actor=admin)
    assert [d.kind for d in issued] == ["application", "contract", "checklist", "invoice"]
    assert services.issue_package(db_session, deal, actor=admin) == []
    names = zipfile.ZipFile(io.BytesIO(packages.deal_zip(db_session, deal))).namelist()
    assert sum(n.endswith(".pdf") for n in names) == 4 + 2  # four documents and two manuals
    assert sum(n.endswith(".docx") for n in names) == 3
    combined = PdfReader(io.BytesIO(packages.deal_combined_pdf(db_session, deal)))
    pages = sum(
        len(PdfReader(io.BytesIO(f.content)).pages)
        for d in issued
        for f in d.files
        if f.format == "pdf"
    )
    assert len(combined.pages) == pages


def test_documents_appear_in_the_client_timeline(db_session, admin):
    from erp_crm.clients import timeline as client_timeline

    deal = make_deal(db_session, admin)
    doc = services.issue_document(db_session, deal, "invoice", actor=admin)
    events = client_timeline.timeline(db_session, deal.client)
    assert any(e.kind == "document.issued" and doc.number in e.title for e in events)


def test_the_stamp_is_placed_when_set(db_session, admin, org):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(buffer, "PNG")
    org.stamp_image = buffer.getvalue()
    deal = make_deal(db_session, admin)
    with_stamp = services.issue_document(db_session, deal, "invoice", actor=admin)
    assert b"/Subtype /Image" in with_stamp.files[0].content


# --- the sandbox ---------------------------------------------------------------------------------

INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{ self._TemplateReference__context }}",
    "{{ seller.__class__ }}",
    "{{ config.items() }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_template_injection_payloads_are_refused(db_session, admin, payload):
    html = f"<html><body>{payload}</body></html>".encode()
    with pytest.raises(ValidationError):
        templates_admin.upload_template(
            db_session,
            kind="invoice",
            filename="evil.html",
            data=html,
            name=None,
            project=None,
            actor=admin,
        )
    assert (
        db_session.scalar(
            select(func.count()).select_from(
                __import__(
                    "erp_crm.sales_documents.models", fromlist=["DocumentTemplate"]
                ).DocumentTemplate
            )
        )
        == 0
    )


def test_a_docx_template_with_an_injection_or_unknown_field_is_refused(db_session, admin):
    from docx import Document as NewDocx

    for text in ("{{ ''.__class__.__mro__ }}", "{{ buyer.secret_field }}"):
        doc = NewDocx()
        doc.add_paragraph(text)
        out = io.BytesIO()
        doc.save(out)
        with pytest.raises(ValidationError):
            templates_admin.upload_template(
                db_session,
                kind="contract",
                filename="c.docx",
                data=out.getvalue(),
                name=None,
                project=None,
                actor=admin,
            )
    with pytest.raises(ValidationError, match="не является документом Word"):
        templates_admin.upload_template(
            db_session,
            kind="contract",
            filename="c.docx",
            data=b"PK\x03\x04broken",
            name=None,
            project=None,
            actor=admin,
        )


def test_a_template_without_the_number_date_or_buyer_is_refused(db_session, admin):
    with pytest.raises(ValidationError, match="doc.date"):
        templates_admin.upload_template(
            db_session,
            kind="invoice",
            filename="bare.html",
            data=b"<p>{{ doc.number }} {{ buyer.name }}</p>",
            name=None,
            project=None,
            actor=admin,
        )


def test_an_unknown_placeholder_is_named_on_upload_and_visible_in_previews(db_session, admin):
    with pytest.raises(ValidationError, match="buyer.favourite_colour"):
        templates_admin.upload_template(
            db_session,
            kind="invoice",
            filename="x.html",
            data=b"<p>{{ doc.number }} {{ doc.date }} {{ buyer.name }} "
            b"{{ buyer.favourite_colour }}</p>",
            name=None,
            project=None,
            actor=admin,
        )
    from documents.sandbox import render_string

    assert "⟦favourite_colour⟧" in render_string(
        "{{ buyer.favourite_colour }}", {"buyer": {"name": "x"}}, preview=True
    )


class _Spy(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        _Spy.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"leaked")

    def log_message(self, *args):
        pass


def test_templates_cannot_read_files_or_reach_the_network(db_session, admin, tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Spy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    try:
        html = (
            "<html><head>"
            f'<link rel="stylesheet" href="http://127.0.0.1:{server.server_port}/x.css">'
            f'<link rel="attachment" href="file://{secret}">'
            "</head><body>"
            f'<img src="http://127.0.0.1:{server.server_port}/img.png">'
            f'<img src="file://{secret}"><p>{{{{ buyer.name }}}}</p>'
            "</body></html>"
        ).encode()
        # Refused at upload with the reference named …
        with pytest.raises(ValidationError, match="внешний ресурс"):
            templates_admin.upload_template(
                db_session,
                kind="invoice",
                filename="fetch.html",
                data=html,
                name=None,
                project=None,
                actor=admin,
            )
        # … and even rendered anyway, the fetcher reaches nothing.
        from documents.render_html import render_template_pdf
        from erp_crm.sales_documents.schema import demo_context

        pdf = render_template_pdf(html.decode(), demo_context("invoice"))
    finally:
        server.shutdown()
    assert _Spy.hits == []
    assert b"TOP-SECRET-42" not in pdf
    assert b"/EmbeddedFile" not in pdf


# --- pages and API -------------------------------------------------------------------------------


def test_a_manager_issues_from_the_deal_card_and_downloads_the_frozen_file(
    client, db_session, make_user, org
):
    manager = make_user("sales_manager", username="docmanager")
    deal = make_deal(db_session, manager)
    db_session.commit()
    client.login("docmanager")
    panel = client.get(f"/documents/deal/{deal.id}/panel")
    assert panel.status_code == 200 and "Выставить пакет" in panel.get_data(as_text=True)
    response = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "invoice"},
        headers={"Referer": f"http://localhost/deals/{deal.id}"},
    )
    assert response.status_code == 302
    doc = db_session.scalar(select(Document).where(Document.deal_id == deal.id))
    assert doc.number == "1"
    card = client.get(f"/documents/{doc.id}").get_data(as_text=True)
    assert re.search(r"\d+,\d КБ", card) and "shipped:" not in card  # a seller sees no ids
    download = client.get(f"/documents/{doc.id}/file/pdf")
    assert download.status_code == 200 and download.data == doc.files[0].content
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    again = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "invoice"},
        headers={"Referer": f"http://localhost/deals/{deal.id}"},
    )
    assert again.status_code == 302  # refused with a message, back to the deal
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "уже выставлен" in page
    assert db_session.scalar(select(func.count(Document.id))) == 1
    # an act before the exhibition: the panel's button asks, the form carries the answer
    panel = client.get(f"/documents/deal/{deal.id}/panel").get_data(as_text=True)
    assert "ещё не прошла (закрытие 12.03.2027)" in panel and 'name="confirm_early"' in panel
    unconfirmed = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "act"},
        headers={"Referer": f"http://localhost/deals/{deal.id}"},
    )
    assert "подтвердите выставление" in client.get(unconfirmed.headers["Location"]).get_data(
        as_text=True
    )
    confirmed = client.submit(
        f"/documents/deal/{deal.id}/issue",
        {"kind": "act", "confirm_early": "1"},
        headers={"Referer": f"http://localhost/deals/{deal.id}"},
    )
    assert confirmed.status_code == 302
    assert db_session.scalar(select(func.count(Document.id)).where(Document.kind == "act")) == 1


def test_api_issue_read_file_and_cancel(client, db_session, make_user, api_token, org):
    make_user("accountant", username="docacc")
    manager = make_user("sales_manager", username="docmgr2")
    deal = make_deal(db_session, manager)
    db_session.commit()
    headers = api_token("docacc")
    created = client.post(
        f"/api/v1/deals/{deal.id}/documents", json={"kind": "invoice"}, headers=headers
    )
    assert created.status_code == 201, created.get_json()
    early = client.post(f"/api/v1/deals/{deal.id}/documents", json={"kind": "act"}, headers=headers)
    assert early.status_code == 409 and "ещё не прошла" in early.get_json()["error"]["message"]
    body = created.get_json()
    assert body["number"] == "1" and body["amount"] == str(deal.amount)
    meta = client.get(f"/api/v1/documents/{body['id']}", headers=headers).get_json()
    pdf = client.get(f"/api/v1/documents/{body['id']}/file?format=pdf", headers=headers)
    import hashlib

    assert hashlib.sha256(pdf.data).hexdigest() == meta["files"][0]["sha256"]
    refused = client.post(
        f"/api/v1/deals/{deal.id}/documents", json={"kind": "act_of_god"}, headers=headers
    )
    assert refused.status_code == 422
    assert (
        client.post(f"/api/v1/documents/{body['id']}/cancel", json={}, headers=headers).status_code
        == 422
    )
    cancelled = client.post(
        f"/api/v1/documents/{body['id']}/cancel", json={"reason": "дубль"}, headers=headers
    ).get_json()
    assert (cancelled["status"], cancelled["number"]) == ("cancelled", "1")
    listed = client.get(f"/api/v1/deals/{deal.id}/documents", headers=headers).get_json()
    assert [d["status"] for d in listed["items"]] == ["cancelled"]


def test_template_upload_and_preview_through_the_api(client, db_session, api_token, admin):
    db_session.commit()
    headers = api_token("docadmin")
    data = {
        "kind": "invoice",
        "file": (io.BytesIO(shipped("invoice", "html").content), "invoice.html"),
    }
    created = client.post(
        "/api/v1/document-templates", data=data, headers=headers, content_type="multipart/form-data"
    )
    assert created.status_code == 201, created.get_json()
    preview = client.post(
        f"/api/v1/document-templates/{created.get_json()['id']}/preview", headers=headers
    )
    assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
    assert "ОБРАЗЕЦ" in pdf_text(preview.data)
    bad = client.post(
        "/api/v1/document-templates",
        headers=headers,
        content_type="multipart/form-data",
        data={"kind": "invoice", "file": (io.BytesIO(b"{{ x.y }"), "x.html")},
    )
    assert bad.status_code == 422
    assert "Ошибка синтаксиса шаблона" in bad.get_json()["error"]["message"]


def test_batch_printing_issues_the_missing_invoices_and_builds_one_pdf(
    app, client, db_session, make_user, org, monkeypatch
):
    monkeypatch.setitem(app.config, "JOBS_IMMEDIATE", True)
    make_user("accountant", username="batchacc")
    boss = make_user("head_of_sales", username="batchhead")
    project = make_project(db_session, code="BATCH", name="Пакет-Экспо")
    deals = [
        sell(
            db_session,
            make_deal(
                db_session, boss, project=project, name=f"ООО «Экспонент {i}»", inn=inn, stand_no=i
            ),
            boss,
        )
        for i, inn in enumerate(["7707083893", "7710140679", "7736207543"])
    ]
    services.issue_document(db_session, deals[0], "invoice", actor=boss)
    nameless = sell(
        db_session,
        make_deal(db_session, boss, project=project, name="ООО «Без ИНН»", inn=None, stand_no=3),
        boss,
    )
    early = deal_services.create_deal(  # still at an early stage: not printed in a batch
        db_session,
        deal_services.DealData(
            client_id=make_client(db_session, boss, name="ООО «Ещё думает»", inn="7728168971").id,
            project_id=project.id,
        ),
        actor=boss,
    )
    deal_lines.add_registration_line(db_session, early, actor=boss)
    db_session.commit()
    client.login("batchacc")
    response = client.submit(
        f"/documents/projects/{project.id}/batch",
        {"kind": "invoice"},
        headers={"Referer": f"http://localhost/documents/projects/{project.id}"},
    )
    assert response.status_code == 302
    from erp_crm.sales_documents.models import PrintJob

    job = db_session.scalar(select(PrintJob).where(PrintJob.project_id == project.id))
    db_session.refresh(job)
    assert (job.status, job.total, job.done, job.issued) == ("done", 4, 4, 2)
    assert job.failed == [{"deal_id": nameless.id, "error": job.failed[0]["error"]}]
    assert "ИНН" in job.failed[0]["error"]
    progress = client.get(f"/documents/projects/jobs/{job.id}/progress").get_data(as_text=True)
    assert "100%" in progress and "Один PDF" in progress
    merged = client.get(f"/documents/projects/jobs/{job.id}/result.pdf")
    assert len(PdfReader(io.BytesIO(merged.data)).pages) >= 3
    text = pdf_text(merged.data)
    assert all(f"Экспонент {i}" in text for i in range(3))
    zipped = client.get(f"/documents/projects/jobs/{job.id}/result.zip")
    assert len(zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()) == 3


def test_stamp_upload_refuses_a_non_image(client, db_session, org, admin):
    db_session.commit()
    client.login("docadmin")
    response = client.submit(
        f"/documents/templates/organizations/{org.id}/image",
        {"field": "stamp_image", "file": (io.BytesIO(b"not an image"), "stamp.png")},
        headers={"Referer": "http://localhost/documents/templates/"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "PNG или JPEG" in client.get(response.headers["Location"]).get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Organization, org.id).stamp_image is None


def test_a_manual_that_is_not_a_real_pdf_is_refused(db_session, admin):
    project = make_project(db_session, code="MAN27", name="Руководство-Экспо")
    with pytest.raises(ValidationError, match="не открывается как PDF"):
        packages.upload_manual(
            db_session, project, "technical_manual", "m.pdf", b"%PDF-1.4 garbage", actor=admin
        )
    real = (
        services.issue_document(db_session, make_deal(db_session, admin), "invoice", actor=admin)
        .files[0]
        .content
    )
    packages.upload_manual(db_session, project, "technical_manual", "m.pdf", real, actor=admin)
    assert packages.manual_pdf(db_session, project, "technical_manual") == real
