"""Build the editable DOCX twins of the application, contract and check list (docxtpl syntax).

    .venv/bin/python templates/build_docx.py           # writes templates/docx/*.docx
    .venv/bin/python templates/build_docx.py --check   # exit 1 if a shipped file is out of date

The texts mirror templates/html/{application,contract,checklist}.html; change both when a wording
changes. Every paragraph is written as ONE run, so no Jinja tag is ever split across runs (the
classic docxtpl pitfall when a template is typed in Word). Table rows repeat with docxtpl's
`{%tr for line in lines %}` … `{%tr endfor %}` rows; optional paragraphs use `{%p if … %}`.
The placeholders are those of erp_crm/sales_documents/schema.py (PLACEHOLDERS).

The output is reproducible (fixed ZIP timestamps and document properties), so rebuilding without a
change leaves the committed files byte-identical.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell

OUT = Path(__file__).resolve().parent / "docx"
FONT = "Arial"  # metric-compatible with Liberation Sans, which LibreOffice substitutes
FIXED_TIME = datetime(2026, 1, 1)
ZIP_TIME = (2026, 1, 1, 0, 0, 0)

LEFT, CENTER, RIGHT, JUSTIFY = (
    WD_ALIGN_PARAGRAPH.LEFT,
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.RIGHT,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
)
NO_VAT = "Без налога (НДС)"
# Column heads: net prices («НДС сверху») say so.
PRICE_HEAD = "Цена{% if totals.vat_on_top %} без НДС{% endif %}, руб."
AMOUNT_HEAD = "Сумма{% if totals.vat_on_top %} без НДС{% endif %}, руб."


# --- building blocks -------------------------------------------------------------------------


def new_document(title: str) -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(20), Mm(15)
    section.top_margin, section.bottom_margin = Mm(15), Mm(15)
    section.footer_distance = Mm(8)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(3), 1.0
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, "ERP CRM", "ERP CRM"
    props.created = props.modified = FIXED_TIME
    props.revision = 1
    props.comments = ""
    return doc


def para(
    container,
    text: str = "",
    *,
    bold: bool = False,
    size: float | None = None,
    align=None,
    after: float | None = None,
    before: float | None = None,
    keep_next: bool = False,
    page_break: bool = False,
    first: bool = False,
):
    """A paragraph whose whole text is one run. `first` reuses a cell's initial paragraph."""
    paragraph = container.paragraphs[0] if first else container.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        if bold:
            run.bold = True
        if size:
            run.font.size = Pt(size)
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if after is not None:
        fmt.space_after = Pt(after)
    if before is not None:
        fmt.space_before = Pt(before)
    if keep_next:
        fmt.keep_with_next = True
    if page_break:
        fmt.page_break_before = True
    return paragraph


def heading(doc, text: str, *, align=CENTER) -> None:
    para(doc, text, bold=True, size=10.5, align=align, before=8, after=3, keep_next=True)


def clause(doc, text: str) -> None:
    para(doc, text, align=JUSTIFY, after=2)


def _shade(cell: _Cell, fill: str = "F2F2F2") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def table(doc, widths_mm: Sequence[float], *, grid: bool = True) -> Table:
    t = doc.add_table(rows=0, cols=len(widths_mm))
    if grid:
        t.style = doc.styles["Table Grid"]
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    t.autofit = False
    for column, width in zip(t.columns, widths_mm, strict=True):
        column.width = Mm(width)
    return t


def row(
    t: Table,
    texts: Sequence[str],
    *,
    bold: bool = False,
    size: float = 9,
    aligns: Sequence | None = None,
    shade: bool = False,
    header: bool = False,
):
    r = t.add_row()
    for i, (cell, text) in enumerate(zip(r.cells, texts, strict=True)):
        cell.width = t.columns[i].width
        align = aligns[i] if aligns else None
        para(cell, text, bold=bold, size=size, align=align, before=1, after=1, first=True)
        if shade:
            _shade(cell)
    if header:
        _repeat_header(r)
    return r


def tr_tag(t: Table, tag: str) -> None:
    """A row that holds only a docxtpl `{%tr … %}` tag (docxtpl replaces the whole row by it)."""
    r = t.add_row()
    for i, cell in enumerate(r.cells):
        cell.width = t.columns[i].width
        para(cell, tag if i == 0 else "", size=9, after=0, first=True)


def cell_lines(cell: _Cell, lines: Sequence[str | tuple[str, bool]], size: float = 9) -> None:
    """Several one-run paragraphs in a cell; an item may be (text, bold)."""
    for i, item in enumerate(lines):
        text, bold = (item, False) if isinstance(item, str) else item
        para(cell, text, bold=bold, size=size, after=1, first=(i == 0))


def lines_table(doc, *, with_vat: bool = False) -> None:
    if with_vat:
        widths = (8, 50, 17, 17, 21, 17, 21, 24)
        head = (
            "№",
            "Наименование услуги",
            "Ед.",
            "Кол-во",
            PRICE_HEAD,
            "Ставка НДС",
            "Сумма НДС, руб.",
            AMOUNT_HEAD,
        )
        cells = (
            "{{ line.no }}",
            "{{ line.description }}",
            "{{ line.unit }}",
            "{{ line.quantity|quantity }}",
            "{{ (line.net_price if totals.vat_on_top else line.price)|amount }}",
            "{{ line.vat_rate }}",
            '{% if line.vat_rate == "Без НДС" %}—{% else %}{{ line.vat_amount|amount }}{% endif %}',
            "{{ (line.net_amount if totals.vat_on_top else line.amount)|amount }}",
        )
        aligns = (CENTER, LEFT, CENTER, RIGHT, RIGHT, CENTER, RIGHT, RIGHT)
    else:
        widths = (8, 87, 17, 17, 22, 24)
        head = ("№", "Наименование", "Ед.", "Кол-во", PRICE_HEAD, AMOUNT_HEAD)
        cells = (
            "{{ line.no }}",
            "{{ line.description }}",
            "{{ line.unit }}",
            "{{ line.quantity|quantity }}",
            "{{ (line.net_price if totals.vat_on_top else line.price)|amount }}",
            "{{ (line.net_amount if totals.vat_on_top else line.amount)|amount }}",
        )
        aligns = (CENTER, LEFT, CENTER, RIGHT, RIGHT, RIGHT)
    t = table(doc, widths)
    row(t, head, bold=True, aligns=[CENTER] * len(head), shade=True, header=True)
    tr_tag(t, "{%tr for line in lines %}")
    row(t, cells, aligns=aligns)
    tr_tag(t, "{%tr endfor %}")


def totals(doc, *, words_line: str) -> None:
    # Net prices («НДС сверху»): «Итого без НДС / НДС 22% / Всего к оплате»; otherwise the gross
    # total and the VAT it includes.
    para(
        doc,
        "{% if totals.vat_on_top %}Итого без НДС: {{ totals.net_amount|amount }}"
        "{% else %}Итого: {{ totals.amount|amount }}{% endif %}",
        bold=True,
        align=RIGHT,
        before=3,
        after=1,
    )
    para(
        doc,
        "{% if totals.vat_on_top %}{% for r in totals.by_rate %}{{ r.label }}: "
        f'{{% if r.rate == "Без НДС" %}}—{{% else %}}{{{{ r.vat_amount|amount }}}}{{% endif %}}'
        "{% if not loop.last %}; {% endif %}{% endfor %}"
        f'{{% elif totals.vat_label == "{NO_VAT}" %}}{NO_VAT}: —{{% else %}}'
        "{{ totals.vat_text }}{% endif %}",
        bold=True,
        align=RIGHT,
        after=4,
    )
    para(doc, "{%p if totals.vat_on_top %}", after=0)
    para(doc, "Всего к оплате: {{ totals.amount|amount }}", bold=True, align=RIGHT, after=4)
    para(doc, "{%p endif %}", after=0)
    para(doc, words_line, after=1)
    para(doc, "{{ totals.words }}", bold=True, after=4)


def add_page_footer(doc, text: str) -> None:
    """Footer: `text` (one run, may hold placeholders) + «стр. PAGE из NUMPAGES» fields."""
    footer = doc.sections[0].footer
    paragraph = footer.paragraphs[0]
    paragraph.alignment = RIGHT
    run = paragraph.add_run(text + "   стр. ")
    run.font.size = Pt(7.5)
    for i, field in enumerate(("PAGE", "NUMPAGES")):
        if i:
            sep = paragraph.add_run(" из ")
            sep.font.size = Pt(7.5)
        simple = OxmlElement("w:fldSimple")
        simple.set(qn("w:instr"), field)
        inner = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        sz = OxmlElement("w:sz")
        sz.set(qn("w:val"), "15")
        rpr.append(sz)
        inner.append(rpr)
        text_el = OxmlElement("w:t")
        text_el.text = "1"
        inner.append(text_el)
        simple.append(inner)
        paragraph._p.append(simple)


def sign_block(
    cell: _Cell, *, position: str, signer: str, mp: str, title: str = "", name_line: str = ""
) -> None:
    """Party, organisation, position, «____ / Фамилия И. О. /», М.П. — one run per paragraph."""
    texts: list[tuple[str, bool, float, float]] = []
    if title:
        texts.append((title, True, 9, 1))
    if name_line:
        texts.append((name_line, False, 9, 1))
    texts.append((position, False, 9, 10))
    texts += [
        ("______________________ / " + signer + " /", False, 9, 0),
        ("подпись", False, 6.5, 4),
        (mp, True, 9, 0),
    ]
    for i, (text, bold, size, after) in enumerate(texts):
        para(cell, text, bold=bold, size=size, after=after, first=(i == 0))


SELLER_POSITION = (
    "{% if seller.is_sole_trader %}Индивидуальный предприниматель{% else %}"
    "{{ seller.director_position }}{% endif %}"
)
SELLER_MP = "{% if not seller.is_sole_trader %}М.П.{% endif %}"
BUYER_MP = '{% if buyer.kind == "legal" %}М.П.{% endif %}'
PREVIEW_MARK = "{%p if doc.is_preview %}"


def preview_mark(doc) -> None:
    para(doc, PREVIEW_MARK, after=0)
    para(doc, "ОБРАЗЕЦ", size=8, align=RIGHT, after=0)
    para(doc, "{%p endif %}", after=0)


# --- the three documents ---------------------------------------------------------------------


def build_application() -> Document:
    doc = new_document("Заявка на участие в выставке")
    preview_mark(doc)
    para(doc, "Организатор: {{ seller.name }}", bold=True, size=9, after=0)
    para(
        doc,
        "ИНН {{ seller.inn }}{% if seller.kpp %}, КПП {{ seller.kpp }}{% endif %}, "
        "{{ seller.address }}{% if seller.phone %}, тел.: {{ seller.phone }}{% endif %}"
        "{% if seller.email %}, e-mail: {{ seller.email }}{% endif %}",
        size=8,
        after=8,
    )
    para(
        doc,
        "ЗАЯВКА № {{ doc.number }} от {{ doc.date|date_long }}",
        bold=True,
        size=13,
        align=CENTER,
        after=2,
    )
    para(doc, "на участие в выставке «{{ project.name }}»", bold=True, align=CENTER, after=0)
    para(
        doc,
        "{{ project.period }}, {{ project.venue }}, г. {{ project.city }}",
        align=CENTER,
        after=0,
    )
    para(doc, "{%p if contract %}", after=0)
    para(
        doc,
        "к договору № {{ contract.number }} от {{ contract.date|date_long }}",
        align=CENTER,
        after=0,
    )
    para(doc, "{%p endif %}", after=0)

    heading(doc, "1. Сведения об экспоненте", align=LEFT)
    t = table(doc, (50, 125))
    for label, value in (
        ("Полное наименование", "{{ buyer.full_name }}"),
        ("Краткое наименование", "{{ buyer.name }}"),
        ("ИНН / КПП", "{{ buyer.inn }}{% if buyer.kpp %} / {{ buyer.kpp }}{% endif %}"),
        ('{% if buyer.kind == "sole_trader" %}ОГРНИП{% else %}ОГРН{% endif %}', "{{ buyer.ogrn }}"),
        ("Юридический адрес", "{{ buyer.address }}"),
        ("Почтовый адрес", "{{ buyer.postal_address }}"),
        (
            "Телефон / e-mail",
            "{{ buyer.phone }}{% if buyer.email %} / {{ buyer.email }}{% endif %}",
        ),
        ("Сайт", "{{ buyer.website }}"),
    ):
        row(t, (label, value))

    heading(doc, "2. Контактное лицо по участию", align=LEFT)
    t = table(doc, (50, 125))
    for label, value in (
        ("Фамилия, имя, отчество", "{{ buyer.contact_name }}"),
        ("Должность", "{{ buyer.contact_position }}"),
        (
            "Телефон / e-mail",
            "{{ buyer.contact_phone }}"
            "{% if buyer.contact_email %} / {{ buyer.contact_email }}{% endif %}",
        ),
    ):
        row(t, (label, value))

    heading(doc, "3. Стенд, выставочная площадь и услуги", align=LEFT)
    para(
        doc,
        "Стенд: {{ deal.stands }}, общая площадь {{ deal.area_m2|quantity }} м²."
        "{% if deal.discount_text %} Скидка: {{ deal.discount_text }}.{% endif %}",
    )
    lines_table(doc)
    totals(doc, words_line="Итого к оплате: {{ totals.amount|amount }} руб.")

    heading(doc, "4. Условия", align=LEFT)
    clause(
        doc,
        "Экспонент подтверждает своё участие в выставке «{{ project.name }}» на указанных "
        "выше условиях, обязуется оплатить участие{% if payment %} в течение "
        "{{ payment.days }} банковских дней с даты выставления счёта{% endif %}, соблюдать "
        "Условия участия, Техническое руководство участника и правила пожарной безопасности "
        "выставочного комплекса, выполнить монтаж стенда {{ project.build_up_date|date_long }} "
        "и демонтаж — {{ project.dismantling_date|date_long }}",
    )
    clause(
        doc,
        "Заявка является неотъемлемой частью договора на участие в выставке"
        "{% if contract %} № {{ contract.number }} от {{ contract.date|date_long }}"
        "{% endif %}; подписанная заявка, переданная по электронной почте, имеет силу до "
        "обмена оригиналами.",
    )

    para(doc, "Руководитель экспонента", bold=True, before=10, after=12, keep_next=True)
    t = table(doc, (62, 45, 68), grid=False)
    row(
        t,
        ("______________________________", "___________________", "______________________________"),
        aligns=[CENTER] * 3,
    )
    row(t, ("должность", "подпись", "фамилия, инициалы"), size=6.5, aligns=[CENTER] * 3)
    row(t, ("М.П.", "", "«___» ____________ 20___ г."), bold=True, aligns=(LEFT, LEFT, RIGHT))
    para(doc, "", after=8)
    para(
        doc,
        "Заявку принял (организатор): менеджер {{ deal.manager_name }}"
        "{% if deal.manager_email %}, {{ deal.manager_email }}{% endif %}, "
        "сделка № {{ deal.id }}.",
        size=8,
    )
    return doc


def build_contract() -> Document:
    doc = new_document("Договор на участие в выставке")
    add_page_footer(doc, "Договор № {{ doc.number }} от {{ doc.date|date_short }}")
    preview_mark(doc)
    para(doc, "ДОГОВОР № {{ doc.number }}", bold=True, size=13, align=CENTER, after=1)
    para(doc, "на участие в выставке «{{ project.name }}»", bold=True, align=CENTER, after=8)
    t = table(doc, (87, 88), grid=False)
    row(t, ("г. {{ project.city }}", "{{ doc.date|date_quoted }}"), size=10, aligns=(LEFT, RIGHT))
    para(doc, "", after=4)
    clause(
        doc,
        "{% if seller.is_sole_trader %}{{ seller.full_name }} (ОГРНИП {{ seller.ogrn }}), "
        "именуемый в дальнейшем «Исполнитель», с одной стороны, {% else %}"
        "{{ seller.full_name }}, именуемое в дальнейшем «Исполнитель», от имени которого на "
        "основании Устава действует {{ seller.director_position }} {{ seller.director_name }}, "
        "с одной стороны, {% endif %}и "
        '{% if buyer.kind == "sole_trader" %}{{ buyer.full_name }} (ОГРНИП {{ buyer.ogrn }}), '
        "именуемый в дальнейшем «Заказчик», с другой стороны, "
        '{% elif buyer.kind == "person" %}{{ buyer.full_name }}, именуемый(ая) в дальнейшем '
        "«Заказчик», с другой стороны, {% else %}{{ buyer.full_name }}, именуемое в дальнейшем "
        "«Заказчик», от имени которого действует ____________________ на основании "
        "____________, с другой стороны, {% endif %}совместно именуемые «Стороны», "
        "заключили настоящий договор (далее — Договор) о нижеследующем.",
    )

    heading(doc, "1. Предмет договора")
    clause(
        doc,
        "1.1. Исполнитель обязуется оказать Заказчику услуги по организации участия "
        "Заказчика в качестве экспонента в выставке «{{ project.name }}» (далее — Выставка), "
        "а Заказчик обязуется принять и оплатить эти услуги на условиях Договора.",
    )
    clause(
        doc,
        "1.2. Сроки и место проведения Выставки: {{ project.period }}, {{ project.venue }}, "
        "г. {{ project.city }}. Монтаж стендов — {{ project.build_up_date|date_long }}, "
        "демонтаж — {{ project.dismantling_date|date_long }}",
    )
    clause(
        doc,
        "1.3. Заказчику предоставляется выставочная площадь (стенд): {{ deal.stands }}, "
        "общей площадью {{ deal.area_m2|quantity }} м². Перечень, объём и стоимость услуг "
        "указаны в Спецификации (Приложение № 1), которая является неотъемлемой частью "
        "Договора.",
    )
    clause(
        doc,
        "1.4. Услуги оказываются в соответствии с Условиями участия, Техническим и "
        "Маркетинговым руководствами участника Выставки, которые Заказчик получил и с которыми "
        "ознакомлен.",
    )

    heading(doc, "2. Стоимость услуг и порядок расчётов")
    clause(
        doc,
        "2.1. Стоимость услуг по Договору составляет {{ totals.amount|amount }} руб. "
        f'({{{{ totals.words }}}}). {{% if totals.vat_label == "{NO_VAT}" %}}{NO_VAT}.'
        "{% else %}{{ totals.vat_text }}{% endif %}"
        "{% if deal.discount_text %} Стоимость указана с учётом скидки: "
        "{{ deal.discount_text }}.{% endif %}",
    )
    clause(
        doc,
        "2.2. Заказчик оплачивает 100 % стоимости услуг на основании счёта Исполнителя в "
        "течение {% if payment %}{{ payment.days }}{% else %}5{% endif %} банковских дней с "
        "даты его выставления, но не позднее чем за 14 календарных дней до начала монтажа.",
    )
    clause(
        doc,
        "2.3. Обязательство Заказчика по оплате считается исполненным с момента зачисления "
        "денежных средств на расчётный счёт Исполнителя. Дополнительные услуги, заказанные "
        "после подписания Договора, оплачиваются по отдельным счетам.",
    )

    heading(doc, "3. Права и обязанности сторон")
    for text in (
        "3.1. Исполнитель обязуется:",
        "3.1.1. предоставить Заказчику выставочную площадь (стенд), указанную в п. 1.3, на "
        "период монтажа, проведения и демонтажа Выставки;",
        "3.1.2. оказать услуги, указанные в Спецификации, качественно и в срок;",
        "3.1.3. обеспечить общую охрану выставочной территории в часы, когда Выставка закрыта "
        "для посетителей, и уборку общих зон;",
        "3.1.4. включить сведения о Заказчике в официальный каталог Выставки при условии их "
        "предоставления в срок, установленный Маркетинговым руководством;",
        "3.1.5. по окончании Выставки передать Заказчику акт об оказании услуг и счёт-фактуру.",
        "3.2. Заказчик обязуется:",
        "3.2.1. оплатить услуги в порядке и в сроки, установленные разделом 2 Договора;",
        "3.2.2. соблюдать Техническое руководство участника, правила пожарной безопасности и "
        "охраны труда выставочного комплекса;",
        "3.2.3. выполнить монтаж в установленное время и по окончании демонтажа "
        "({{ project.dismantling_date|date_long }}) освободить площадь в исходном состоянии;",
        "3.2.4. не передавать площадь третьим лицам без письменного согласия Исполнителя;",
        "3.2.5. в течение 5 рабочих дней с даты получения акта подписать его или направить "
        "Исполнителю мотивированный отказ.",
        "3.3. Исполнитель вправе не допустить Заказчика к монтажу до полной оплаты услуг.",
    ):
        clause(doc, text)

    heading(doc, "4. Сдача и приёмка услуг")
    clause(
        doc, "4.1. Оказание услуг подтверждается актом об оказании услуг, подписанным Сторонами."
    )
    clause(
        doc,
        "4.2. Если в течение 5 рабочих дней с даты получения акта Заказчик не подписал его "
        "и не направил мотивированный отказ, услуги считаются оказанными надлежащим образом и "
        "принятыми Заказчиком.",
    )

    heading(doc, "5. Ответственность сторон")
    clause(
        doc,
        "5.1. За неисполнение или ненадлежащее исполнение обязательств Стороны несут "
        "ответственность в соответствии с законодательством Российской Федерации.",
    )
    clause(
        doc,
        "5.2. За просрочку оплаты Исполнитель вправе потребовать от Заказчика уплаты "
        "неустойки в размере 0,1 % от неоплаченной суммы за каждый день просрочки, но не более "
        "10 % от стоимости услуг.",
    )
    clause(
        doc,
        "5.3. Заказчик вправе отказаться от участия в Выставке, письменно уведомив "
        "Исполнителя и оплатив фактически понесённые Исполнителем расходы. Стороны "
        "согласились, что при отказе менее чем за 60 дней до открытия Выставки такие расходы "
        "составляют 50 %, менее чем за 30 дней — 100 % стоимости услуг.",
    )
    clause(
        doc,
        "5.4. Заказчик возмещает ущерб, причинённый имуществу выставочного комплекса и "
        "третьих лиц его работниками и подрядчиками. Исполнитель не отвечает за сохранность "
        "экспонатов и имущества Заказчика на стенде в часы работы Выставки.",
    )

    heading(doc, "6. Обстоятельства непреодолимой силы")
    clause(
        doc,
        "6.1. Стороны освобождаются от ответственности за неисполнение обязательств, если "
        "оно вызвано обстоятельствами непреодолимой силы, возникшими после заключения Договора "
        "(стихийные бедствия, пожар, эпидемии, военные действия, акты органов власти, "
        "запрещающие или ограничивающие проведение массовых мероприятий).",
    )
    clause(
        doc,
        "6.2. Сторона, для которой исполнение стало невозможным, уведомляет другую Сторону "
        "в течение 5 рабочих дней с момента наступления таких обстоятельств и подтверждает их "
        "документом компетентного органа.",
    )
    clause(
        doc,
        "6.3. При переносе Выставки по таким обстоятельствам оплаченные суммы засчитываются "
        "в оплату участия в перенесённой Выставке либо, по соглашению Сторон, возвращаются "
        "Заказчику за вычетом фактически понесённых Исполнителем расходов.",
    )

    heading(doc, "7. Срок действия договора и разрешение споров")
    clause(
        doc,
        "7.1. Договор вступает в силу с момента подписания и действует до полного "
        "исполнения Сторонами своих обязательств.",
    )
    clause(
        doc,
        "7.2. Споры разрешаются путём переговоров. Претензионный порядок обязателен, срок "
        "ответа на претензию — 10 рабочих дней. Не урегулированный спор передаётся в "
        "арбитражный суд по месту нахождения Исполнителя.",
    )

    heading(doc, "8. Заключительные положения")
    clause(
        doc,
        "8.1. Договор составлен в двух экземплярах, имеющих равную юридическую силу, по "
        "одному для каждой из Сторон.",
    )
    clause(
        doc,
        "8.2. Документы, подписанные и переданные по электронной почте с адресов, "
        "указанных в разделе 9, или через оператора электронного документооборота, имеют силу "
        "до обмена оригиналами.",
    )
    clause(doc, "8.3. Приложение: № 1 — Спецификация.")

    heading(doc, "9. Адреса, реквизиты и подписи сторон")
    t = table(doc, (87, 88), grid=False)
    r = t.add_row()
    left, right = r.cells
    cell_lines(
        left,
        (
            ("Исполнитель", True),
            ("{{ seller.name }}", True),
            "ИНН {{ seller.inn }}{% if seller.kpp %}, КПП {{ seller.kpp }}{% endif %}",
            "{% if seller.is_sole_trader %}ОГРНИП{% else %}ОГРН{% endif %} {{ seller.ogrn }}",
            "Адрес: {{ seller.address }}",
            "Почтовый адрес: {{ seller.postal_address }}",
            "Тел.: {{ seller.phone }}, e-mail: {{ seller.email }}",
            "Р/с {{ seller.account }}",
            "в {{ seller.bank_name }}",
            "БИК {{ seller.bik }}, к/с {{ seller.corr_account }}",
        ),
    )
    cell_lines(
        right,
        (
            ("Заказчик", True),
            ("{{ buyer.name }}", True),
            "{% if buyer.inn %}ИНН {{ buyer.inn }}{% endif %}"
            "{% if buyer.kpp %}, КПП {{ buyer.kpp }}{% endif %}",
            '{% if buyer.ogrn %}{% if buyer.kind == "sole_trader" %}ОГРНИП'
            "{% else %}ОГРН{% endif %} {{ buyer.ogrn }}{% endif %}",
            "Адрес: {{ buyer.address }}",
            "Почтовый адрес: {{ buyer.postal_address }}",
            "Тел.: {{ buyer.phone }}, e-mail: {{ buyer.email }}",
            "Р/с ______________________________",
            "в ________________________________",
            "БИК ____________, к/с ________________________",
        ),
    )
    r = t.add_row()
    left, right = r.cells
    sign_block(
        left, position=SELLER_POSITION, signer="{{ seller.director_name|initials }}", mp=SELLER_MP
    )
    sign_block(
        right, position="______________________________", signer="______________", mp=BUYER_MP
    )
    for cell in (*t.rows[0].cells, *t.rows[1].cells):
        cell.width = Mm(87)

    # Appendix 1: the specification, on a new page.
    para(doc, "Приложение № 1", align=RIGHT, after=0, page_break=True)
    para(doc, "к договору № {{ doc.number }} от {{ doc.date|date_long }}", align=RIGHT, after=10)
    para(doc, "СПЕЦИФИКАЦИЯ", bold=True, size=13, align=CENTER, after=1)
    para(doc, "услуг по участию в выставке «{{ project.name }}»", bold=True, align=CENTER, after=0)
    para(
        doc,
        "{{ project.period }}, {{ project.venue }}, г. {{ project.city }}",
        bold=True,
        align=CENTER,
        after=8,
    )
    para(doc, "Стенд: {{ deal.stands }}, общая площадь {{ deal.area_m2|quantity }} м².")
    lines_table(doc, with_vat=True)
    totals(
        doc, words_line="Всего услуг {{ totals.count }} на сумму {{ totals.amount|amount }} руб."
    )
    t = table(doc, (87, 88), grid=False)
    r = t.add_row()
    left, right = r.cells
    sign_block(
        left,
        title="Исполнитель",
        name_line="{{ seller.name }}",
        position=SELLER_POSITION,
        signer="{{ seller.director_name|initials }}",
        mp=SELLER_MP,
    )
    sign_block(
        right,
        title="Заказчик",
        name_line="{{ buyer.name }}",
        position="______________________________",
        signer="______________",
        mp=BUYER_MP,
    )
    for cell in r.cells:
        cell.width = Mm(87)
    return doc


def build_checklist() -> Document:
    doc = new_document("Contract Check List")
    preview_mark(doc)
    para(doc, "Contract Check List", bold=True, size=15, after=1)
    para(
        doc,
        "Памятка экспонента № {{ doc.number }} от {{ doc.date|date_long }} — выставка "
        "«{{ project.name }}», {{ project.period }}",
        after=2,
    )
    para(doc, "Экспонент: {{ buyer.name }}, ИНН {{ buyer.inn }}", bold=True, size=10.5, after=6)

    t = table(doc, (30, 56, 30, 59))
    pairs = (
        ("Контактное лицо", "{{ buyer.contact_name }}", "Выставка", "{{ project.name }}"),
        (
            "Телефон",
            "{{ buyer.contact_phone }}",
            "Место",
            "{{ project.venue }}, г. {{ project.city }}",
        ),
        ("E-mail", "{{ buyer.contact_email }}", "Сроки", "{{ project.period }}"),
        ("Сделка", "№ {{ deal.id }}", "Стенд", "{{ deal.stands }}"),
        (
            "Договор",
            "{% if contract %}№ {{ contract.number }} от "
            "{{ contract.date|date_short }}{% else %}—{% endif %}",
            "Площадь",
            "{{ deal.area_m2|quantity }} м²",
        ),
        (
            "Счёт",
            "{% if invoice %}№ {{ invoice.number }} от {{ invoice.date|date_short }}"
            "{% else %}—{% endif %}",
            "Код проекта",
            "{{ project.code }}",
        ),
        ("Организатор", "{{ seller.name }}", "", ""),
    )
    for values in pairs:
        r = row(t, values)
        _shade(r.cells[0])
        _shade(r.cells[2])

    heading(doc, "Ключевые даты", align=LEFT)
    t = table(doc, (44, 44, 44, 43))
    row(
        t,
        ("Монтаж", "Открытие", "Закрытие", "Демонтаж"),
        bold=True,
        aligns=[CENTER] * 4,
        shade=True,
    )
    row(
        t,
        (
            "{{ project.build_up_date|date_long }}",
            "{{ project.opening_date|date_long }}",
            "{{ project.closing_date|date_long }}",
            "{{ project.dismantling_date|date_long }}",
        ),
        bold=True,
        size=10,
        aligns=[CENTER] * 4,
    )

    para(
        doc,
        "Сумма к оплате: {{ totals.amount|amount }} руб. — "
        f'{{% if totals.vat_label == "{NO_VAT}" %}}{NO_VAT}{{% else %}}'
        "{{ totals.vat_text }}{% endif %}",
        bold=True,
        before=8,
        after=1,
    )
    para(doc, "{%p if payment %}", after=0)
    para(doc, "Оплатить не позднее: {{ payment.due_date|date_long }}", bold=True, after=0)
    para(doc, "{%p endif %}", after=0)

    heading(doc, "Что нужно сделать", align=LEFT)
    t = table(doc, (9, 8, 90, 44, 24))
    row(
        t,
        ("", "№", "Шаг", "Срок", "Отметка"),
        bold=True,
        aligns=[CENTER] * 5,
        shade=True,
        header=True,
    )
    steps = (
        (
            "Подписать договор и заявку, вернуть подписанные экземпляры организатору",
            "в течение 5 рабочих дней",
        ),
        (
            "Оплатить счёт{% if invoice %} № {{ invoice.number }}{% endif %}",
            "{% if payment %}до {{ payment.due_date|date_short }}{% else %}по договору{% endif %}",
        ),
        (
            "Отправить сведения для каталога: название, логотип, описание (см. Маркетинговое "
            "руководство)",
            "не позднее 45 дней до открытия",
        ),
        (
            "Согласовать проект застройки стенда (для нестандартной застройки)",
            "не позднее 30 дней до монтажа",
        ),
        (
            "Заказать дополнительное оборудование и услуги: мебель, электроподключение, интернет",
            "не позднее 21 дня до монтажа",
        ),
        (
            "Заказать бейджи экспонентов и пропуска для монтажников",
            "не позднее 14 дней до открытия",
        ),
        (
            "Изучить Техническое руководство участника и правила пожарной безопасности",
            "до начала монтажа",
        ),
        (
            "Оформить въезд транспорта и доставку экспонатов",
            "до {{ project.build_up_date|date_short }}",
        ),
        ("Монтаж и оформление стенда", "{{ project.build_up_date|date_short }}"),
        (
            "Демонтаж стенда, вывоз экспонатов, сдача площади",
            "{{ project.dismantling_date|date_short }}",
        ),
        (
            "Подписать акт об оказании услуг и вернуть организатору",
            "5 рабочих дней после получения",
        ),
    )
    for no, (step, due) in enumerate(steps, start=1):
        row(t, ("☐", str(no), step, due, ""), aligns=(CENTER, CENTER, LEFT, LEFT, LEFT))

    para(
        doc,
        "Ваш менеджер: {{ deal.manager_name }}{% if deal.manager_email %}, e-mail: "
        "{{ deal.manager_email }}{% endif %}{% if seller.phone %}, тел.: {{ seller.phone }}"
        "{% endif %}",
        bold=True,
        before=10,
        after=1,
    )
    para(
        doc,
        "{{ seller.name }}, ИНН {{ seller.inn }}, {{ seller.address }}"
        "{% if seller.email %}, {{ seller.email }}{% endif %}",
        size=8,
    )
    return doc


BUILDERS = {
    "application.docx": build_application,
    "contract.docx": build_contract,
    "checklist.docx": build_checklist,
}


def _reproducible(data: bytes) -> bytes:
    """Re-pack the DOCX with fixed timestamps and entry order, so rebuilds are byte-identical."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_all() -> dict[str, bytes]:
    result = {}
    for name, builder in BUILDERS.items():
        buffer = io.BytesIO()
        builder().save(buffer)
        result[name] = _reproducible(buffer.getvalue())
    return result


def main(argv: list[str]) -> int:
    check = "--check" in argv
    OUT.mkdir(exist_ok=True)
    stale = []
    for name, data in build_all().items():
        path = OUT / name
        if not path.exists() or path.read_bytes() != data:
            stale.append(name)
            if not check:
                path.write_bytes(data)
    if check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    print("up to date" if check else "written: " + (", ".join(stale) or "nothing changed"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
