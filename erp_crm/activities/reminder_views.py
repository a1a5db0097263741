"""Reminders in the app: the badge in the navigation bar and the list of due reminders."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reminders", __name__, url_prefix="/reminders")
