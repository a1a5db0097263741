"""What the /deals pages share: the `deals` blueprint, its labels and small helpers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from documents.money import rate_label
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.core.forms import choices
from erp_crm.db import db
from erp_crm.deals.models import LINE_KIND_LABELS, OUTCOME_LABELS
from erp_crm.projects.models import STAND_STATUS_LABELS, STAND_TYPE_LABELS

bp = Blueprint("deals", __name__, url_prefix="/deals")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "vat_label": rate_label,
        "line_kinds": LINE_KIND_LABELS,
        "outcomes": OUTCOME_LABELS,
        "stand_types": STAND_TYPE_LABELS,
        "stand_statuses": STAND_STATUS_LABELS,
    }


def sellers() -> list[User]:
    users = db.session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.full_name)
    )
    return [u for u in users if has_permission(u, Perm.DEALS_WORK)]


def contact_choices(client: Client | None, empty: str = "— не указано —") -> list:
    if client is None:
        return choices([("", "— сначала выберите контрагента —")])
    return choices(
        [
            ("", empty),
            *(
                (c.id, c.full_name + (f", {c.position}" if c.position else ""))
                for c in client.contacts
                if c.is_active
            ),
        ]
    )


def int_arg(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
