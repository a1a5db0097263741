"""The mailing pages as a user meets them: the address form and the client card, from the
client list to a labels PDF, returned mail to the clean-up list, a document e-mailed from the
deal card (received by a real SMTP server on loopback), unsubscribing without login, settings."""

from __future__ import annotations

import io

import pdfplumber
from sqlalchemy import select

from erp_crm.clients import contacts as contact_services
from erp_crm.mailing import addresses, outbox
from erp_crm.mailing.models import (
    Campaign,
    MailMessage,
    MailServerSettings,
    PostalAddress,
    Selection,
)
from erp_crm.sales_documents import services as document_services
from tests.fixtures.deals import make_client
from tests.fixtures.documents import make_deal
from tests.fixtures.mailing import ADDRESS, client_with_address


def test_a_large_campaign_prints_in_the_background_with_its_progress(
    app, client, db_session, make_user, monkeypatch
):
    from erp_crm.jobs.models import JobRequest
    from erp_crm.mailing import selections
    from erp_crm.mailing.models import LabelFormat

    monkeypatch.setitem(app.config, "MAILING_PRINT_INLINE_MAX", 2)  # «large» from 3 addressees
    analyst = make_user("analyst", username="bigprint")
    for i in range(4):
        client_with_address(db_session, analyst, f"ООО «Фон-{i}»", None)
    selection = selections.save_selection(
        db_session, name="Фон", target="clients", filter_args={"q": "Фон"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session, selection, name="Фоном", channel="post", actor=analyst
    )
    db_session.commit()
    client.login("bigprint")
    sheet = db_session.scalar(select(LabelFormat).where(LabelFormat.code == "a4-3x8"))
    started = client.submit(f"/mailing/campaigns/{campaign.id}/labels", {"format_id": sheet.id})
    assert started.status_code == 302 and "/mailing/prints/" in started.headers["Location"]
    job = db_session.scalar(select(JobRequest).where(JobRequest.name == "mailing.print"))
    db_session.refresh(job)  # the tests' engine runs the job at once, after the commit
    assert (job.status, job.progress_done, job.progress_total) == ("done", 4, 4)
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "100%" in page and "Готово: 4 адресов" in page and 'id="print-result"' in page
    pdf = client.get(f"/mailing/prints/{job.id}/result.pdf")
    assert pdf.status_code == 200
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        text = document.pages[0].extract_text()
    assert sum(f"Фон-{i}»" in text for i in range(4)) == 4
    envelopes = client.submit(f"/mailing/campaigns/{campaign.id}/envelopes", {"size": "DL"})
    assert "/mailing/prints/" in envelopes.headers["Location"]
    assert client.get("/mailing/prints/999999").status_code == 404


def test_the_address_form_refuses_a_bad_postcode_in_russian_and_saves_a_good_one(
    client, db_session, make_user
):
    analyst = make_user("analyst", username="pageanalyst")
    firm = make_client(db_session, analyst, name="ООО «Форма»", inn=None)
    db_session.commit()
    client.login("pageanalyst")
    card = client.get(f"/clients/{firm.id}").get_data(as_text=True)
    assert "Почтовый адрес для рассылок" in card and "Заполнить" in card
    bad = client.submit(
        f"/mailing/addresses/client/{firm.id}", {**ADDRESS, "postcode": "44311", "street": ""}
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "Индекс — ровно шесть цифр" in page and "Укажите: улица." in page
    assert db_session.scalars(select(PostalAddress)).all() == []
    good = client.submit(f"/mailing/addresses/client/{firm.id}", ADDRESS)
    assert good.status_code == 302
    card = client.get(f"/clients/{firm.id}").get_data(as_text=True)
    assert "443110, Самарская обл., г. Самара, ул. Мичурина, д. 23А, оф. 5" in card


def test_from_the_client_list_to_a_labels_pdf(client, db_session, make_user):
    analyst = make_user("analyst", username="pageanalyst")
    for i in range(5):
        client_with_address(db_session, analyst, f"ООО «Наклейка-{i}»", None)
    client_with_address(db_session, analyst, "ООО «Наклейка-без согласия»", None, consent=False)
    db_session.commit()
    client.login("pageanalyst")
    listing = client.get("/clients/?q=Наклейка").get_data(as_text=True)
    assert "/mailing/selections/new?q=" in listing
    form = client.get("/mailing/selections/new?q=Наклейка").get_data(as_text=True)
    assert 'name="q" value="Наклейка"' in form
    assert "Поиск: Наклейка" in form and "q = Наклейка" not in form
    grouped = client.get("/mailing/selections/new?city=Самара&kind=sole_trader").get_data(
        as_text=True
    )
    assert "Город: Самара" in grouped and "Вид: Индивидуальный предприниматель" in grouped
    saved = client.submit(
        "/mailing/selections/new", {"q": "Наклейка", "name": "Наклейки", "target": "clients"}
    )
    assert saved.status_code == 302
    selection = db_session.scalar(select(Selection).where(Selection.name == "Наклейки"))
    page = client.get(f"/mailing/selections/{selection.id}").get_data(as_text=True)
    assert "Войдут: <b>5</b>" in page and "Нет согласия на рассылку: <b>1</b>" in page
    created = client.submit(
        f"/mailing/selections/{selection.id}/campaigns", {"name": "Почтой", "channel": "post"}
    )
    campaign = db_session.scalar(select(Campaign).where(Campaign.name == "Почтой"))
    assert created.headers["Location"].endswith(f"/mailing/campaigns/{campaign.id}")
    formats = client.get(f"/mailing/campaigns/{campaign.id}").get_data(as_text=True)
    assert "A4, 3 × 8" in formats
    from erp_crm.mailing.models import LabelFormat

    sheet = db_session.scalar(select(LabelFormat).where(LabelFormat.code == "a4-3x8"))
    pdf = client.submit(f"/mailing/campaigns/{campaign.id}/labels", {"format_id": sheet.id})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(pdf.data)) as document:
        text = document.pages[0].extract_text()
    assert sum(f"Наклейка-{i}»" in text for i in range(5)) == 5
    assert "без согласия" not in text
    envelopes = client.submit(f"/mailing/campaigns/{campaign.id}/envelopes", {"size": "C5"})
    with pdfplumber.open(io.BytesIO(envelopes.data)) as document:
        assert len(document.pages) == 5
    wrong = client.submit(
        f"/mailing/campaigns/{campaign.id}/envelopes",
        {"size": "B9"},
        headers={"Referer": f"http://localhost/mailing/campaigns/{campaign.id}"},
    )
    assert wrong.status_code == 302  # flashed «Выберите формат конверта…», nothing printed
    exported = client.submit(f"/mailing/campaigns/{campaign.id}/export", {"format": "csv"})
    assert exported.data.decode("utf-8-sig").count("\n") == 6


def test_returned_mail_goes_to_the_clean_up_list_and_a_fix_clears_it(client, db_session, make_user):
    analyst = make_user("analyst", username="pageanalyst")
    firm = client_with_address(db_session, analyst, "ООО «Вернулось»", None)
    row = addresses.address_of(db_session, firm.id)
    db_session.commit()
    client.login("pageanalyst")
    marked = client.submit(f"/mailing/addresses/{row.id}/returned", {"reason": "no_such_address"})
    assert marked.status_code == 302
    listing = client.get("/mailing/cleanup").get_data(as_text=True)
    assert "ООО «Вернулось»" in listing and "Нет такого адреса" in listing
    card = client.get(f"/clients/{firm.id}").get_data(as_text=True)
    assert "письмо вернулось" in card and "Письмо вернулось: Нет такого адреса" in card
    fixed = client.submit(f"/mailing/addresses/client/{firm.id}", {**ADDRESS, "building": "д. 25"})
    assert fixed.status_code == 302
    assert "ООО «Вернулось»" not in client.get("/mailing/cleanup").get_data(as_text=True)


def test_a_manager_emails_an_invoice_from_the_deal_card(client, db_session, make_user, smtp_server):
    from erp_crm.organizations import services as org_services
    from tests.fixtures.organizations import VALID

    inbox, config = smtp_server()
    manager = make_user("sales_manager", username="pagemanager")
    admin = make_user("admin", username="pageadmin")
    org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )
    deal = make_deal(db_session, admin)
    deal.manager_id = manager.id
    firm = deal.client
    firm.curator_id = manager.id
    silent = contact_services.add_contact(
        db_session, firm, contact_services.ContactData(full_name="Без Почты"), actor=admin
    )
    anna = contact_services.add_contact(
        db_session,
        firm,
        contact_services.ContactData(full_name="Анна Смирнова", emails=["anna@romashka.ru"]),
        actor=admin,
    )
    invoice = document_services.issue_document(db_session, deal, "invoice", actor=admin)
    db_session.commit()
    client.login("pagemanager")
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Отправка документов по e-mail" in card and f"№ {invoice.number}" in card
    referer = {"Referer": f"http://localhost/deals/{deal.id}"}
    refused = client.submit(
        f"/mailing/deals/{deal.id}/send",
        {"what": invoice.id, "contact_id": silent.id},
        headers=referer,
    )
    assert refused.status_code == 302
    assert db_session.scalars(select(MailMessage)).all() == []
    flashed = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "нет адреса электронной почты" in flashed
    sent = client.submit(
        f"/mailing/deals/{deal.id}/send", {"what": invoice.id, "contact_id": anna.id}
    )
    assert sent.status_code == 302
    assert "В очереди" in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    outbox.send_due(db_session, config=config)
    [(rcpt, message)] = inbox.mails
    assert rcpt == ["anna@romashka.ru"] and invoice.number in message["Subject"]
    [part] = [p for p in message.walk() if p.get_filename()]
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == invoice.files[0].content or part.get_payload(
        decode=True
    ).startswith(b"%PDF")
    db_session.refresh(invoice)
    assert invoice.status == "sent"
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Отправлено" in card
    history = client.get(f"/clients/{firm.id}").get_data(as_text=True)
    assert "Отправлено письмо" in history


def test_unsubscribe_works_without_login_and_a_forged_link_is_told_so(
    app, client, db_session, make_user
):
    from erp_crm.mailing import selections, sending

    analyst = make_user("analyst", username="pageanalyst")
    client_with_address(db_session, analyst, "ООО «Отписка»", None, email="off@client.ru")
    selection = selections.save_selection(
        db_session, name="Отписка", filter_args={"q": "Отписка"}, actor=analyst
    )
    campaign = selections.create_campaign(
        db_session,
        selection,
        name="Письмо",
        channel="email",
        subject="Тема",
        body="Текст",
        actor=analyst,
    )
    with app.app_context():
        sending.send_campaign(db_session, campaign, actor=analyst)
    db_session.commit()
    row = db_session.scalar(select(MailMessage).where(MailMessage.campaign_id == campaign.id))
    path = row.headers["List-Unsubscribe"].strip("<>").removeprefix(app.config["APP_BASE_URL"])
    page = client.get(path)
    assert page.status_code == 200 and "off@client.ru" in page.get_data(as_text=True)
    token = client.csrf_token(path)
    done = client.post(path, data={"csrf_token": token}).get_data(as_text=True)
    assert "больше не будет получать" in done
    again = client.post(path, data={"csrf_token": token}).get_data(as_text=True)
    assert "уже отписан" in again
    forged = client.get(path[:-3] + "abc")
    assert forged.status_code == 400
    assert "повреждена или подделана" in forged.get_data(as_text=True)


def test_the_admin_sets_the_smtp_server_with_ssl(client, db_session, make_user):
    make_user("admin", username="pageadmin")
    client.login("pageadmin")
    bad = client.submit(
        "/mailing/settings",
        {
            "host": "smtp.expo.ru",
            "port": "99999",
            "security": "ssl",
            "sender": "crm@expo.ru",
            "rate_per_minute": "30",
            "max_attempts": "4",
        },
        headers={"Referer": "http://localhost/mailing/settings"},
    )
    assert bad.status_code == 302 and db_session.scalars(select(MailServerSettings)).all() == []
    good = client.submit(
        "/mailing/settings",
        {
            "host": "smtp.expo.ru",
            "port": "465",
            "security": "ssl",
            "sender": "crm@expo.ru",
            "username": "crm",
            "password": "s3cret",
            "rate_per_minute": "30",
            "max_attempts": "4",
        },
    )
    assert good.status_code == 302
    row = db_session.scalar(select(MailServerSettings))
    assert row.password_encrypted and "s3cret" not in row.password_encrypted
    with client.application.app_context():
        rules = outbox.policy(db_session)
    assert (rules.settings.mode, rules.settings.port, rules.settings.password) == (
        "ssl",
        465,
        "s3cret",
    )
    assert (rules.rate_per_minute, rules.max_attempts) == (30, 4)
