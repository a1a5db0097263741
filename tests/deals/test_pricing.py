"""Deal pricing to the kopeck: m² × price, position surcharge, services, fee, discount, VAT."""

import datetime as dt
from decimal import Decimal as D

import pytest

from documents.money import money, resolve_rate, split_gross
from erp_crm.deals import pricing
from erp_crm.errors import ValidationError

SPRING_2026 = dt.date(2026, 3, 1)


def lines(on=SPRING_2026, vat="auto"):
    stand = pricing.stand_line(
        stand_id=1,
        description="Стенд A-12",
        area_m2=D("12"),
        price_per_m2=D("9500"),
        surcharge_rule=("percent", D("10")),
        vat_setting=vat,
        on=on,
    )
    fee = pricing.registration_line(fee=D("15000"), vat_setting=vat, on=on)
    power = pricing.service_line(
        service_item_id=7,
        description="Электроподключение 5 кВт",
        unit="шт",
        unit_code="796",
        quantity=D("2"),
        price=D("3750.50"),
        vat_setting=vat,
        on=on,
    )
    return [stand, fee, power]


def test_stand_price_with_corner_surcharge_and_vat_22_included():
    stand, fee, power = lines()
    assert stand.base_amount == D("125400.00") and stand.surcharge == D("11400.00")
    assert stand.unit_code == "055" and stand.area_m2 == D("12")
    assert (stand.vat_rate, stand.vat_amount) == (D(22), D("22613.11"))
    assert (fee.vat_amount, power.base_amount, power.vat_amount) == (
        D("2704.92"),
        D("7501.00"),
        D("1352.64"),
    )
    total = pricing.totals([stand, fee, power])
    assert (total.amount, total.vat_amount, total.area_m2) == (
        D("147901.00"),
        D("26670.67"),
        D("12"),
    )


def test_percent_discount_is_spread_over_lines():
    priced = pricing.apply_discount(lines(), "percent", D("5"))
    assert [(x.discount, x.amount, x.vat_amount) for x in priced] == [
        (D("6270.00"), D("119130.00"), D("21482.46")),
        (D("750.00"), D("14250.00"), D("2569.67")),
        (D("375.05"), D("7125.95"), D("1285.01")),
    ]
    total = pricing.totals(priced)
    assert (total.amount, total.vat_amount) == (D("140505.95"), D("25337.14"))


def test_amount_discount_adds_up_exactly():
    priced = pricing.apply_discount(lines(), "amount", D("10000"))
    assert sum(x.discount for x in priced) == D("10000.00")
    assert [x.discount for x in priced] == [D("8478.65"), D("1014.19"), D("507.16")]
    assert pricing.totals(priced).amount == D("137901.00")
    odd = pricing.apply_discount(lines(), "amount", D("0.05"))
    assert sum(x.discount for x in odd) == D("0.05")


def test_amount_surcharge_and_a_2025_document_at_20_percent():
    stand = pricing.stand_line(
        stand_id=2,
        description="Остров",
        area_m2=D("36"),
        price_per_m2=D("8000"),
        surcharge_rule=("amount", D("25000")),
        vat_setting="auto",
        on=dt.date(2025, 12, 31),
    )
    assert stand.base_amount == D("313000.00")
    assert (stand.vat_rate, stand.vat_amount) == (D(20), D("52166.67"))


def test_zero_rate_and_no_vat():
    zero = lines(vat="0")
    assert all(x.vat_amount == D("0.00") and x.vat_rate == D(0) for x in zero)
    none = lines(vat="none")
    assert all(x.vat_rate is None and x.vat_amount == D("0.00") for x in none)
    assert pricing.totals(none).amount == D("147901.00")


@pytest.mark.parametrize(
    ("kind", "value"), [("percent", D("120")), ("amount", D("200000")), ("bonus", D(1))]
)
def test_impossible_discounts_are_refused(kind, value):
    with pytest.raises(ValidationError):
        pricing.apply_discount(lines(), kind, value)


def test_money_helpers():
    assert money(D("2.675")) == D("2.68")  # half up, not banker's rounding
    assert resolve_rate("auto", dt.date(2026, 1, 1)) == D(22)
    assert resolve_rate("auto", dt.date(2025, 12, 31)) == D(20)
    assert resolve_rate("10", dt.date(2026, 1, 1)) == D(10)
    assert resolve_rate("none", dt.date(2026, 1, 1)) is None
    split = split_gross(D("1220.00"), D(22))
    assert (split.vat, split.net) == (D("220.00"), D("1000.00"))
