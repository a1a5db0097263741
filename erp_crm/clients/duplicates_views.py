"""The duplicates page and merging two clients (pages)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("client_duplicates", __name__, url_prefix="/clients")
