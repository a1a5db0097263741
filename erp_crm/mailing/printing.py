"""Address labels and envelopes of a campaign as one PDF (WeasyPrint through the documents
engine: sandboxed template, restricted URL fetcher).

Labels: a sheet format (rows × columns, label size, margins, gaps, printer offsets) is checked
against the page first; an address too long for its label is wrapped and its font shrunk down
to MIN_FONT; what still does not fit is printed clipped AND listed on a last page — never cut
silently. Large campaigns are rendered in chunks of pages and merged, so memory stays bounded.
"""

from __future__ import annotations

import re
import textwrap
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import pool
from documents.package import merge_pdfs
from documents.pool import RenderTask
from documents.render_html import render_pdf
from documents.sandbox import render_string
from erp_crm.auth.models import User
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.mailing import selections
from erp_crm.mailing.models import Campaign, CampaignRecipient, LabelFormat
from erp_crm.organizations.models import Organization

PT_MM = 0.3528  # one typographic point in mm
CHAR_EM = 0.6  # average width of a DejaVu Sans character, in em (Cyrillic capitals included)
LINE_EM = 1.18
MAX_FONT = 11.0
MIN_FONT = 6.0
PAGES_PER_CHUNK = 40


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    page_w: float
    page_h: float
    label_w: float
    label_h: float
    top: float
    left: float
    gap_x: float
    gap_y: float
    offset_x: float
    offset_y: float
    padding: float

    @classmethod
    def of(cls, fmt: LabelFormat) -> Geometry:
        f = float
        return cls(
            fmt.rows_count, fmt.columns_count, f(fmt.page_width), f(fmt.page_height),
            f(fmt.label_width), f(fmt.label_height), f(fmt.margin_top), f(fmt.margin_left),
            f(fmt.gap_x), f(fmt.gap_y), f(fmt.offset_x), f(fmt.offset_y), f(fmt.padding),
        )  # fmt: skip

    def position(self, index: int) -> tuple[float, float]:
        """(x, y) in mm of the label's top-left corner, index within the page, row by row."""
        row, column = divmod(index, self.columns)
        x = self.left + self.offset_x + column * (self.label_w + self.gap_x)
        y = self.top + self.offset_y + row * (self.label_h + self.gap_y)
        return x, y

    @property
    def per_page(self) -> int:
        return self.rows * self.columns


def _mm(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def check_format(fmt: LabelFormat | Geometry) -> None:
    """Refuse a format whose labels (with margins, gaps and offsets) leave the page."""
    g = fmt if isinstance(fmt, Geometry) else Geometry.of(fmt)
    problems = []
    if min(g.label_w, g.label_h, g.page_w, g.page_h) <= 0 or g.rows < 1 or g.columns < 1:
        raise ValidationError("Размеры листа и наклейки, число строк и столбцов — больше нуля.")
    if min(g.gap_x, g.gap_y, g.padding) < 0:
        raise ValidationError("Промежутки и поля наклейки не могут быть отрицательными.")
    width = g.left + g.offset_x + g.columns * g.label_w + (g.columns - 1) * g.gap_x
    height = g.top + g.offset_y + g.rows * g.label_h + (g.rows - 1) * g.gap_y
    if g.left + g.offset_x < -0.01:
        problems.append(f"левый край наклеек за краем листа ({_mm(g.left + g.offset_x)} мм)")
    if g.top + g.offset_y < -0.01:
        problems.append(f"верхний край наклеек за краем листа ({_mm(g.top + g.offset_y)} мм)")
    if width > g.page_w + 0.01:
        problems.append(f"по ширине нужно {_mm(width)} мм из {_mm(g.page_w)}")
    if height > g.page_h + 0.01:
        problems.append(f"по высоте нужно {_mm(height)} мм из {_mm(g.page_h)}")
    if 2 * g.padding >= min(g.label_w, g.label_h):
        problems.append("внутренние поля наклейки больше самой наклейки")
    if problems:
        raise ValidationError(
            f"Формат не помещается на лист {_mm(g.page_w)} × {_mm(g.page_h)} мм: "
            + "; ".join(problems)
            + "."
        )


@dataclass
class Fitted:
    lines: list[tuple[str, bool]]  # (text, bold)
    font: float
    fits: bool


def fit(who: list[str], where: list[str], postcode: str, width: float, height: float) -> Fitted:
    """Wrap the address to the label's inner width, shrinking the font until every line fits
    in the height; at MIN_FONT the address is marked as not fitting."""
    source = [(line, True) for line in who] + [(line, False) for line in where]
    if postcode:
        source.append((postcode, True))
    size = MAX_FONT
    while True:
        chars = max(int(width / (size * PT_MM * CHAR_EM)), 4)
        lines = [
            (part, bold)
            for line, bold in source
            for part in (textwrap.wrap(line, chars, break_long_words=True) or [""])
        ]
        if len(lines) * size * PT_MM * LINE_EM <= height or size <= MIN_FONT:
            fits = len(lines) * size * PT_MM * LINE_EM <= height
            return Fitted(lines, size, fits)
        size -= 0.5


@dataclass
class Label:
    number: int
    x: float
    y: float
    fitted: Fitted


@dataclass
class LabelReport:
    pdf: bytes
    labels: int
    pages: int
    not_fitting: list[tuple[int, str]] = field(default_factory=list)
    shrunk: int = 0


LABELS_TEMPLATE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><style>
@page { size: {{ g.page_w }}mm {{ g.page_h }}mm; margin: 0 }
body { margin: 0; font-family: "DejaVu Sans", sans-serif; }
.page { position: relative; width: {{ g.page_w }}mm; height: {{ g.page_h }}mm;
        page-break-after: always; overflow: hidden }
.page:last-child { page-break-after: auto }
.sheet { position: relative; left: {{ g.left + g.offset_x }}mm; top: {{ g.top + g.offset_y }}mm;
         width: {{ (g.label_w + g.gap_x) * g.columns + 10 }}mm }
.label { float: left; width: {{ g.label_w }}mm; height: {{ g.label_h }}mm;
         margin: 0 {{ g.gap_x }}mm {{ g.gap_y }}mm 0;
         box-sizing: border-box; padding: {{ g.padding }}mm; overflow: hidden;
         line-height: 1.18; font-size: {{ max_font }}pt; white-space: pre }
.label.row { clear: left }
.calibration .label { border: 0.2mm solid #000 }
.calibration .label { font-size: 7pt }
.cross { position: absolute; border-color: #000; border-style: solid; border-width: 0 }
.report { padding: 15mm; font-size: 10pt }
.report table { border-collapse: collapse; width: 100% }
.report td, .report th { border: 0.2mm solid #888; padding: 1mm 2mm; text-align: left }
</style></head><body>
{% for page in pages %}<div class="page{% if calibration %} calibration{% endif %}">
<div class="sheet">
{% for label in page %}<div class="label{% if loop.index0 % g.columns == 0 %} row{% endif %}"
{%- if label.font != max_font %} style="font-size:{{ label.font }}pt"{% endif %}>
{{- label.text }}</div>
{% endfor %}</div>{% if calibration %}<div class="cross" style="left: 10mm; top: 0; height: 10mm;
  border-left-width: 0.2mm"></div><div class="cross" style="left: 0; top: 10mm; width: 10mm;
  border-top-width: 0.2mm"></div>{% endif %}
</div>{% endfor %}
{% if report %}<div class="report"><h3>Не поместились на наклейку ({{ report|length }})</h3>
<p>Эти адреса напечатаны самым мелким шрифтом ({{ min_font }} pt) и всё равно обрезаны:
проверьте их или выберите формат с наклейками крупнее.</p>
<table><tr><th>№ наклейки</th><th>Адрес</th></tr>
{% for number, text in report %}<tr><td>{{ number }}</td><td>{{ text }}</td></tr>{% endfor %}
</table></div>{% endif %}
</body></html>"""


def _context(
    g: Geometry,
    pages: list[list[Label]],
    *,
    calibration: bool = False,
    report: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """Plain data only: the context crosses into the render pool's processes. The labels are
    floats in rows (a row starts with `clear`), the sheet shifted by margins and printer offsets:
    measured 15 % faster than one absolutely positioned box per label; the tests check every
    label's place against `Geometry.position`."""
    return {
        "g": asdict(g),
        "pages": [
            [
                {
                    "x": lb.x,
                    "y": lb.y,
                    "font": lb.fitted.font,
                    "text": "\n".join(t for t, _ in lb.fitted.lines),
                }
                for lb in page
            ]
            for page in pages
        ],
        "calibration": calibration,
        "report": report or [],
        "min_font": MIN_FONT,
        "max_font": MAX_FONT,
    }


def _render_labels(
    g: Geometry, pages: list[list[Label]], *, calibration: bool = False, report=None
) -> bytes:
    context = _context(g, pages, calibration=calibration, report=report)
    return render_pdf(render_string(LABELS_TEMPLATE, context))


def label_pages(
    g: Geometry, addresses: Iterable[tuple[list[str], list[str], str]]
) -> Iterator[list[Label]]:
    inner_w = g.label_w - 2 * g.padding
    inner_h = g.label_h - 2 * g.padding
    page: list[Label] = []
    for number, (who, where, postcode) in enumerate(addresses, start=1):
        x, y = g.position(len(page))
        page.append(
            Label(number, round(x, 2), round(y, 2), fit(who, where, postcode, inner_w, inner_h))
        )
        if len(page) == g.per_page:
            yield page
            page = []
    if page:
        yield page


def labels_pdf(
    fmt: LabelFormat,
    addresses: Iterable[tuple[list[str], list[str], str]],
    *,
    progress: Callable[[int], None] | None = None,
) -> LabelReport:
    """Render the labels, PAGES_PER_CHUNK pages per WeasyPrint call, merged into one file."""
    g = Geometry.of(fmt)
    check_format(g)
    chunks: list[bytes] = []
    in_flight: deque = deque()  # futures of the chunks being rendered, in order
    limit = max(pool.workers(), 1) + 1  # a chunk ready for each worker: bounded memory
    report: list[tuple[int, str]] = []
    shrunk = count = pages_total = 0
    batch: list[list[Label]] = []

    def submit(final: bool = False) -> None:
        nonlocal batch
        context = _context(g, batch, report=report if final else None)
        in_flight.append(pool.submit(RenderTask("html", LABELS_TEMPLATE, context)))
        batch = []
        while len(in_flight) > (0 if final else limit):
            chunks.append(in_flight.popleft().result())
            if progress:
                progress(count)

    for page in label_pages(g, addresses):
        for label in page:
            count += 1
            if label.fitted.font < MAX_FONT:
                shrunk += 1
            if not label.fitted.fits:
                report.append((label.number, " ".join(t for t, _ in label.fitted.lines)))
        batch.append(page)
        pages_total += 1
        if len(batch) == PAGES_PER_CHUNK:
            submit()
    if batch or report or not (chunks or in_flight):
        submit(final=True)
    while in_flight:
        chunks.append(in_flight.popleft().result())
    pdf = chunks[0] if len(chunks) == 1 else merge_pdfs(chunks)
    return LabelReport(pdf, count, pages_total, report, shrunk)


def calibration_pdf(fmt: LabelFormat) -> bytes:
    """One sheet: every label's outline with its row and column, and the offsets in use —
    printed on plain paper and laid over a label sheet to set the printer offsets."""
    g = Geometry.of(fmt)
    check_format(g)
    page = []
    for i in range(g.per_page):
        x, y = g.position(i)
        row, column = divmod(i, g.columns)
        lines = [(f"{row + 1}:{column + 1}", True)]
        if i == 0:
            lines.append((f"смещение {_mm(g.offset_x)} / {_mm(g.offset_y)} мм", False))
        page.append(Label(i + 1, round(x, 2), round(y, 2), Fitted(lines, 7, True)))
    return _render_labels(g, [page], calibration=True)


def active_formats(session: Session) -> list[LabelFormat]:
    return list(
        session.scalars(
            select(LabelFormat)
            .where(LabelFormat.is_active.is_(True))
            .order_by(LabelFormat.is_builtin.desc(), LabelFormat.id)
        )
    )


def get_format(session: Session, format_id: int) -> LabelFormat:
    row = session.get(LabelFormat, format_id)
    if row is None:
        raise NotFound("Формат наклеек не найден.")
    return row


FORMAT_FIELDS = (
    "rows_count", "columns_count", "page_width", "page_height", "label_width", "label_height",
    "margin_top", "margin_left", "gap_x", "gap_y", "offset_x", "offset_y", "padding",
)  # fmt: skip


def save_format(
    session: Session, values: dict[str, Any], *, actor: User, fmt: LabelFormat | None = None
) -> LabelFormat:
    """An admin-defined format (or a format's printer offsets); refused when it leaves the page."""
    from erp_crm.auth.permissions import Perm, has_permission
    from erp_crm.errors import PermissionDenied

    if not has_permission(actor, Perm.MAILING_SETTINGS):
        raise PermissionDenied("Форматы наклеек настраивает администратор.")
    row = fmt or LabelFormat(is_builtin=False, is_active=True)
    name = (values.get("name") or (fmt.name if fmt else "") or "").strip()
    if not name or len(name) > 200:
        raise ValidationError("Назовите формат (до 200 символов).", fields={"name": "обязательно"})
    parsed: dict[str, Any] = {}
    for key in FORMAT_FIELDS:
        raw = values.get(key, getattr(fmt, key) if fmt else None)
        try:
            number = Decimal(str(raw).replace(",", ".")) if raw not in (None, "") else None
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite() or abs(number) > 1000:
            raise ValidationError(f"Проверьте число: {key}.", fields={key: "не число"})
        parsed[key] = int(number) if key in ("rows_count", "columns_count") else number
    if fmt is not None and fmt.is_builtin:
        # A built-in sheet keeps its geometry: only the printer offsets change.
        parsed = {k: v for k, v in parsed.items() if k in ("offset_x", "offset_y")}
    candidate = {k: getattr(row, k) for k in FORMAT_FIELDS} if fmt else {}
    candidate.update(parsed)
    probe = LabelFormat(**candidate, name=name)
    if probe.page_width is None:
        probe.page_width, probe.page_height = Decimal("210"), Decimal("297")
    check_format(probe)
    for key, value in candidate.items():
        setattr(row, key, value)
    if not (fmt and fmt.is_builtin):
        row.name = name
    if fmt is None:
        row.code = f"custom-{uuid.uuid4().hex[:12]}"
        session.add(row)
    session.flush()
    return row


def campaign_addresses(
    session: Session, campaign: Campaign
) -> Iterator[tuple[list[str], list[str], str]]:
    for row in selections.included(session, campaign):
        who, where = selections.recipient_lines(row)
        yield who, where, row.postcode or ""


def campaign_labels(
    session: Session, campaign: Campaign, fmt: LabelFormat, *, actor: User
) -> LabelReport:
    if campaign.channel != "post":
        raise ValidationError("Наклейки печатаются для почтовой рассылки.")
    check_format(fmt)
    selections.freeze(session, campaign, actor=actor)
    return labels_pdf(fmt, campaign_addresses(session, campaign))


# --- envelopes ----------------------------------------------------------------------------------

# (width, height) in mm, landscape as the envelope is addressed; whether it carries the postcode
# stencil at the bottom left (the small and the middle formats sorted by machines).
ENVELOPES = {
    "DL": ("DL (E65), 110 × 220 мм", 220, 110, True),
    "C6": ("C6, 114 × 162 мм", 162, 114, True),
    "C5": ("C5, 162 × 229 мм", 229, 162, True),
    "C4": ("C4, 229 × 324 мм", 324, 229, False),
}

# The postal index digits: segments between the points of two stacked squares, numbered
# 0 top-left, 1 top-right, 2 middle-left, 3 middle-right, 4 bottom-left, 5 bottom-right.
_POINTS = {0: (0, 0), 1: (1, 0), 2: (0, 1), 3: (1, 1), 4: (0, 2), 5: (1, 2)}
STENCIL = {
    "0": [(0, 1), (1, 5), (5, 4), (4, 0)],
    "1": [(2, 1), (1, 5)],
    "2": [(0, 1), (1, 3), (3, 4), (4, 5)],
    "3": [(0, 1), (1, 2), (2, 3), (3, 4)],
    "4": [(0, 2), (2, 3), (1, 3), (3, 5)],
    "5": [(1, 0), (0, 2), (2, 3), (3, 5), (5, 4)],
    "6": [(1, 2), (2, 4), (4, 5), (5, 3), (3, 2)],
    "7": [(0, 1), (1, 2), (2, 4)],
    "8": [(0, 1), (1, 5), (5, 4), (4, 0), (2, 3)],
    "9": [(0, 1), (1, 3), (3, 2), (2, 0), (3, 4)],
}
STENCIL_GRID = [(0, 1), (1, 5), (5, 4), (4, 0), (2, 3), (1, 2), (3, 4)]


def stencil_svg(postcode: str, *, digit_w: float = 6, digit_h: float = 12, gap: float = 3) -> str:
    """The postcode in the stencil digits, over the faint template of the six places (SVG in mm)."""
    width = 6 * digit_w + 5 * gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 1}mm" height="{digit_h + 1}mm" '
        f'viewBox="-0.5 -0.5 {width + 1} {digit_h + 1}">'
    ]

    def segment(i: int, a: int, b: int, style: str) -> str:
        x0 = i * (digit_w + gap)
        (ax, ay), (bx, by) = _POINTS[a], _POINTS[b]
        sx, sy = digit_w, digit_h / 2
        return (
            f'<line x1="{x0 + ax * sx:.2f}" y1="{ay * sy:.2f}" x2="{x0 + bx * sx:.2f}" '
            f'y2="{by * sy:.2f}" {style}/>'
        )

    for i in range(6):
        for a, b in STENCIL_GRID:
            parts.append(
                segment(i, a, b, 'stroke="#bbb" stroke-width="0.2" stroke-dasharray="0.6 0.6"')
            )
    for i, digit in enumerate(postcode[:6]):
        for a, b in STENCIL.get(digit, []):
            parts.append(segment(i, a, b, 'stroke="#000" stroke-width="1" stroke-linecap="round"'))
    parts.append("</svg>")
    return "".join(parts)


ENVELOPE_TEMPLATE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><style>
@page { size: {{ w }}mm {{ h }}mm; margin: 0 }
body { margin: 0; font-family: "DejaVu Sans", sans-serif; font-size: {{ font }}pt }
.env { position: relative; width: {{ w }}mm; height: {{ h }}mm; page-break-after: always;
       overflow: hidden }
.env:last-child { page-break-after: auto }
.zone { position: absolute; line-height: 1.25 }
.zone .cap { font-size: {{ font * 0.75 }}pt; color: #333 }
.zone p { margin: 0; border-bottom: 0.2mm solid #888; min-height: {{ font * 0.45 }}mm }
.sender { left: 8mm; top: 8mm; width: {{ sender_w }}mm }
.recipient { left: {{ rx }}mm; top: {{ ry }}mm; width: {{ rw }}mm }
.index { font-weight: bold; letter-spacing: 0.5mm }
.stencil { position: absolute; left: 8mm; top: {{ h - 20 }}mm }
</style></head><body>
{% for e in envelopes %}<div class="env">
<div class="zone sender"><div class="cap">От кого</div><p>{{ sender.name }}</p>
<div class="cap">Откуда</div>{% for line in sender.lines %}<p>{{ line }}</p>{% endfor %}
{% if sender.postcode %}<p class="index">{{ sender.postcode }}</p>{% endif %}</div>
<div class="zone recipient"><div class="cap">Кому</div>
{% for line in e.who %}<p>{{ line }}</p>{% endfor %}
<div class="cap">Куда</div>{% for line in e.where %}<p>{{ line }}</p>{% endfor %}
<div class="cap">Индекс</div><p class="index">{{ e.postcode }}</p></div>
{% if stencil %}<div class="stencil">{{ e.stencil }}</div>{% endif %}
</div>{% endfor %}
</body></html>"""


_STREET = re.compile(
    r"(ул|пр|пр-т|просп|пер|наб|ш|б-р|бул|пл|проезд|туп|мкр|кв-л|линия)\b|"
    r"(улица|проспект|переулок|набережная|шоссе|бульвар|площадь)\b",
    re.IGNORECASE,
)


def _sender(org: Organization | None) -> dict[str, Any]:
    if org is None:
        return {"name": "", "lines": [], "postcode": ""}
    address = org.postal_address or org.legal_address or ""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    postcode = parts[0] if parts and parts[0].isdigit() and len(parts[0]) == 6 else ""
    if postcode:
        parts = parts[1:]
    # «Откуда»: the street and the house first (in their order), then the town and the region
    # (the smaller first), as the envelope's form asks; a one-line address lists the region and
    # the town before the street («обл., г. Самара, ул. Мичурина, д. 23А»).
    street_at = next((i for i, p in enumerate(parts) if _STREET.match(p)), len(parts))
    ordered = parts[street_at:] + list(reversed(parts[:street_at]))
    lines = textwrap.wrap(", ".join(ordered), 40) if ordered else []
    return {"name": org.short_name, "lines": lines, "postcode": postcode}


def envelopes_pdf(
    size: str,
    sender: Organization | None,
    addresses: Iterable[tuple[list[str], list[str], str]],
    *,
    chunk: int = 200,
) -> tuple[bytes, int]:
    if size not in ENVELOPES:
        raise ValidationError("Выберите формат конверта: DL, C6, C5 или C4.")
    _label, w, h, stencil = ENVELOPES[size]
    font = 10 if w >= 220 else 9
    layout = {
        "w": w,
        "h": h,
        "font": font,
        "sender_w": round(w * 0.42, 1),
        "rx": round(w * 0.47, 1),
        "ry": round(h * 0.45, 1),
        "rw": round(w * 0.5, 1),
        "stencil": stencil,
        "sender": _sender(sender),
    }
    chunks, batch, count = [], [], 0
    chars = int(layout["rw"] / (font * PT_MM * CHAR_EM))

    def wrap(lines: list[str]) -> list[str]:
        return [part for line in lines for part in (textwrap.wrap(line, chars) or [""])]

    for who, where, postcode in addresses:
        count += 1
        batch.append(
            {
                "who": wrap(who),
                "where": wrap(where),
                "postcode": postcode,
                "stencil": _markup(stencil_svg(postcode)) if stencil else "",
            }
        )
        if len(batch) == chunk:
            chunks.append(
                render_pdf(render_string(ENVELOPE_TEMPLATE, {**layout, "envelopes": batch}))
            )
            batch = []
    if batch or not chunks:
        chunks.append(render_pdf(render_string(ENVELOPE_TEMPLATE, {**layout, "envelopes": batch})))
    return (chunks[0] if len(chunks) == 1 else merge_pdfs(chunks)), count


def _markup(svg: str) -> Any:
    from markupsafe import Markup

    return Markup(svg)  # noqa: S704 - built here from digits and numbers only


def campaign_envelopes(
    session: Session, campaign: Campaign, size: str, *, actor: User
) -> tuple[bytes, int]:
    if campaign.channel != "post":
        raise ValidationError("Конверты печатаются для почтовой рассылки.")
    if size not in ENVELOPES:
        raise ValidationError("Выберите формат конверта: DL, C6, C5 или C4.")
    from erp_crm.organizations.services import default_organization

    org = session.get(Organization, campaign.organization_id) if campaign.organization_id else None
    if org is None:
        try:
            org = default_organization(session)
        except Conflict:  # no organization yet: an envelope without a sender
            org = None
    selections.freeze(session, campaign, actor=actor)
    return envelopes_pdf(size, org, campaign_addresses(session, campaign))


def frozen_count(session: Session, campaign: Campaign) -> int:
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.excluded.is_(None)
            )
        )
        or 0
    )
