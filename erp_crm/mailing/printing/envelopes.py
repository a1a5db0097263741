"""Envelopes DL / C6 / C5 / C4 as one PDF: the sender block, the addressee, the postcode stencil
on the formats sorted by machines."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any

from documents.package import merge_pdfs
from documents.render_html import render_pdf
from documents.sandbox import render_string
from erp_crm.errors import ValidationError
from erp_crm.mailing.printing.labels import CHAR_EM, PT_MM
from erp_crm.organizations.models import Organization

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
