"""The manager's pages of contacts: «Мой день», planning, completing with a result, requests
forwarded to colleagues, the catalogs."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/activities")
