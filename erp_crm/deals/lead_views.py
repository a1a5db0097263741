"""Leads: the public intake form, the leads queue, qualification."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")
