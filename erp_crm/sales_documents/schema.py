"""What a document template may use: the placeholders, their meaning, and a demo context.

Every document kind renders from the same plain-data context (dicts, lists, str, Decimal, date);
a kind fills what concerns it (`act` for a VAT invoice, `invoice` for an act) and leaves the rest
None. Templates guard optional parts with `{% if contract %}…{% endif %}`. Filters: amount, words,
date_long, date_short, date_quoted, quantity, initials (documents.sandbox.FILTERS).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from documents import formatting
from documents.money import VAT_INCLUDED, VAT_ON_TOP, money, rate_label, split


class DocumentKind(StrEnum):
    APPLICATION = "application"
    CONTRACT = "contract"
    CHECKLIST = "checklist"
    INVOICE = "invoice"
    ACT = "act"
    VAT_INVOICE = "vat_invoice"


KIND_LABELS = {
    DocumentKind.APPLICATION: "Заявка на участие",
    DocumentKind.CONTRACT: "Договор",
    DocumentKind.CHECKLIST: "Contract Check List",
    DocumentKind.INVOICE: "Счёт на оплату",
    DocumentKind.ACT: "Акт об оказании услуг",
    DocumentKind.VAT_INVOICE: "Счёт-фактура",
}
# File-name stems (Latin-free Russian names are what accountants expect in a ZIP).
KIND_FILE_STEMS = {
    DocumentKind.APPLICATION: "Заявка",
    DocumentKind.CONTRACT: "Договор",
    DocumentKind.CHECKLIST: "Чек-лист",
    DocumentKind.INVOICE: "Счёт",
    DocumentKind.ACT: "Акт",
    DocumentKind.VAT_INVOICE: "Счёт-фактура",
}
# Kinds also issued as an editable DOCX beside the PDF.
DOCX_KINDS = {DocumentKind.APPLICATION, DocumentKind.CONTRACT, DocumentKind.CHECKLIST}
# The sales package one click issues; the act and the VAT invoice close the deal after the show.
PACKAGE_KINDS = (
    DocumentKind.APPLICATION,
    DocumentKind.CONTRACT,
    DocumentKind.CHECKLIST,
    DocumentKind.INVOICE,
)
MANUAL_KINDS = {
    "marketing_manual": "Маркетинговое руководство участника",
    "technical_manual": "Техническое руководство участника",
}

_PARTY = {
    "name": "краткое наименование",
    "full_name": "полное наименование",
    "inn": "ИНН",
    "kpp": "КПП (пусто у ИП и физлиц)",
    "ogrn": "ОГРН / ОГРНИП",
    "address": "юридический адрес",
    "postal_address": "почтовый адрес",
    "phone": "телефон",
    "email": "e-mail",
}

PLACEHOLDERS: dict[str, str] = {
    "doc": "документ",
    "doc.kind": "вид документа (application, contract, …)",
    "doc.title": "название вида документа",
    "doc.number": "номер документа",
    "doc.date": "дата документа (фильтры date_long, date_short, date_quoted)",
    "doc.year": "год документа",
    "doc.is_preview": "истина для предпросмотра без номера",
    "doc.correction_no": "номер исправления (счёт-фактура, строка 1а), иначе пусто",
    "doc.correction_date": "дата исправления, иначе пусто",
    "doc.corrects": "исправляемый документ: number, date (иначе пусто)",
    "doc.corrects.number": "номер исправляемого документа",
    "doc.corrects.date": "дата исправляемого документа",
    "seller": "продавец — наша организация",
    **{f"seller.{k}": v for k, v in _PARTY.items()},
    "seller.bank_name": "банк",
    "seller.bik": "БИК",
    "seller.account": "расчётный счёт",
    "seller.corr_account": "корреспондентский счёт",
    "seller.director_position": "должность руководителя",
    "seller.director_name": "ФИО руководителя",
    "seller.accountant_name": "ФИО главного бухгалтера",
    "seller.is_sole_trader": "истина для ИП",
    "buyer": "покупатель — экспонент",
    **{f"buyer.{k}": v for k, v in _PARTY.items()},
    "buyer.kind": "legal | sole_trader | person",
    "buyer.website": "сайт",
    "buyer.contact_name": "контактное лицо по сделке",
    "buyer.contact_position": "должность контактного лица",
    "buyer.contact_phone": "телефон контактного лица",
    "buyer.contact_email": "e-mail контактного лица",
    "project": "выставка",
    "project.code": "код проекта",
    "project.name": "название выставки",
    "project.venue": "место проведения",
    "project.city": "город",
    "project.opening_date": "дата открытия",
    "project.closing_date": "дата закрытия",
    "project.build_up_date": "дата монтажа",
    "project.dismantling_date": "дата демонтажа",
    "project.period": "сроки проведения текстом («12–15 марта 2027 г.»)",
    "deal": "сделка",
    "deal.id": "номер сделки",
    "deal.title": "название сделки",
    "deal.manager_name": "менеджер",
    "deal.manager_email": "e-mail менеджера",
    "deal.stands": "стенды текстом («A-12 (18 м²), A-14 (9 м²)»)",
    "deal.area_m2": "площадь, м²",
    "deal.discount_text": "скидка текстом, иначе пусто",
    "lines": "строки: стенды, площадь, услуги (цикл for line in lines)",
    "lines[].no": "№ строки",
    "lines[].kind": "stand | space | service | registration",
    "lines[].description": "наименование",
    "lines[].unit": "единица измерения",
    "lines[].unit_code": "код единицы по ОКЕИ (055 м², 796 шт, 876 усл. ед.)",
    "lines[].quantity": "количество (фильтр quantity)",
    "lines[].price": "цена с НДС",
    "lines[].net_price": "цена без НДС",
    "lines[].amount": "сумма с НДС",
    "lines[].net_amount": "стоимость без НДС",
    "lines[].vat_rate": "ставка НДС текстом («22%», «Без НДС»)",
    "lines[].vat_amount": "сумма НДС",
    "lines[].vat_on_top": "истина, если цена строки без НДС (НДС сверху)",
    "totals": "итоги",
    "totals.amount": "всего с НДС",
    "totals.net_amount": "всего без НДС",
    "totals.vat_amount": "всего НДС",
    "totals.vat_label": "«В том числе НДС 22%» («НДС 22%» при ценах без НДС) или «Без налога"
    " (НДС)»",
    "totals.vat_on_top": "истина, если все цены без НДС (НДС сверху): показывать цены и суммы без"
    " НДС, итоги «Итого без НДС / НДС / Всего к оплате»",
    "totals.vat_rate": "ставка НДС текстом",
    "totals.by_rate": "НДС по ставкам (цикл for r in totals.by_rate; без НДС — последней)",
    "totals.by_rate[].rate": "ставка текстом («22%», «Без НДС»)",
    "totals.by_rate[].label": "«В том числе НДС 22%» («НДС 22%» при ценах без НДС) или «Без налога"
    " (НДС)»",
    "totals.by_rate[].amount": "сумма строк этой ставки с НДС",
    "totals.by_rate[].net_amount": "сумма строк этой ставки без НДС",
    "totals.by_rate[].vat_amount": "НДС по этой ставке",
    "totals.vat_text": "НДС одной фразой: «В том числе НДС 22%: 1 220,00 руб.; НДС 10%: 100,00»",
    "totals.words": "сумма прописью",
    "totals.count": "число строк",
    "totals.area_m2": "площадь всего, м²",
    "contract": "договор сделки: number, date (иначе пусто)",
    "contract.number": "номер договора",
    "contract.date": "дата договора",
    "invoice": "счёт, по которому выставлен акт: number, date (иначе пусто)",
    "invoice.number": "номер счёта",
    "invoice.date": "дата счёта",
    "act": "акт, к которому выставлен счёт-фактура (строка 5а): number, date",
    "act.number": "номер акта",
    "act.date": "дата акта",
    "payment": "оплата по счёту",
    "payment.due_date": "оплатить до",
    "payment.days": "срок оплаты, банковских дней",
    "payment.purpose": "назначение платежа для банка",
    "payments": "платёжные поручения, оплатившие сделку до отгрузки (строка 5 счёта-фактуры):"
    " список number, date",
    "payments[].number": "номер платёжного поручения",
    "payments[].date": "дата платёжного поручения",
    "advances": "авансовые счета-фактуры (строка 5б): список number, date",
    "advances[].number": "номер авансового счёта-фактуры",
    "advances[].date": "дата авансового счёта-фактуры",
    "stamp": "изображение печати (пусто, если не задано)",
    "signature": "подпись руководителя (пусто, если не задано)",
    "accountant_signature": "подпись главного бухгалтера (пусто, если не задано)",
}
KNOWN_PATHS = frozenset(PLACEHOLDERS)


NO_VAT_LABEL = "Без налога (НДС)"


def line_dict(
    no: int,
    *,
    kind: str,
    description: str,
    unit: str,
    unit_code: str,
    quantity: Decimal,
    amount: Decimal,
    vat_rate: Decimal | None,
    vat_mode: str = VAT_INCLUDED,
) -> dict[str, Any]:
    """One table row, VAT per line. `amount` is the line's price as quoted: the gross of a
    VAT-included line (the VAT is extracted), the net of a line with VAT on top (VAT = net ×
    rate, the gross is net + VAT)."""
    parts = split(amount, vat_rate, vat_mode)
    qty = Decimal(quantity)
    return {
        "no": no,
        "kind": kind,
        "description": description,
        "unit": unit,
        "unit_code": unit_code,
        "quantity": qty,
        "price": money(parts.gross / qty) if qty else parts.gross,
        "net_price": money(parts.net / qty) if qty else parts.net,
        "amount": parts.gross,
        "net_amount": parts.net,
        "vat_rate": rate_label(vat_rate),
        "vat_amount": parts.vat,
        "vat_on_top": vat_mode == VAT_ON_TOP,
        "_rate": vat_rate,
    }


def totals_dict(
    lines: list[dict[str, Any]], area_m2: Decimal = Decimal(0), *, no_vat: str = NO_VAT_LABEL
) -> dict[str, Any]:
    """`no_vat`: what a line or a document without VAT says (an organization without VAT puts
    its basis there: «Без НДС (НДС не облагается на основании …)»)."""
    total = sum((ln["amount"] for ln in lines), Decimal("0.00"))
    vat = sum((ln["vat_amount"] for ln in lines), Decimal("0.00"))
    rates = {ln["_rate"] for ln in lines}
    # Every line quoted net: the document shows net prices and «Итого без НДС / НДС / Всего к
    # оплате»; otherwise (VAT-included or mixed) prices with VAT and «В том числе НДС».
    on_top = bool(lines) and all(ln["vat_on_top"] for ln in lines)
    by_rate = vat_by_rate(lines, no_vat=no_vat, on_top=on_top)
    if rates == {None} or not lines:
        label, rate_text = no_vat, "Без НДС"
    elif len(rates) == 1:
        rate_text = rate_label(next(iter(rates)))
        label = f"НДС {rate_text}" if on_top else f"В том числе НДС {rate_text}"
    else:
        label, rate_text = ("НДС" if on_top else "В том числе НДС"), "разные ставки"
    return {
        "amount": total,
        "net_amount": total - vat,
        "vat_amount": vat,
        "vat_label": label,
        "vat_rate": rate_text,
        "by_rate": by_rate,
        "vat_text": vat_text(by_rate, no_vat=no_vat, on_top=on_top),
        "vat_on_top": on_top,
        "words": formatting.amount_in_words(total),
        "count": len(lines),
        "area_m2": area_m2,
    }


def vat_by_rate(
    lines: list[dict[str, Any]], *, no_vat: str = NO_VAT_LABEL, on_top: bool = False
) -> list[dict[str, Any]]:
    """The lines' sums per VAT rate (highest rate first, «Без НДС» last): each the sum of its
    rounded lines, so the groups add up to the totals. `on_top`: the document's prices are net,
    so a group reads «НДС 22%» (added), not «В том числе НДС 22%»."""
    prefix = "НДС" if on_top else "В том числе НДС"
    groups: dict[Decimal | None, dict[str, Any]] = {}
    for ln in lines:
        rate = ln["_rate"]
        group = groups.setdefault(
            rate,
            {
                "rate": rate_label(rate),
                "label": no_vat if rate is None else f"{prefix} {rate_label(rate)}",
                "amount": Decimal("0.00"),
                "net_amount": Decimal("0.00"),
                "vat_amount": Decimal("0.00"),
            },
        )
        group["amount"] += ln["amount"]
        group["net_amount"] += ln["net_amount"]
        group["vat_amount"] += ln["vat_amount"]
    order = sorted(groups, key=lambda r: (r is None, -(r or 0)))
    return [groups[r] for r in order]


def vat_text(
    by_rate: list[dict[str, Any]], *, no_vat: str = NO_VAT_LABEL, on_top: bool = False
) -> str:
    """One line for a sentence: «В том числе НДС 22%: 1 220,00 руб.; НДС 10%: 100,00 руб.»
    (net prices: «Стоимость без НДС 1 000,00 руб., кроме того НДС 22%: 220,00 руб.»)."""
    if not by_rate or all(g["rate"] == rate_label(None) for g in by_rate):
        return no_vat
    parts = []
    for g in by_rate:
        if g["rate"] == rate_label(None):
            parts.append(f"без НДС — на сумму {formatting.amount(g['amount'])} руб.")
        else:
            parts.append(f"НДС {g['rate']}: {formatting.amount(g['vat_amount'])} руб.")
    if on_top:
        net = sum((g["net_amount"] for g in by_rate), Decimal("0.00"))
        return f"Стоимость без НДС {formatting.amount(net)} руб., кроме того " + "; ".join(parts)
    return "В том числе " + "; ".join(parts)


def public_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in ln.items() if not k.startswith("_")} for ln in lines]


def demo_context(kind: str, *, on: dt.date | None = None) -> dict[str, Any]:
    """Believable data for previews of templates (no database needed)."""
    on = on or dt.date(2026, 11, 23)
    rate = Decimal(22) if on >= dt.date(2026, 1, 1) else Decimal(20)
    lines = [
        line_dict(
            1,
            kind="stand",
            description="Стенд A-12, линейный, 18 м² (3 × 6 м)",
            unit="м²",
            unit_code="055",
            quantity=Decimal(18),
            amount=Decimal("234000.00"),
            vat_rate=rate,
        ),
        line_dict(
            2,
            kind="service",
            description="Дополнительная розетка 220 В",
            unit="шт",
            unit_code="796",
            quantity=Decimal(2),
            amount=Decimal("7000.00"),
            vat_rate=rate,
        ),
        line_dict(
            3,
            kind="registration",
            description="Регистрационный сбор",
            unit="усл. ед.",
            unit_code="876",
            quantity=Decimal(1),
            amount=Decimal("15000.00"),
            vat_rate=rate,
        ),
    ]
    contract = {"number": "128/26", "date": on - dt.timedelta(days=3)}
    return {
        "doc": {
            "kind": kind,
            "title": KIND_LABELS.get(kind, kind) if kind in KIND_LABELS else kind,
            "number": "ОБРАЗЕЦ",
            "date": on,
            "year": on.year,
            "is_preview": True,
            "correction_no": "",
            "correction_date": None,
            "corrects": None,
        },
        "seller": {
            "name": "ООО «Экспо-Волга Сервис»",
            "full_name": "Общество с ограниченной ответственностью «Экспо-Волга Сервис»",
            "inn": "7707083893",
            "kpp": "773601001",
            "ogrn": "1027700132195",
            "address": "443010, г. Самара, ул. Молодогвардейская, д. 94, офис 12",
            "postal_address": "443010, г. Самара, а/я 15",
            "phone": "+7 846 200-10-20",
            "email": "sales@expo-volga.example",
            "bank_name": "ПАО Сбербанк",
            "bik": "044525225",
            "account": "40702810400000012345",
            "corr_account": "30101810400000000225",
            "director_position": "Генеральный директор",
            "director_name": "Смирнова Елена Викторовна",
            "accountant_name": "Козлова Ирина Павловна",
            "is_sole_trader": False,
        },
        "buyer": {
            "kind": "legal",
            "name": "ООО «Рога & Копыта <Плюс>»",
            "full_name": "Общество с ограниченной ответственностью «Рога & Копыта <Плюс>»",
            "inn": "5408131553",
            "kpp": "540801001",
            "ogrn": "1025403200151",
            "address": "630090, г. Новосибирск, Академгородок, ул. Инженерная, д. 4а",
            "postal_address": "630090, г. Новосибирск, а/я 77",
            "phone": "+7 383 330-11-22",
            "email": "info@roga-kopyta.example",
            "website": "roga-kopyta.example",
            "contact_name": "Петров Сергей Андреевич",
            "contact_position": "Директор по маркетингу",
            "contact_phone": "+7 913 123-45-67",
            "contact_email": "petrov@roga-kopyta.example",
        },
        "project": {
            "code": "VOLGA-27",
            "name": "Волга-Пром 2027",
            "venue": "МВЦ «Экспо-Волга»",
            "city": "Самара",
            "opening_date": dt.date(2027, 3, 12),
            "closing_date": dt.date(2027, 3, 15),
            "build_up_date": dt.date(2027, 3, 10),
            "dismantling_date": dt.date(2027, 3, 16),
            "period": formatting.period(dt.date(2027, 3, 12), dt.date(2027, 3, 15)),
        },
        "deal": {
            "id": 1042,
            "title": "Волга-Пром 2027 — Рога & Копыта",
            "manager_name": "Орлова Мария Сергеевна",
            "manager_email": "orlova@expo-volga.example",
            "stands": "A-12 (18 м²)",
            "area_m2": Decimal(18),
            "discount_text": "",
        },
        "lines": public_lines(lines),
        "totals": totals_dict(lines, Decimal(18)),
        "contract": None if kind == DocumentKind.CONTRACT else contract,
        "invoice": {"number": "57", "date": on - dt.timedelta(days=2)},
        "act": {"number": "31", "date": on},
        "payment": {
            "due_date": on + dt.timedelta(days=5),
            "days": 5,
            "purpose": "Оплата по счёту № ОБРАЗЕЦ за участие в выставке «Волга-Пром 2027», "
            "в т.ч. НДС",
        },
        "payments": [{"number": "417", "date": on - dt.timedelta(days=1)}],
        "advances": [],
        "stamp": "",
        "signature": "",
        "accountant_signature": "",
    }
