"""The shipped document templates (templates/html, templates/docx) render from the schema's context.

Pure rendering, no database: every template renders `demo_context(kind)` with StrictUndefined
(preview=False), so an unknown placeholder fails here; the PDF text (pdftotext -layout) carries
the number, date, parties, ИНН, totals, VAT and amount in words; the DOCX twins pass the upload
check and keep «Рога & Копыта <Плюс>» intact. LibreOffice runs once (contract DOCX → PDF).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from docx import Document
from lxml import etree

from documents.render_docx import check_docx_template, render_docx
from documents.render_html import check_html_template, render_template_pdf
from erp_crm.sales_documents.schema import (
    DOCX_KINDS,
    KNOWN_PATHS,
    MANUAL_KINDS,
    DocumentKind,
    demo_context,
    line_dict,
    public_lines,
    totals_dict,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
HTML_KINDS = [k.value for k in DocumentKind]
ALL_HTML = HTML_KINDS + list(MANUAL_KINDS)
DOCX_NAMES = sorted(k.value for k in DOCX_KINDS)

NUMBER = "ЭВ-0042"
BUYER = "ООО «Рога & Копыта <Плюс>»"
BUYER_FULL = "Общество с ограниченной ответственностью «Рога & Копыта <Плюс>»"
SELLER = "ООО «Экспо-Волга Сервис»"
SELLER_FULL = "Общество с ограниченной ответственностью «Экспо-Волга Сервис»"
TOTAL = "256 000,00"
VAT = "46 163,94"
WORDS = "Двести пятьдесят шесть тысяч рублей 00 копеек"
DATE_LONG = "23 ноября 2026 г."
NO_VAT = "Без налога (НДС)"


def _need(tool: str) -> str:
    """A Debian tool the test needs: skip locally when missing, fail on CI."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (Debian: make system-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _norm(text: str) -> str:
    """pdftotext keeps or drops no-break spaces and wraps lines: compare on single spaces."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


def _pdf_text(pdf: bytes) -> str:
    done = subprocess.run(  # noqa: S603 - fixed arguments, a tool found on PATH
        [_need("pdftotext"), "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return _norm(done.stdout.decode("utf-8"))


def _html(kind: str) -> str:
    return (TEMPLATES / "html" / f"{kind}.html").read_text(encoding="utf-8")


def _docx(kind: str) -> bytes:
    return (TEMPLATES / "docx" / f"{kind}.docx").read_bytes()


def _issued(kind: str, **kwargs: Any) -> dict[str, Any]:
    """The demo context as an issued (numbered, non-preview) document."""
    ctx = demo_context(kind, **kwargs)
    ctx["doc"]["number"] = NUMBER
    ctx["doc"]["is_preview"] = False
    ctx["payment"]["purpose"] = ctx["payment"]["purpose"].replace("ОБРАЗЕЦ", NUMBER)
    return ctx


def _no_vat(kind: str) -> dict[str, Any]:
    ctx = _issued(kind)
    lines = [
        line_dict(
            1,
            kind="stand",
            description="Стенд A-12, линейный, 18 м²",
            unit="м²",
            unit_code="055",
            quantity=Decimal(18),
            amount=Decimal("234000.00"),
            vat_rate=None,
        ),
        line_dict(
            2,
            kind="registration",
            description="Регистрационный сбор",
            unit="усл. ед.",
            unit_code="876",
            quantity=Decimal(1),
            amount=Decimal("22000.00"),
            vat_rate=None,
        ),
    ]
    ctx["lines"] = public_lines(lines)
    ctx["totals"] = totals_dict(lines, Decimal(18))
    return ctx


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tpl_{name}", TEMPLATES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- module-scoped renders (each PDF is made once) ----------------------------------------------


@pytest.fixture(scope="module")
def issued_texts() -> dict[str, str]:
    return {k: _pdf_text(render_template_pdf(_html(k), _issued(k))) for k in ALL_HTML}


@pytest.fixture(scope="module")
def no_vat_texts() -> dict[str, str]:
    return {k: _pdf_text(render_template_pdf(_html(k), _no_vat(k))) for k in HTML_KINDS}


@pytest.fixture(scope="module")
def texts_2025() -> dict[str, str]:
    on = dt.date(2025, 12, 1)
    return {k: _pdf_text(render_template_pdf(_html(k), _issued(k, on=on))) for k in HTML_KINDS}


@pytest.fixture(scope="module")
def rendered_docx() -> dict[str, bytes]:
    return {k: render_docx(_docx(k), _issued(k)) for k in DOCX_NAMES}


# --- HTML templates ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_HTML)
def test_html_template_uses_only_known_placeholders(kind: str) -> None:
    errors, report = check_html_template(_html(kind), KNOWN_PATHS)
    assert errors == []
    assert report.unknown == set()
    assert report.used, "a template that reads nothing is not a template"


def test_html_templates_carry_the_current_shared_css() -> None:
    build_html = _load("build_html")
    for kind in ALL_HTML:
        source = _html(kind)
        assert build_html.synced(source) == source, f"{kind}: run templates/build_html.py"
        assert "font-family" not in source.split("shared.css:end")[1], f"{kind}: one font family"


@pytest.mark.parametrize("kind", HTML_KINDS)
def test_pdf_has_number_date_parties_and_totals(kind: str, issued_texts: dict[str, str]) -> None:
    text = issued_texts[kind]
    assert NUMBER in text
    assert DATE_LONG in text
    seller, buyer = (SELLER_FULL, BUYER_FULL) if kind == "vat_invoice" else (SELLER, BUYER)
    assert seller in text
    assert buyer in text, "the buyer name must survive escaping: & and <> as typed"
    assert "&amp;" not in text and "&lt;" not in text
    assert "7707083893" in text
    assert "5408131553" in text
    assert TOTAL in text
    assert "ОБРАЗЕЦ" not in text  # the preview mark belongs to previews only


@pytest.mark.parametrize("kind", ["invoice", "act", "vat_invoice", "contract", "application"])
def test_pdf_has_vat_amount(kind: str, issued_texts: dict[str, str]) -> None:
    text = issued_texts[kind]
    assert VAT in text
    assert "22%" in text


@pytest.mark.parametrize("kind", ["invoice", "act", "contract", "application"])
def test_pdf_has_amount_in_words(kind: str, issued_texts: dict[str, str]) -> None:
    assert WORDS in issued_texts[kind]


def test_invoice_layout_essentials(issued_texts: dict[str, str]) -> None:
    text = issued_texts["invoice"]
    for needle in (
        "Счёт на оплату № " + NUMBER,
        "ПАО Сбербанк",
        "044525225",
        "30101810400000000225",
        "40702810400000012345",
        "Поставщик",
        "Покупатель",
        "Основание: Договор № 128/26 от 20 ноября 2026 г.",
        "Итого:",
        "В том числе НДС 22%: " + VAT,
        "Всего к оплате: " + TOTAL,
        "Всего наименований 3, на сумму " + TOTAL + " руб.",
        "Оплатить не позднее 28.11.2026",
        "Руководитель",
        "Бухгалтер",
        "Смирнова Е. В.",
        "Козлова И. П.",
    ):
        assert needle in text, needle


def test_act_has_the_mandatory_requisites(issued_texts: dict[str, str]) -> None:
    text = issued_texts["act"]
    for needle in (
        "Акт № " + NUMBER + " от " + DATE_LONG,
        "об оказании услуг",
        "Исполнитель",
        "Заказчик",
        "Наименование работ, услуг",
        "Всего оказано услуг 3, на сумму " + TOTAL,
        "выполнены полностью и в срок",
        "претензий",
        "Генеральный директор",
        "Смирнова Е. В.",
        "должность",
        "подпись",
        "счёт на оплату № 57",
    ):
        assert needle in text, needle


def test_vat_invoice_form_lines_and_columns(issued_texts: dict[str, str]) -> None:
    text = issued_texts["vat_invoice"]
    for mark in (
        "(1)",
        "(1а)",
        "(2)",
        "(2а)",
        "(2б)",
        "(3)",
        "(4)",
        "(5)",
        "(5а)",
        "(5б)",
        "(6)",
        "(6а)",
        "(6б)",
        "(7)",
        "(8)",
    ):
        assert mark in text, mark
    assert "Российский рубль, 643" in text
    assert "Документ об отгрузке: № п/п 1–3 № 31 от 23.11.2026" in text
    assert "7707083893/773601001" in text and "5408131553/540801001" in text
    assert "1 1а 1б 2 2а 3 4 5 6 7 8 9 10 10а 11" in text
    assert "Без акциза" in text and "055" in text and "796" in text and "876" in text
    assert "Всего к оплате (9)" in text and "209 836,06" in text
    assert "Главный бухгалтер" in text and "Индивидуальный предприниматель" in text
    assert "ИСПРАВЛЕНИЕ № --" in text


@pytest.mark.parametrize("kind", ["marketing_manual", "technical_manual"])
def test_manuals_read_only_the_project(kind: str) -> None:
    """packages.manual_pdf fills only `project` (the rest is demo data): nothing else may leak."""
    _errors, report = check_html_template(_html(kind), KNOWN_PATHS)
    assert {p.split(".")[0] for p in report.used} <= {"project", "doc"}


@pytest.mark.parametrize("kind", ["marketing_manual", "technical_manual"])
def test_manuals_render_with_project_dates(kind: str, issued_texts: dict[str, str]) -> None:
    text = issued_texts[kind]
    assert "Волга-Пром 2027" in text
    assert "12 марта 2027 г." in text
    assert "руководство участника" in text


def test_checklist_has_dates_payment_and_steps(issued_texts: dict[str, str]) -> None:
    text = issued_texts["checklist"]
    for needle in (
        "Contract Check List",
        "10 марта 2027 г.",
        "12 марта 2027 г.",
        "15 марта 2027 г.",
        "16 марта 2027 г.",
        "28 ноября 2026 г.",
        "A-12",
        "Орлова Мария Сергеевна",
        "Подписать договор",
        "Оплатить счёт № 57",
        "каталог",
        "бейджи",
        "Техническое руководство",
    ):
        assert needle in text, needle


def test_contract_has_appendix_and_sections(issued_texts: dict[str, str]) -> None:
    text = issued_texts["contract"]
    for needle in (
        "ДОГОВОР № " + NUMBER,
        "«23» ноября 2026 г.",
        "Предмет договора",
        "Стоимость услуг и порядок расчётов",
        "Ответственность сторон",
        "непреодолимой силы",
        "Адреса, реквизиты и подписи сторон",
        "Приложение № 1 к договору № " + NUMBER + " от " + DATE_LONG,
        "СПЕЦИФИКАЦИЯ",
        "БИК 044525225",
        "12–15 марта 2027 г.",
    ):
        assert needle in text, needle


@pytest.mark.parametrize("kind", HTML_KINDS)
def test_without_vat(kind: str, no_vat_texts: dict[str, str]) -> None:
    text = no_vat_texts[kind]
    assert TOTAL in text
    assert "22%" not in text
    if kind == "vat_invoice":
        assert "без НДС" in text
    else:
        assert NO_VAT in text


@pytest.mark.parametrize("kind", HTML_KINDS)
def test_rate_follows_the_document_date(kind: str, texts_2025: dict[str, str]) -> None:
    text = texts_2025[kind]
    assert "20%" in text
    assert "22%" not in text
    assert "1 декабря 2025 г." in text


def test_preview_shows_the_sample_mark() -> None:
    text = _pdf_text(render_template_pdf(_html("invoice"), demo_context("invoice")))
    assert "ОБРАЗЕЦ" in text


def test_branches_render_strictly() -> None:
    """Sole-trader seller, corrections, advances, a buyer that is a sole trader, no basis."""
    vat = _issued("vat_invoice")
    vat["seller"].update(
        is_sole_trader=True,
        kpp="",
        ogrn="304500116000157",
        full_name="Индивидуальный предприниматель Смирнова Елена Викторовна",
    )
    vat["doc"].update(
        correction_no="1",
        correction_date=dt.date(2026, 11, 25),
        corrects={"number": "ЭВ-0017", "date": dt.date(2026, 11, 20)},
    )
    vat["advances"] = [
        {"number": "10", "date": dt.date(2026, 2, 16)},
        {"number": "12", "date": dt.date(2026, 3, 1)},
    ]
    text = _pdf_text(render_template_pdf(_html("vat_invoice"), vat))
    assert "ОГРНИП 304500116000157" in text
    assert "№ 10 от 16.02.2026; № 12 от 01.03.2026" in text
    assert "ИСПРАВЛЕНИЕ № 1" in text and "25 ноября 2026 г." in text
    assert "СЧЕТ-ФАКТУРА № ЭВ-0017 от 20 ноября 2026 г." in text  # line 1 keeps the original

    contract = _issued("contract")
    contract["buyer"].update(
        kind="sole_trader",
        kpp="",
        name="ИП Петров С. А.",
        full_name="Индивидуальный предприниматель Петров Сергей Андреевич",
    )
    text = _pdf_text(render_template_pdf(_html("contract"), contract))
    assert "Индивидуальный предприниматель Петров Сергей Андреевич (ОГРНИП" in text

    act = _issued("act")
    act.update(contract=None, invoice=None)
    text = _pdf_text(render_template_pdf(_html("act"), act))
    assert "Основание" not in text


# --- DOCX twins --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", DOCX_NAMES)
def test_docx_template_passes_the_upload_check(kind: str) -> None:
    check = check_docx_template(_docx(kind), KNOWN_PATHS)
    assert check.errors == []
    assert check.placeholders.unknown == set()
    assert check.ok


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    parts += [p.text for s in document.sections for p in s.footer.paragraphs]
    return _norm("\n".join(parts))


@pytest.mark.parametrize("kind", DOCX_NAMES)
def test_docx_renders_and_reopens(kind: str, rendered_docx: dict[str, bytes]) -> None:
    text = _docx_text(rendered_docx[kind])
    assert BUYER in text
    assert "{{" not in text and "{%" not in text and "&amp;" not in text
    assert TOTAL in text
    assert "ОБРАЗЕЦ" not in text
    if kind != "checklist":
        assert NUMBER in text and DATE_LONG in text
        assert WORDS in text


def test_docx_lines_are_repeated(rendered_docx: dict[str, bytes]) -> None:
    text = _docx_text(rendered_docx["contract"])
    for needle in (
        "Стенд A-12, линейный",
        "Дополнительная розетка 220 В",
        "Регистрационный сбор",
        "Приложение № 1",
        "СПЕЦИФИКАЦИЯ",
        "Договор № " + NUMBER,
    ):
        assert needle in text, needle


def _docx_texts(data: bytes) -> dict[str, str]:
    """Text of each word/*.xml part: tolerant of how a python-docx/lxml version serialises."""
    w_t = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: "".join(el.text or "" for el in etree.fromstring(archive.read(name)).iter(w_t))
            for name in archive.namelist()
            if name.startswith("word/") and name.endswith(".xml")
        }


def test_shipped_docx_files_match_the_build_script() -> None:
    build_docx = _load("build_docx")
    for name, data in build_docx.build_all().items():
        shipped = (TEMPLATES / "docx" / name).read_bytes()
        assert _docx_texts(shipped) == _docx_texts(data), f"{name}: run templates/build_docx.py"


def test_docx_without_vat_renders() -> None:
    text = _docx_text(render_docx(_docx("contract"), _no_vat("contract")))
    assert NO_VAT in text


def test_contract_docx_converts_with_libreoffice(
    rendered_docx: dict[str, bytes], tmp_path: Path
) -> None:
    soffice = _need("soffice")
    source = tmp_path / "contract.docx"
    source.write_bytes(rendered_docx["contract"])
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    pdf = tmp_path / "contract.pdf"
    assert pdf.exists(), "LibreOffice produced no PDF"
    text = _pdf_text(pdf.read_bytes())
    assert BUYER in text
    assert "СПЕЦИФИКАЦИЯ" in text
