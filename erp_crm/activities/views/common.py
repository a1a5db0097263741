"""The contacts' blueprint and what its page modules share."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from erp_crm.auth.models import User
from erp_crm.db import db

bp = Blueprint("activities", __name__, url_prefix="/activities")


def int_arg(value) -> int | None:
    return int(value) if value not in (None, "") and str(value).isdigit() else None


def colleagues() -> list[User]:
    """Active users: whom a request can be forwarded to."""
    return list(
        db.session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.full_name))
    )
