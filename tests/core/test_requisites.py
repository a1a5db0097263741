"""Requisites checks with real-format numbers (published requisites of large Russian companies)."""

import pytest

from erp_crm.core import requisites as rq

# ПАО Сбербанк: ИНН 7707083893, КПП 773601001, ОГРН 1027700132195, БИК 044525225,
# к/с 30101810400000000225. ООО «Яндекс»: ИНН 7736207543, ОГРН 1027700229193.


@pytest.mark.parametrize("inn", ["7707083893", "7736207543", "500100732259", "7707 083 893"])
def test_real_inn_numbers_pass(inn):
    assert rq.check_inn(inn) is None


@pytest.mark.parametrize(
    ("inn", "fragment"),
    [
        ("7707083894", "контрольная сумма"),
        ("500100732258", "контрольная сумма"),
        ("770708389", "10 цифр"),
        ("77070838AB", "10 цифр"),
        ("", "10 цифр"),
    ],
)
def test_wrong_inn_numbers_are_explained(inn, fragment):
    assert fragment in rq.check_inn(inn)


def test_inn_length_must_match_the_kind_of_client():
    assert "10 цифр" in rq.check_inn("500100732259", kind="legal")
    assert "12 цифр" in rq.check_inn("7707083893", kind="sole_trader")


@pytest.mark.parametrize("kpp", ["773601001", "7736AB001", "631501001", "7736ab001"])
def test_kpp_format(kpp):
    assert rq.check_kpp(kpp) is None


@pytest.mark.parametrize("kpp", ["77360100", "7736010011", "77ab01001", "7736-AB00"])
def test_wrong_kpp(kpp):
    assert rq.check_kpp(kpp) is not None


@pytest.mark.parametrize("ogrn", ["1027700132195", "1027700229193"])
def test_real_ogrn_numbers_pass(ogrn):
    assert rq.check_ogrn(ogrn) is None


def test_wrong_ogrn_checksum():
    assert "контрольная сумма" in rq.check_ogrn("1027700132194")


def test_ogrnip_whose_remainder_is_ten_or_more_is_accepted():
    # stdnum computes the ОГРНИП check digit as `x % 13` without `% 10` and so rejects these.
    prefix = next(p for p in (f"3045002{n:07d}" for n in range(1000)) if int(p) % 13 >= 10)
    number = prefix + str(int(prefix) % 13 % 10)
    assert rq.check_ogrn(number) is None
    assert rq.check_ogrn(number, kind="sole_trader") is None
    wrong = prefix + str((int(number[-1]) + 1) % 10)
    assert "ОГРНИП" in rq.check_ogrn(wrong)


def test_ogrnip_with_ordinary_remainder():
    number = rq.complete_ogrn("30450020000001")
    assert rq.check_ogrn(number) is None
    assert "13 цифр" in rq.check_ogrn(number, kind="legal")


def test_real_bank_accounts_pass():
    assert rq.check_bik("044525225") is None
    assert rq.check_correspondent_account("30101810400000000225", "044525225") is None
    # A treasury БИК starts with 00: it must not be rejected for not starting with 04.
    assert rq.check_bik("004525988") is None


def test_settlement_account_key_depends_on_the_bik():
    account = rq.complete_account("40702810038000012345", "044525225")
    assert rq.check_settlement_account(account, "044525225") is None
    assert "контрольный ключ" in rq.check_settlement_account(account, "043601607")


@pytest.mark.parametrize(
    ("account", "fragment"),
    [("4070281003800001234", "20 цифр"), ("30101810400000000226", "контрольный ключ")],
)
def test_wrong_accounts(account, fragment):
    check = (
        rq.check_correspondent_account if account.startswith("301") else rq.check_settlement_account
    )
    assert fragment in check(account, "044525225")


def test_correspondent_account_must_start_with_301():
    assert "301" in rq.check_correspondent_account("40702810038000012345", "044525225")


def test_generated_inns_are_valid():
    assert rq.check_inn(rq.complete_inn("631500123")) is None
    assert rq.check_inn(rq.complete_inn("6315001234")) is None
