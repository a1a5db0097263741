"""What the client pages share: the blueprint of /clients and the curator choices."""

from __future__ import annotations

from flask import Blueprint

from erp_crm.clients import services
from erp_crm.core.forms import choices
from erp_crm.db import db

bp = Blueprint("clients", __name__, url_prefix="/clients")


def curator_choices(empty: str) -> list:
    return choices([("", empty), *((u.id, u.full_name) for u in services.curators(db.session))])
