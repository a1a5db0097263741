"""Printing a postal campaign, one module per job:

- labels.py: a sheet format's geometry and its check against the page, fitting an address to
  its label (wrap, shrink to MIN_FONT, list what still does not fit), the labels PDF rendered in
  chunks on the render pool and merged, the calibration sheet;
- formats.py: the label formats (built-in and the admin's own, with the printer offsets);
- envelopes.py: DL / C6 / C5 / C4 with the sender block and the postcode stencil;
- campaign.py: a campaign's labels or envelopes, its list frozen at the first print.

Callers use the package: `from erp_crm.mailing import printing; printing.labels_pdf(...)`.
"""

from erp_crm.mailing.printing.campaign import (
    campaign_addresses,
    campaign_envelopes,
    campaign_labels,
    frozen_count,
)
from erp_crm.mailing.printing.envelopes import ENVELOPES, _sender, envelopes_pdf, stencil_svg
from erp_crm.mailing.printing.formats import FORMAT_FIELDS, active_formats, get_format, save_format
from erp_crm.mailing.printing.labels import (
    MAX_FONT,
    MIN_FONT,
    PAGES_PER_CHUNK,
    Geometry,
    LabelReport,
    calibration_pdf,
    check_format,
    fit,
    labels_pdf,
)

__all__ = [
    "ENVELOPES",
    "FORMAT_FIELDS",
    "MAX_FONT",
    "MIN_FONT",
    "PAGES_PER_CHUNK",
    "Geometry",
    "LabelReport",
    "_sender",
    "active_formats",
    "calibration_pdf",
    "campaign_addresses",
    "campaign_envelopes",
    "campaign_labels",
    "check_format",
    "envelopes_pdf",
    "fit",
    "frozen_count",
    "get_format",
    "labels_pdf",
    "save_format",
    "stencil_svg",
]
