"""The calendar of contacts (day / week / month, drag to move) and the private iCal feed."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
