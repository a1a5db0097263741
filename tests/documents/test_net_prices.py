"""Prices «без НДС, НДС сверху»: a net line takes VAT = net × rate per line on top, the discount
applies to the net, documents keep a net line's net at the rate of their own date and print
«Итого без НДС / НДС / Всего к оплате»; VAT-included lines keep their gross."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from documents.money import VAT_INCLUDED, VAT_ON_TOP, add_vat, money
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import pricing
from erp_crm.errors import ValidationError
from erp_crm.projects.models import ServiceItem, StandPrice
from erp_crm.sales_documents import services
from tests.fixtures.deals import make_project
from tests.fixtures.documents import amount_text as _amount
from tests.fixtures.documents import docx_text as _docx_text
from tests.fixtures.documents import make_deal, pdf_text

SPRING_2026 = dt.date(2026, 3, 1)


def net_lines(on=SPRING_2026, mode=VAT_ON_TOP):
    stand = pricing.stand_line(
        stand_id=1,
        description="Стенд A-12",
        area_m2=D("12"),
        price_per_m2=D("9500"),
        surcharge_rule=("percent", D("10")),
        vat_setting="auto",
        on=on,
        vat_mode=mode,
    )
    fee = pricing.registration_line(fee=D("15000"), vat_setting="auto", on=on, vat_mode=mode)
    power = pricing.service_line(
        service_item_id=7,
        description="Электроподключение 5 кВт",
        unit="шт",
        unit_code="796",
        quantity=D("2"),
        price=D("3750.50"),
        vat_setting="auto",
        on=on,
        vat_mode=mode,
    )
    return [stand, fee, power]


# --- pricing to the kopeck ----------------------------------------------------------------------


def test_a_net_line_takes_vat_on_top_of_its_net_price():
    stand, fee, power = net_lines()
    # net 12 × 9 500 + 10% = 125 400.00; VAT 22% on top = 27 588.00; gross 152 988.00
    assert (stand.base_amount, stand.vat_amount, stand.amount) == (
        D("125400.00"),
        D("27588.00"),
        D("152988.00"),
    )
    assert stand.net_amount == D("125400.00") and stand.vat_mode == VAT_ON_TOP
    assert (fee.vat_amount, fee.amount) == (D("3300.00"), D("18300.00"))
    # 7 501.00 × 22% = 1 650.22 (1650.22 exactly: 7501 × 0.22)
    assert (power.base_amount, power.vat_amount, power.amount) == (
        D("7501.00"),
        D("1650.22"),
        D("9151.22"),
    )
    total = pricing.totals([stand, fee, power])
    assert (total.amount, total.vat_amount, total.net_amount) == (
        D("180439.22"),
        D("32538.22"),
        D("147901.00"),
    )


def test_the_discount_of_a_net_line_applies_to_the_net_and_vat_follows():
    priced = pricing.apply_discount(net_lines(), "percent", D("5"))
    assert [(x.discount, x.net_amount, x.vat_amount, x.amount) for x in priced] == [
        (D("6270.00"), D("119130.00"), D("26208.60"), D("145338.60")),
        (D("750.00"), D("14250.00"), D("3135.00"), D("17385.00")),
        # 7 125.95 × 22% = 1 567.709 → 1 567.71 (half up)
        (D("375.05"), D("7125.95"), D("1567.71"), D("8693.66")),
    ]
    total = pricing.totals(priced)
    assert (total.amount, total.vat_amount) == (D("171417.26"), D("30911.31"))

    by_amount = pricing.apply_discount(net_lines(), "amount", D("10000"))
    assert sum(x.discount for x in by_amount) == D("10000.00")
    assert pricing.totals(by_amount).net_amount == D("137901.00")
    assert all(x.vat_amount == money(x.net_amount * 22 / 100) for x in by_amount)


def test_vat_on_top_is_rounded_half_up_per_line_and_totals_sum_the_rounded_lines():
    assert add_vat(D("0.75"), D(22)).vat == D("0.17")  # 0.165: half up, not to even
    cheap = [
        pricing.service_line(
            service_item_id=n,
            description=f"Бейдж {n}",
            unit="шт",
            unit_code="796",
            quantity=D(1),
            price=D("0.75"),
            vat_setting="auto",
            on=SPRING_2026,
            vat_mode=VAT_ON_TOP,
        )
        for n in range(3)
    ]
    total = pricing.totals(cheap)
    # three rounded lines (0.17 each), not 2.25 × 22% = 0.495 → 0.50 on the total
    assert (total.vat_amount, total.amount) == (D("0.51"), D("2.76"))


def test_a_2025_net_line_takes_20_percent_and_no_vat_adds_nothing():
    stand = net_lines(on=dt.date(2025, 6, 1))[0]
    assert (stand.vat_rate, stand.vat_amount, stand.amount) == (
        D(20),
        D("25080.00"),
        D("150480.00"),
    )
    free = pricing.registration_line(
        fee=D("15000"), vat_setting="none", on=SPRING_2026, vat_mode=VAT_ON_TOP
    )
    assert (free.vat_amount, free.amount) == (D("0.00"), D("15000.00"))


def test_an_unknown_vat_mode_is_refused_in_russian():
    with pytest.raises(ValidationError) as refused:
        pricing.registration_line(
            fee=D("1"), vat_setting="auto", on=SPRING_2026, vat_mode="sideways"
        )
    assert "НДС сверху" in refused.value.fields["vat_mode"]


# --- deals copy the mode from the price list ----------------------------------------------------


def _net_project(session, code="NET27"):
    project = make_project(session, code=code, name="ВолгаСтройЭкспо-2027")
    for price in session.scalars(select(StandPrice).where(StandPrice.project_id == project.id)):
        price.vat_mode = VAT_ON_TOP
    item = session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    item.vat_mode = VAT_ON_TOP
    project.registration_vat_mode = VAT_ON_TOP
    session.flush()
    return project, item


def test_a_line_keeps_the_mode_it_was_priced_in(db_session, admin, org):
    project, item = _net_project(db_session)
    deal = make_deal(db_session, admin, project=project)
    deal_lines.add_service_line(db_session, deal, item, D(2), actor=admin)
    deal_lines.add_registration_line(db_session, deal, actor=admin)
    assert [line.vat_mode for line in deal.lines] == [VAT_ON_TOP] * 3
    assert [line.amount for line in deal.lines] == [D("152988.00"), D("9151.22"), D("18300.00")]
    assert (deal.amount, deal.vat_amount) == (D("180439.22"), D("32538.22"))

    # The price list goes back to VAT-included: the deal's lines do not change, new ones do.
    item.vat_mode = VAT_INCLUDED
    deal_lines.set_discount(db_session, deal, None, None, None, actor=admin)
    assert [line.vat_mode for line in deal.lines] == [VAT_ON_TOP] * 3
    assert deal.amount == D("180439.22")
    deal_lines.add_service_line(db_session, deal, item, D(1), actor=admin)
    assert deal.lines[-1].vat_mode == VAT_INCLUDED
    assert (deal.lines[-1].amount, deal.lines[-1].vat_amount) == (D("3750.50"), D("676.32"))


# --- documents ----------------------------------------------------------------------------------


def _discounted_net_deal(session, admin):
    project, item = _net_project(session)
    deal = make_deal(session, admin, project=project)
    deal_lines.add_service_line(session, deal, item, D(2), actor=admin)
    deal_lines.set_discount(session, deal, "percent", "5", "Постоянный участник", actor=admin)
    return deal


def test_a_net_deals_invoice_shows_net_prices_and_vat_on_top(db_session, admin, org):
    deal = _discounted_net_deal(db_session, admin)
    assert (deal.amount, deal.vat_amount) == (D("154032.26"), D("27776.31"))

    invoice = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2026, 11, 23)
    )
    assert (invoice.amount, invoice.vat_amount) == (deal.amount, deal.vat_amount)
    totals = invoice.snapshot["totals"]
    assert totals["vat_on_top"] is True and totals["net_amount"] == "126255.95"

    text = pdf_text(invoice.files[0].content)
    assert "Цена без Сумма без" in text  # the column heads wrap: «Цена без / НДС»
    # net prices: 119 130.00 / 12 m² = 9 927.50; 7 125.95 / 2 = 3 562.975 → 3 562.98
    assert f"{_amount(D('9927.50'))} {_amount(D('119130.00'))}" in text
    assert f"{_amount(D('3562.98'))} {_amount(D('7125.95'))}" in text
    assert f"Итого без НДС: {_amount(D('126255.95'))}" in text
    assert f"НДС 22%: {_amount(D('27776.31'))}" in text
    assert f"Всего к оплате: {_amount(D('154032.26'))}" in text
    assert "В том числе НДС" not in text
    assert "Сто пятьдесят четыре тысячи тридцать два рубля 26 копеек" in text


def test_a_vat_included_invoice_reads_as_before(db_session, admin, org):
    deal = make_deal(db_session, admin)
    invoice = services.issue_document(db_session, deal, "invoice", actor=admin)
    text = pdf_text(invoice.files[0].content)
    assert f"Итого: {_amount(D('125400.00'))}" in text
    assert f"В том числе НДС 22%: {_amount(D('22613.11'))}" in text
    assert "Итого без НДС" not in text and "Цена без НДС" not in text


def test_on_a_2025_document_a_net_line_keeps_its_net_and_an_included_line_its_gross(
    db_session, admin, org
):
    project = make_project(db_session, code="MIX25", name="ВолгаСтройЭкспо-2027")
    for price in db_session.scalars(select(StandPrice).where(StandPrice.project_id == project.id)):
        price.vat_mode = VAT_ON_TOP
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    deal = make_deal(db_session, admin, project=project)  # priced in 2026: 22%
    deal_lines.add_service_line(db_session, deal, item, D(2), actor=admin)
    assert [line.amount for line in deal.lines] == [D("152988.00"), D("7501.00")]

    invoice = services.issue_document(
        db_session, deal, "invoice", actor=admin, on=dt.date(2025, 12, 20)
    )
    stand, service = invoice.snapshot["lines"]
    # the net line: 125 400.00 net + 20% = 25 080.00 → 150 480.00
    assert (stand["net_amount"], stand["vat_amount"], stand["amount"]) == (
        "125400.00",
        "25080.00",
        "150480.00",
    )
    # the VAT-included line keeps its gross: 7 501.00 × 20/120 = 1 250.17
    assert (service["amount"], service["vat_amount"]) == ("7501.00", "1250.17")
    assert [stand["vat_rate"], service["vat_rate"]] == ["20%", "20%"]
    assert (invoice.amount, invoice.vat_amount) == (D("157981.00"), D("26330.17"))

    # A mixed document prints prices with VAT and the VAT they include, by rate.
    text = pdf_text(invoice.files[0].content)
    assert f"Итого: {_amount(D('157981.00'))}" in text
    assert f"В том числе НДС 20%: {_amount(D('26330.17'))}" in text
    assert "Итого без НДС" not in text and "22%" not in text


def test_a_net_deals_contract_docx_and_pdf_show_net_totals(db_session, admin, org):
    deal = _discounted_net_deal(db_session, admin)
    contract = services.issue_document(
        db_session, deal, "contract", actor=admin, on=dt.date(2026, 11, 23)
    )
    docx = _docx_text(next(f for f in contract.files if f.format == "docx").content)
    pdf = pdf_text(next(f for f in contract.files if f.format == "pdf").content)
    clause = (
        f"Стоимость без НДС {_amount(D('126255.95'))} руб., кроме того НДС 22%: "
        f"{_amount(D('27776.31'))} руб."
    )
    for text in (docx, pdf):
        assert f"составляет {_amount(D('154032.26'))} руб." in text
        assert clause in text
        assert f"Итого без НДС: {_amount(D('126255.95'))}" in text
        assert f"НДС 22%: {_amount(D('27776.31'))}" in text
        assert f"Всего к оплате: {_amount(D('154032.26'))}" in text
        assert _amount(D("119130.00")) in text and _amount(D("145338.60")) not in text
    assert "Цена без НДС, руб." in docx and "Сумма без НДС, руб." in docx
    assert "Цена без Ставка Сумма Сумма без" in pdf  # the heads wrap in the PDF
    assert "В том числе НДС" not in docx


# --- the price list pages, the deal card and the API ----------------------------------------------


def test_the_price_list_and_service_forms_choose_vat_on_top(client, db_session, make_user):
    make_user("project_manager", username="netpm")
    project = make_project(db_session, code="NETUI", name="ВолгаСтройЭкспо-2027")
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    db_session.commit()
    client.login("netpm")
    path = f"/projects/{project.id}/prices"
    page = client.get(path).get_data(as_text=True)
    assert 'name="mode_raw"' in page and "НДС сверху" in page
    data = {
        "registration_fee": "15000",
        "default_vat_rate": "auto",
        "registration_vat_mode": "on_top",
        "price_raw": "9500",
        "vat_raw": "auto",
        "mode_raw": "on_top",
        "price_shell": "12000",
        "vat_shell": "auto",
        "mode_shell": "included",
        "price_open": "",
        "vat_open": "auto",
        "mode_open": "included",
        "kind_corner": "percent",
        "surcharge_corner": "10",
        "kind_peninsula": "percent",
        "surcharge_peninsula": "",
        "kind_island": "percent",
        "surcharge_island": "",
    }
    refused = client.submit(path, {**data, "mode_raw": "sideways"})
    assert refused.status_code == 422
    assert "Цена: «НДС в т.ч.» или «НДС сверху»." in refused.get_data(as_text=True)
    db_session.refresh(project)
    assert project.registration_vat_mode == VAT_INCLUDED
    assert client.submit(path, data).status_code == 302
    db_session.expire_all()
    modes = {p.stand_type: p.vat_mode for p in project.stand_prices}
    assert modes == {"raw": VAT_ON_TOP, "shell": VAT_INCLUDED}
    assert project.registration_vat_mode == VAT_ON_TOP

    edit = f"/projects/services/{item.id}/edit"
    answer = client.submit(
        edit,
        {
            "name": item.name,
            "unit": "шт",
            "unit_code": "796",
            "price": "3750,50",
            "vat_rate": "auto",
            "vat_mode": "on_top",
            "is_active": "y",
        },
        token_page=edit,
    )
    assert answer.status_code == 302
    db_session.refresh(item)
    assert item.vat_mode == VAT_ON_TOP
    listing = client.get(path).get_data(as_text=True)
    assert '<td class="service-vat-mode">НДС сверху</td>' in listing


def test_the_deal_card_and_the_api_show_a_net_line(client, db_session, make_user, api_token, org):
    manager = make_user("sales_manager", username="netmgr")
    project, item = _net_project(db_session, code="NETAPI")
    deal = make_deal(db_session, manager, project=project)
    db_session.commit()
    client.login("netmgr")
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'data-vat-mode="on_top"' in card and "сверху" in card
    assert 'id="deal-net">125\xa0400,00<' in card
    assert 'id="deal-total">152\xa0988,00<' in card

    body = client.get(f"/api/v1/deals/{deal.id}", headers=api_token("netmgr")).get_json()
    (line,) = body["lines"]
    assert (line["vat_mode"], line["unit_price"], line["net_amount"]) == (
        "on_top",
        "9500.00",
        "125400.00",
    )
    assert (line["vat_amount"], line["amount"]) == ("27588.00", "152988.00")
    spec = client.get("/api/v1/openapi.json").get_json()
    deal_schema = spec["paths"]["/api/v1/deals/{deal_id}"]["get"]["responses"]["200"]
    found = list(_schemas_with(deal_schema, "vat_mode"))
    assert found and all(s["vat_mode"]["enum"] == ["included", "on_top"] for s in found)
    assert all("net_amount" in s for s in found)


def _schemas_with(node, key):
    """Every `properties` object under `node` that names `key`."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and key in node["properties"]:
            yield node["properties"]
        for value in node.values():
            yield from _schemas_with(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_with(value, key)


def test_a_net_deals_act_and_vat_invoice_keep_the_net_at_the_acts_rate(db_session, admin, org):
    deal = _discounted_net_deal(db_session, admin)
    services.issue_document(db_session, deal, "invoice", actor=admin, on=dt.date(2026, 11, 23))
    act = services.issue_document(
        db_session, deal, "act", actor=admin, on=dt.date(2026, 11, 24), confirm_early=True
    )
    text = pdf_text(act.files[0].content)
    assert f"Итого без НДС: {_amount(D('126255.95'))}" in text
    assert f"НДС 22%: {_amount(D('27776.31'))}" in text
    assert f"Всего с НДС: {_amount(D('154032.26'))}" in text
    vat_invoice = services.issue_document(
        db_session, deal, "vat_invoice", actor=admin, on=dt.date(2026, 11, 24), confirm_early=True
    )
    assert (vat_invoice.amount, vat_invoice.vat_amount) == (D("154032.26"), D("27776.31"))
    vat_text = pdf_text(vat_invoice.files[0].content)
    assert _amount(D("126255.95")) in vat_text and _amount(D("27776.31")) in vat_text
