"""Mailing end to end: postal addresses and their checks, selections with their exclusions,
campaign lists frozen at print, labels and envelopes as PDF (checked with pdfplumber), the
CSV/XLSX export, returned mail, the e-mail outbox against a real SMTP server on loopback,
unsubscribing."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pdfplumber
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from erp_crm.audit.models import AuditEntry
from erp_crm.clients import contacts as contact_services
from erp_crm.clients.timeline import timeline
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.mailing import addresses, outbox, printing, selections, sending
from erp_crm.mailing.models import (
    CampaignRecipient,
    LabelFormat,
    MailMessage,
    PostalAddress,
    Unsubscribe,
)
from tests.fixtures.deals import make_client
from tests.fixtures.mailing import ADDRESS, client_with_address

MM = 72 / 25.4  # PDF points per mm


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", username="mailanalyst")


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="mailadmin")


def fmt(session, code="a4-3x8"):
    return session.scalar(select(LabelFormat).where(LabelFormat.code == code))


# --- addresses ----------------------------------------------------------------------------------


def test_a_postcode_must_be_six_digits_and_the_required_parts_given(db_session, analyst):
    client = make_client(db_session, analyst, name="ООО «Адрес»", inn=None)
    with pytest.raises(ValidationError) as err:
        addresses.set_address(
            db_session,
            client,
            addresses.AddressData(postcode="4431", city="Самара"),
            actor=analyst,
        )
    assert "шесть цифр" in err.value.fields["postcode"]
    assert set(err.value.fields) == {"postcode", "street", "building"}
    assert "Укажите: улица" in err.value.fields["street"]
    assert db_session.scalars(select(PostalAddress)).all() == []
    row = addresses.set_address(
        db_session,
        client,
        addresses.AddressData(**{**ADDRESS, "postcode": "443 110"}),
        actor=analyst,
    )
    assert row.postcode == "443110"
    assert client.postal_address == "443110, Самарская обл., г. Самара, ул. Мичурина, д. 23А, оф. 5"


def test_a_manager_edits_only_the_address_of_own_clients(db_session, analyst, make_user):
    client = make_client(db_session, analyst, name="ООО «Чужой»", inn=None)
    manager = make_user("sales_manager")
    with pytest.raises(PermissionDenied):
        addresses.set_address(db_session, client, addresses.AddressData(**ADDRESS), actor=manager)


def test_returned_mail_flags_the_address_until_it_is_fixed(db_session, analyst):
    client = client_with_address(db_session, analyst, "ООО «Возврат»", None)
    row = addresses.address_of(db_session, client.id)
    with pytest.raises(ValidationError):
        addresses.mark_returned(db_session, row, "nonsense", actor=analyst)
    addresses.mark_returned(db_session, row, "moved", note="переехали", actor=analyst)
    assert row.returned and row.returned_reason == "Адресат выбыл: переехали"
    assert addresses.cleanup_list(db_session) == [row]
    addresses.set_address(
        db_session,
        client,
        addresses.AddressData(**{**ADDRESS, "street": "ул. Новая"}),
        actor=analyst,
    )
    assert not row.returned and row.returned_reason is None
    assert addresses.cleanup_list(db_session) == []


# --- selections and campaigns -------------------------------------------------------------------


def _base(session, actor):
    """Six clients in Самара: one to include, and one for each reason of exclusion."""
    good = client_with_address(session, actor, "ООО «Хороший»", None, email="good@client.ru")
    client_with_address(session, actor, "ООО «Без согласия»", None, consent=False)
    no_address = make_client(session, actor, name="ООО «Без адреса»", inn=None)
    no_address.mailing_consent = True
    bad = client_with_address(session, actor, "ООО «Вернулось»", None)
    addresses.mark_returned(session, addresses.address_of(session, bad.id), "moved", actor=actor)
    twin = client_with_address(session, actor, "ООО «Хороший»", None)  # same recipient, address
    gone = client_with_address(session, actor, "ООО «Отписался»", None, email="gone@client.ru")
    session.add(Unsubscribe(email="gone@client.ru", client_id=gone.id))
    session.flush()
    return good, twin


def test_a_selection_shows_every_exclusion_with_its_reason(db_session, analyst):
    good, twin = _base(db_session, analyst)
    selection = selections.save_selection(
        db_session, name="Самара", filter_args={"city": "Самара"}, actor=analyst
    )
    items = list(selections.entries(db_session, selection, actor=analyst))
    reasons = {item.client_name + str(item.client_id): item.excluded for item in items}
    assert reasons[f"ООО «Хороший»{good.id}"] is None
    assert reasons[f"ООО «Хороший»{twin.id}"] == "duplicate"
    assert sorted(r for r in reasons.values() if r) == sorted(
        ["duplicate", "no_consent", "no_address", "bad_address", "unsubscribed"]
    )
    assert selections.summary(items)["included"] == 1
    by_mail = list(selections.entries(db_session, selection, actor=analyst, channel="email"))
    assert [i.email for i in by_mail if not i.excluded] == ["good@client.ru"]


def test_contacts_by_position_and_the_main_one(db_session, analyst):
    client = client_with_address(db_session, analyst, "ООО «Люди»", None, email="boss@client.ru")
    contact_services.add_contact(
        db_session,
        client,
        contact_services.ContactData(full_name="Петрова Анна", position="Главный бухгалтер"),
        actor=analyst,
    )
    by_position = selections.save_selection(
        db_session,
        name="Бухгалтеры",
        filter_args={"q": "Люди"},
        target="contacts",
        contact_mode="position",
        position="бухгалтер",
        actor=analyst,
    )
    main = selections.save_selection(
        db_session,
        name="Основные",
        filter_args={"q": "Люди"},
        target="contacts",
        contact_mode="main",
        actor=analyst,
    )
    assert [e.person for e in selections.entries(db_session, by_position, actor=analyst)] == [
        "Петрова Анна"
    ]
    assert [e.person for e in selections.entries(db_session, main, actor=analyst)] == [
        "Иванов (ООО «Люди»)"
    ]
    with pytest.raises(ValidationError, match="должность"):
        selections.save_selection(
            db_session,
            name="X",
            filter_args={},
            target="contacts",
            contact_mode="position",
            actor=analyst,
        )


def test_a_campaigns_frozen_list_never_changes_when_the_base_does(db_session, analyst):
    client = client_with_address(db_session, analyst, "ООО «Замороженный»", None)
    selection = selections.save_selection(
        db_session, name="Все", filter_args={"q": "Замороженный"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session, selection, name="Приглашение", channel="post", actor=analyst
    )
    printing.campaign_labels(db_session, campaign, fmt(db_session), actor=analyst)
    frozen_at = campaign.frozen_at
    # the base changes: a new address, a new client matching the filter, lost consent
    addresses.set_address(
        db_session,
        client,
        addresses.AddressData(**{**ADDRESS, "street": "ул. Другая"}),
        actor=analyst,
    )
    client_with_address(db_session, analyst, "ООО «Замороженный-2»", None)
    client.mailing_consent = False
    db_session.flush()
    report = printing.campaign_labels(db_session, campaign, fmt(db_session), actor=analyst)
    rows = db_session.scalars(
        select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign.id)
    ).all()
    assert [(r.client_name, r.street, r.excluded) for r in rows] == [
        ("ООО «Замороженный»", "ул. Мичурина", None)
    ]
    assert campaign.frozen_at == frozen_at and report.labels == 1
    # the live selection sees the change
    live = list(selections.entries(db_session, selection, actor=analyst))
    assert len(live) == 2


def test_export_of_a_campaign_list_to_csv_and_xlsx(db_session, analyst):
    client_with_address(db_session, analyst, "=ООО «Формула»", None)
    selection = selections.save_selection(
        db_session, name="Все", filter_args={"q": "Формула"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session, selection, name="Выгрузка", channel="post", actor=analyst
    )
    data = selections.export_csv(db_session, campaign, actor=analyst).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data), delimiter=";"))
    assert rows[0][:5] == ["№", "Клиент", "Контактное лицо", "Получатель", "Индекс"]
    assert rows[1][1] == "'=ООО «Формула»" and rows[1][4] == "443110"
    book = load_workbook(io.BytesIO(selections.export_xlsx(db_session, campaign, actor=analyst)))
    sheet = book.active
    assert [c.value for c in sheet[2]][6:9] == ["г. Самара", "ул. Мичурина", "д. 23А"]
    assert campaign.frozen_at is not None


# --- labels and envelopes -----------------------------------------------------------------------


def _addresses(n):
    return [
        ([f"ООО «Получатель {i}»"], ["ул. Мичурина, д. 23А", "г. Самара"], "443110")
        for i in range(1, n + 1)
    ]


@pytest.mark.parametrize(("code", "rows", "columns"), [("a4-3x8", 8, 3), ("a4-2x7", 7, 2)])
def test_a_label_sheet_has_the_expected_labels_per_page_at_their_places(
    db_session, code, rows, columns
):
    sheet = fmt(db_session, code)
    per_page = rows * columns
    report = printing.labels_pdf(sheet, _addresses(per_page + 5))
    assert (report.labels, report.pages, report.not_fitting) == (per_page + 5, 2, [])
    geometry = printing.Geometry.of(sheet)
    with pdfplumber.open(io.BytesIO(report.pdf)) as pdf:
        assert len(pdf.pages) == 2
        for page_no, page in enumerate(pdf.pages):
            words = page.extract_words()
            names = [
                w for w in words if w["text"].rstrip("»").isdigit() and w["text"].endswith("»")
            ]
            expected = per_page if page_no == 0 else 5
            assert len(names) == expected
            for index, word in enumerate(sorted(names, key=lambda w: int(w["text"][:-1]))):
                x, y = geometry.position(index)
                # the label's first line starts inside its own label, past the padding
                first = max(
                    (
                        w
                        for w in words
                        if w["text"] == "ООО"
                        and abs(w["top"] - word["top"]) < 1
                        and w["x0"] < word["x0"]
                    ),
                    key=lambda w: w["x0"],
                )
                left = first["x0"] / MM
                assert x + geometry.padding - 0.5 <= left <= x + geometry.padding + 1.5
                assert word["x1"] / MM <= x + geometry.label_w
                assert y <= word["top"] / MM <= y + geometry.padding + 3


def test_a_format_that_does_not_fit_the_page_is_refused(db_session, admin):
    with pytest.raises(ValidationError, match="по ширине нужно 220,0 мм"):
        printing.save_format(
            db_session,
            {
                "name": "Широкий",
                "rows_count": 7,
                "columns_count": 2,
                "page_width": 210,
                "page_height": 297,
                "label_width": 105,
                "label_height": 38,
                "margin_top": 10,
                "margin_left": 5,
                "gap_x": 5,
                "gap_y": 0,
                "offset_x": 0,
                "offset_y": 0,
                "padding": 3,
            },
            actor=admin,
        )
    sheet = fmt(db_session, "a4-3x7")
    with pytest.raises(ValidationError, match="Формат не помещается"):
        printing.save_format(db_session, {"offset_x": 10, "offset_y": 0}, actor=admin, fmt=sheet)
    printing.save_format(db_session, {"offset_x": "1,5", "offset_y": "-2"}, actor=admin, fmt=sheet)
    assert (float(sheet.offset_x), float(sheet.offset_y)) == (1.5, -2.0)


def test_a_long_address_is_shrunk_and_what_cannot_fit_is_listed(db_session):
    sheet = fmt(db_session, "a4-4x16")
    long_name = "ООО «" + "Межрегиональная производственно-коммерческая компания" + "»"
    huge = "ООО «" + "Очень длинное название " * 30 + "»"
    report = printing.labels_pdf(
        sheet,
        [
            (["ООО «Коротко»"], ["г. Самара"], "443110"),
            ([long_name], [], "443110"),
            ([huge], ["ул. Мичурина"], "443110"),
        ],
    )
    assert report.shrunk >= 2
    assert [n for n, _ in report.not_fitting] == [3]
    with pdfplumber.open(io.BytesIO(report.pdf)) as pdf:
        text = pdf.pages[-1].extract_text()
    assert "Не поместились на наклейку (1)" in text


def test_the_calibration_page_outlines_every_label(db_session):
    sheet = fmt(db_session, "a4-3x7")
    with pdfplumber.open(io.BytesIO(printing.calibration_pdf(sheet))) as pdf:
        page = pdf.pages[0]
        assert len(pdf.pages) == 1
        assert sum(1 for w in page.extract_words() if ":" in w["text"]) == 21
        assert len(page.rects) >= 21


def test_an_envelope_puts_sender_recipient_and_stencil_in_their_zones(db_session, admin):
    from erp_crm.organizations import services as org_services
    from tests.fixtures.organizations import VALID

    org = org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )
    pdf_bytes, count = printing.envelopes_pdf(
        "DL",
        org,
        [(["ООО «Получатель»", "Иванов И. И."], ["ул. Мичурина, д. 23А", "г. Самара"], "443110")],
    )
    assert count == 1
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        page = pdf.pages[0]
        assert round(page.width / MM) == 220 and round(page.height / MM) == 110
        words = page.extract_words()

        def at(text):
            return next(w for w in words if w["text"] == text)

        for caption in ("От", "Откуда"):
            assert at(caption)["x0"] < page.width / 2 and at(caption)["top"] < page.height / 2
        for caption in ("Кому", "Куда", "«Получатель»"):
            assert at(caption)["x0"] > page.width * 0.45
            assert at(caption)["top"] > page.height * 0.4
        assert at(org.short_name.split()[0])["x0"] < page.width / 2
        stencil = [ln for ln in page.lines + page.curves if ln.get("linewidth", 0) >= 2]
        assert stencil and all(
            ln["x1"] < page.width / 3 and ln["top"] > page.height * 0.7 for ln in stencil
        )
    big, _ = printing.envelopes_pdf("C4", org, _addresses(2))
    with pdfplumber.open(io.BytesIO(big)) as pdf:
        assert len(pdf.pages) == 2
        assert not [ln for ln in pdf.pages[0].lines if ln.get("linewidth", 0) >= 2]
    with pytest.raises(ValidationError, match="формат конверта"):
        printing.envelopes_pdf("A5", org, [])


def test_the_senders_address_reads_street_house_town_region_then_the_postcode():
    from types import SimpleNamespace

    org = SimpleNamespace(
        short_name="ООО «Экспо»",
        postal_address="443110, Самарская обл., г. Самара, ул. Мичурина, д. 23А, оф. 5",
        legal_address="",
    )
    sender = printing._sender(org)
    assert sender["postcode"] == "443110"
    assert " ".join(sender["lines"]) == ("ул. Мичурина, д. 23А, оф. 5, г. Самара, Самарская обл.")


# --- e-mail -------------------------------------------------------------------------------------


def _queue(session, to="anna@client.ru", **kw):
    row = outbox.enqueue(
        session,
        to=to,
        to_name="Анна",
        subject="Счёт № 1",
        body="Здравствуйте!",
        kind="document",
        attachments=[outbox.attachment(session, "Счёт 1.pdf", b"%PDF-1.4 test", "application/pdf")],
        **kw,
    )
    session.flush()
    return row


def test_a_queued_email_arrives_with_its_pdf_and_headers(db_session, smtp_server):
    inbox, config = smtp_server()
    row = _queue(db_session)
    report = outbox.send_due(db_session, config=config)
    assert (report.sent, report.failed) == (1, 0)
    [(rcpt, message)] = inbox.mails
    assert rcpt == ["anna@client.ru"]
    assert message["From"] == "crm@expo.test" and "anna@client.ru" in message["To"]
    assert message["Subject"] == "Счёт № 1" and message["To"] == "Анна <anna@client.ru>"
    assert message["Message-ID"]
    [part] = [p for p in message.walk() if p.get_filename()]
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == b"%PDF-1.4 test"
    assert row.status == "sent" and row.server_reply.startswith("250")
    assert outbox.send_due(db_session, config=config).sent == 0  # never twice


def test_a_refusing_server_is_retried_with_backoff_and_ends_dead_with_its_answer(
    db_session, smtp_server
):
    inbox, config = smtp_server(refuse="554 5.7.1 Message rejected by policy")
    row = _queue(db_session)
    now = row.next_attempt_at
    first = outbox.send_due(db_session, now, config=config)
    assert (first.failed, row.status, row.attempts) == (1, "failed", 1)
    assert "554" in row.last_error and "rejected by policy" in row.last_error
    assert row.next_attempt_at == now + dt.timedelta(seconds=60)
    assert outbox.send_due(db_session, now + dt.timedelta(seconds=30), config=config).failed == 0
    second = outbox.send_due(db_session, now + dt.timedelta(seconds=61), config=config)
    assert second.failed == 1 and row.next_attempt_at == now + dt.timedelta(seconds=61 + 120)
    third = outbox.send_due(db_session, now + dt.timedelta(seconds=400), config=config)
    assert (third.dead, row.status, row.attempts) == (1, "dead", 3)
    assert "554 5.7.1 Message rejected by policy" in row.server_reply
    assert inbox.mails == []


def test_the_rate_limit_leaves_the_rest_for_the_next_minute(db_session, smtp_server):
    inbox, config = smtp_server()
    config["MAIL_RATE_PER_MINUTE"] = 2
    for i in range(3):
        _queue(db_session, to=f"c{i}@client.ru")
    report = outbox.send_due(db_session, config=config)
    assert (report.sent, report.deferred) == (2, 1)
    later = outbox.send_due(
        db_session, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2), config=config
    )
    assert later.sent == 1 and len(inbox.mails) == 3


def test_a_wrong_recipient_address_is_refused_before_queueing(db_session):
    with pytest.raises(ValidationError, match="Неверный адрес"):
        _queue(db_session, to="anna@")


def test_an_email_campaign_honours_consent_and_unsubscribes_once_audited(
    app, db_session, analyst, smtp_server
):
    inbox, config = smtp_server()
    yes = client_with_address(db_session, analyst, "ООО «Согласен»", None, email="yes@client.ru")
    client_with_address(
        db_session, analyst, "ООО «Против»", None, consent=False, email="no@client.ru"
    )
    selection = selections.save_selection(
        db_session, name="Письма", filter_args={"city": "Самара"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session,
        selection,
        name="Приглашение",
        channel="email",
        subject="Приглашаем",
        body="Ждём вас на выставке.",
        actor=analyst,
    )
    with app.app_context():
        assert sending.send_campaign(db_session, campaign, actor=analyst) == 1
        with pytest.raises(ValidationError, match="уже отправлена"):
            sending.send_campaign(db_session, campaign, actor=analyst)
        outbox.send_due(db_session, config=config)
        [(rcpt, message)] = inbox.mails
        assert rcpt == ["yes@client.ru"]
        link = message["List-Unsubscribe"].strip().strip("<>")
        assert link in message.get_content()
        token = link.rsplit("/", 1)[1]
        with pytest.raises(sending.ForgedLink, match="подделана"):
            sending.unsubscribe(db_session, token[:-2] + "xx")
        _row, created = sending.unsubscribe(db_session, token)
        assert created
        _row, again = sending.unsubscribe(db_session, token)
        assert not again
    assert db_session.scalars(select(Unsubscribe.email)).all() == ["yes@client.ru"]
    audit = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "mailing_unsubscribed")
    ).all()
    assert len(audit) == 1 and audit[0].entity_id == yes.id
    later = list(selections.entries(db_session, selection, actor=analyst, channel="email"))
    assert {e.email: e.excluded for e in later}["yes@client.ru"] == "unsubscribed"
    events = timeline(db_session, yes)
    assert any(e.kind == "mailing.sent" and "Приглашаем" in e.title for e in events)


def test_sent_document_is_marked_sent_and_listed_on_the_deal(db_session, smtp_server):
    # the deal-card path is covered in test_mailing_pages; here the outbox marks the document
    inbox, config = smtp_server()
    row = _queue(db_session)
    assert row.document_id is None
    outbox.send_due(db_session, config=config)
    assert db_session.scalars(select(MailMessage.status)).all() == ["sent"]


def test_the_send_command_sends_the_due_emails_once(db_session, smtp_server, runner_factory, app):
    inbox, config = smtp_server()
    _queue(db_session)
    db_session.commit()
    saved = {k: app.config.get(k) for k in config}
    app.config.update(config)
    try:
        result = runner_factory().invoke(args=["mailing", "send"])
    finally:
        app.config.update(saved)
    assert result.exit_code == 0, result.output
    assert "отправлено 1" in result.output and len(inbox.mails) == 1


def test_a_merge_moves_the_duplicates_address_and_the_survivor_reads_a_good_one(
    db_session, analyst
):
    from erp_crm.clients import dedupe

    survivor = client_with_address(db_session, analyst, "ООО «Слияние»", None)
    addresses.mark_returned(
        db_session, addresses.address_of(db_session, survivor.id), "moved", actor=analyst
    )
    duplicate = client_with_address(
        db_session, analyst, "ООО «Слияние» (дубль)", None, street="ул. Верная"
    )
    dedupe.merge_clients(db_session, survivor, duplicate, actor=analyst)
    db_session.flush()
    rows = db_session.scalars(
        select(PostalAddress).where(PostalAddress.client_id == survivor.id)
    ).all()
    assert len(rows) == 2
    assert addresses.address_of(db_session, survivor.id).street == "ул. Верная"


def test_project_manuals_go_to_a_campaign_list_stored_once(app, db_session, analyst, smtp_server):
    from erp_crm.mailing.models import MailAttachment
    from tests.fixtures.deals import make_project

    inbox, config = smtp_server()
    project = make_project(db_session, code="MAN27")
    for i in range(2):
        client_with_address(
            db_session, analyst, f"ООО «Руководство-{i}»", None, email=f"m{i}@client.ru"
        )
    selection = selections.save_selection(
        db_session, name="Участники", filter_args={"q": "Руководство"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session,
        selection,
        name="Руководства",
        channel="email",
        subject="Руководство",
        body="Во вложении техническое руководство.",
        project_id=project.id,
        actor=analyst,
    )
    with app.app_context():
        assert (
            sending.send_campaign(db_session, campaign, actor=analyst, manuals=["technical_manual"])
            == 2
        )
    assert len(db_session.scalars(select(MailAttachment)).all()) == 1
    outbox.send_due(db_session, config=config)
    assert sorted(r[0] for r, _ in inbox.mails) == ["m0@client.ru", "m1@client.ru"]
    for _rcpt, message in inbox.mails:
        [part] = [p for p in message.walk() if p.get_filename()]
        assert part.get_filename() == "Техническое руководство участника.pdf"
        assert part.get_payload(decode=True).startswith(b"%PDF")


def test_a_contact_with_an_address_of_its_own_gets_it(db_session, analyst):
    client = client_with_address(db_session, analyst, "ООО «Филиал»", None, email="a@client.ru")
    branch = contact_services.add_contact(
        db_session,
        client,
        contact_services.ContactData(full_name="Сидоров Пётр"),
        actor=analyst,
    )
    addresses.set_address(
        db_session,
        client,
        addresses.AddressData(
            **{
                **ADDRESS,
                "postcode": "445000",
                "city": "г. Тольятти",
                "recipient": "Филиал ООО «Филиал»",
            }
        ),
        actor=analyst,
        contact=branch,
    )
    selection = selections.save_selection(
        db_session,
        name="Все люди",
        filter_args={"q": "Филиал"},
        target="contacts",
        actor=analyst,
    )
    found = {e.person: e for e in selections.entries(db_session, selection, actor=analyst)}
    assert found["Сидоров Пётр"].address.city == "г. Тольятти"
    assert found["Сидоров Пётр"].recipient == "Филиал ООО «Филиал»"
    assert found["Иванов (ООО «Филиал»)"].address.city == "г. Самара"
    assert client.postal_address.startswith("443110")  # the client's own stays


def test_printer_offsets_move_every_label(db_session):
    from decimal import Decimal

    sheet = fmt(db_session, "a4-3x7")

    def first_words():
        with pdfplumber.open(io.BytesIO(printing.labels_pdf(sheet, _addresses(4)).pdf)) as pdf:
            return [w for w in pdf.pages[0].extract_words() if w["text"] == "ООО"]

    before = first_words()
    sheet.offset_x, sheet.offset_y = Decimal("5"), Decimal("-3")
    after = first_words()
    assert len(before) == len(after) == 4
    for old, new in zip(before, after, strict=True):
        assert abs((new["x0"] - old["x0"]) / MM - 5) < 0.1
        assert abs((new["top"] - old["top"]) / MM + 3) < 0.1
