"""Russian requisites: ИНН, КПП, ОГРН/ОГРНИП, БИК and bank accounts.

ИНН and 13-digit ОГРН are checked by python-stdnum. stdnum has no КПП, БИК or account checks, and
its 15-digit ОГРНИП check digit omits the final `% 10`, rejecting valid numbers whose remainder
mod 13 is 10..12; those parts are done here. Each `check_*` returns a Russian message or None.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

KPP_RE = re.compile(r"^\d{4}[\dA-Z]{2}\d{3}$")
_ACCOUNT_WEIGHTS = ((7, 1, 3) * 8)[:23]


_SEPARATORS = re.compile(r"[\s\-]")


def digits(value: str | None) -> str:
    """Strip spaces and separators people paste along with numbers."""
    return _SEPARATORS.sub("", value or "")


def check_inn(value: str, *, kind: str | None = None) -> str | None:
    """kind: 'legal' needs 10 digits, 'sole_trader'/'person' 12; None accepts either."""
    value = digits(value)
    if not value.isdigit() or len(value) not in (10, 12):
        return "ИНН состоит из 10 цифр (организация) или 12 цифр (ИП, физлицо)."
    if kind == "legal" and len(value) != 10:
        return "ИНН организации состоит из 10 цифр."
    if kind in ("sole_trader", "person") and len(value) != 12:
        return "ИНН ИП или физического лица состоит из 12 цифр."
    try:
        stdnum_inn.validate(value)
    except StdnumError:
        return "Неверный ИНН: не сходится контрольная сумма."
    return None


def check_kpp(value: str) -> str | None:
    value = digits(value).upper()
    if not KPP_RE.match(value):
        return "КПП: 9 знаков, например 773601001."
    return None


def ogrnip_check_digit(first14: str) -> str:
    return str(int(first14) % 13 % 10)


def check_ogrn(value: str, *, kind: str | None = None) -> str | None:
    """ОГРН (13 digits) for organizations, ОГРНИП (15 digits) for sole traders."""
    value = digits(value)
    if not value.isdigit() or len(value) not in (13, 15):
        return "ОГРН состоит из 13 цифр, ОГРНИП — из 15 цифр."
    if kind == "legal" and len(value) != 13:
        return "ОГРН организации состоит из 13 цифр."
    if kind == "sole_trader" and len(value) != 15:
        return "ОГРНИП состоит из 15 цифр."
    if len(value) == 13:
        try:
            stdnum_ogrn.validate(value)
        except StdnumError:
            return "Неверный ОГРН: не сходится контрольная сумма."
        return None
    if value[0] not in "34" or ogrnip_check_digit(value[:14]) != value[14]:
        return "Неверный ОГРНИП: не сходится контрольная сумма."
    return None


def check_bik(value: str) -> str | None:
    value = digits(value)
    if not value.isdigit() or len(value) != 9:
        return "БИК состоит из 9 цифр."
    return None


def _account_key_ok(key23: str) -> bool:
    return sum(int(d) * w for d, w in zip(key23, _ACCOUNT_WEIGHTS, strict=True)) % 10 == 0


def check_settlement_account(account: str, bik: str) -> str | None:
    """Расчётный счёт: 20 digits, key over BIK[-3:] + account (weights 7,1,3)."""
    account, bik = digits(account), digits(bik)
    if not account.isdigit() or len(account) != 20:
        return "Расчётный счёт состоит из 20 цифр."
    if check_bik(bik):
        return "Сначала укажите правильный БИК."
    if not _account_key_ok(bik[-3:] + account):
        return "Расчётный счёт не соответствует БИК: не сходится контрольный ключ."
    return None


def check_correspondent_account(account: str, bik: str) -> str | None:
    """Корр. счёт: 20 digits starting 301, key over '0' + BIK[4:6] + account."""
    account, bik = digits(account), digits(bik)
    if not account.isdigit() or len(account) != 20:
        return "Корреспондентский счёт состоит из 20 цифр."
    if not account.startswith("301"):
        return "Корреспондентский счёт банка начинается с 301."
    if check_bik(bik):
        return "Сначала укажите правильный БИК."
    if not _account_key_ok("0" + bik[4:6] + account):
        return "Корреспондентский счёт не соответствует БИК: не сходится контрольный ключ."
    return None


# --- generators for demo data, benchmarks and tests ---------------------------------------------


def complete_inn(prefix: str) -> str:
    """9 digits -> a valid 10-digit ИНН; 10 digits -> a valid 12-digit ИНН."""
    if len(prefix) == 9:
        return prefix + stdnum_inn.calc_company_check_digit(prefix)
    if len(prefix) == 10:
        return prefix + stdnum_inn.calc_personal_check_digits(prefix)
    raise ValueError("prefix must have 9 or 10 digits")


def complete_ogrn(prefix: str) -> str:
    """12 digits -> a valid ОГРН; 14 digits -> a valid ОГРНИП."""
    if len(prefix) == 12:
        return prefix + str(int(prefix) % 11 % 10)
    if len(prefix) == 14:
        return prefix + ogrnip_check_digit(prefix)
    raise ValueError("prefix must have 12 or 14 digits")


def complete_account(
    account_with_placeholder: str, bik: str, *, correspondent: bool = False
) -> str:
    """Fill the check digit (position 9) of a 20-digit account so that its key matches the BIK."""
    if len(account_with_placeholder) != 20:
        raise ValueError("account must have 20 digits")
    head = ("0" + bik[4:6]) if correspondent else bik[-3:]
    for digit in "0123456789":
        candidate = account_with_placeholder[:8] + digit + account_with_placeholder[9:]
        if _account_key_ok(head + candidate):
            return candidate
    raise AssertionError("unreachable: weight 3 at the check position covers every residue")
