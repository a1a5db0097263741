"""The label sheet formats: the built-in ones and the admin's own, each checked against its page."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.errors import NotFound, ValidationError
from erp_crm.mailing.models import LabelFormat
from erp_crm.mailing.printing.labels import check_format


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
