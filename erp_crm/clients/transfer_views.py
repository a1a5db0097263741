"""Import of client files and export of client lists (pages)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("client_transfer", __name__, url_prefix="/clients")
